"""The built-in blocks: Secret, String, JSON, LocalFileSystem, RemoteFileSystem (as in Prefect).

The two filesystems can be given as `result_storage=` to a flow or task: the result storage
(store/results/storage.py) takes any object with `as_result_storage()`, so the engine never
imports this module for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, SecretStr, field_validator

from mainspring.blocks.core import Block, SecretDict

if TYPE_CHECKING:
    from mainspring.store.results.storage import ResultStorage

__all__ = ["JSON", "LocalFileSystem", "RemoteFileSystem", "Secret", "String"]


class Secret(Block):
    """A secret value (a password, a token), encrypted at rest and masked when shown."""

    value: SecretStr = Field(description="The secret.")

    def get(self) -> str:
        """The secret in the clear."""
        return self.value.get_secret_value()


class String(Block):
    """A string value."""

    value: str = Field(description="The text.")


class JSON(Block):
    """Any JSON value: an object, a list, text, a number, a boolean or null."""

    _block_type_slug = "json"

    value: Any = Field(description="The value.")


class LocalFileSystem(Block):
    """A folder on this machine; usable as `result_storage=`."""

    basepath: str = Field(description="The folder (created on first write).")

    @field_validator("basepath")
    @classmethod
    def _absolute(cls, value: str) -> str:
        return str(Path(value).expanduser().resolve()) if "://" not in value else value

    def _path(self, path: str) -> Path:
        return Path(self.basepath) / path

    def read_path(self, path: str) -> bytes:
        return self._path(path).read_bytes()

    def write_path(self, path: str, content: bytes) -> str:
        target = self._path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        return str(target)

    def as_result_storage(self) -> ResultStorage:
        from mainspring.store.results.storage import storage_for

        return storage_for(self.basepath)


class RemoteFileSystem(Block):
    """A folder on any fsspec filesystem (`s3://bucket/prefix`, `memory://x`, `gcs://...`),
    with the filesystem's options in `settings` (its credentials are secret); usable as
    `result_storage=`."""

    basepath: str = Field(description="An fsspec URL: protocol://location/prefix.")
    settings: SecretDict = Field(
        default_factory=lambda: SecretDict({}),
        description="Options of the fsspec filesystem (e.g. key, secret, endpoint_url).",
    )

    @field_validator("basepath")
    @classmethod
    def _url(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError(f"basepath must be an fsspec URL (protocol://...), got {value!r}")
        return value.rstrip("/")

    def _filesystem(self) -> tuple[Any, str]:
        import fsspec

        return fsspec.core.url_to_fs(self.basepath, **self._options())

    def _options(self) -> dict[str, Any]:
        return dict(self.settings.get_secret_value())

    def read_path(self, path: str) -> bytes:
        fs, root = self._filesystem()
        data: bytes = fs.cat_file(f"{root}/{path}")
        return data

    def write_path(self, path: str, content: bytes) -> str:
        fs, root = self._filesystem()
        fs.pipe_file(f"{root}/{path}", content)
        return f"{self.basepath}/{path}"

    def as_result_storage(self) -> ResultStorage:
        from mainspring.store.results.storage import storage_for

        return storage_for(self.basepath, options=self._options())
