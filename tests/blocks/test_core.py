"""Block: save, load, delete on the embedded store; the registry; secrets masked in repr, str,
logs and tracebacks; the same calls through a real server."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import pytest
from pydantic import SecretStr

from mainspring.blocks import Block, SecretDict
from mainspring.blocks.core import block_class, registered_block_types
from mainspring.blocks.system import JSON, LocalFileSystem, RemoteFileSystem, Secret, String
from mainspring.exceptions import ObjectAlreadyExists, ObjectNotFound
from mainspring.model.blocks import SECRET_MASK
from mainspring.settings import get_settings
from mainspring.store import get_store


class ApiCredentials(Block):
    """Credentials of the partner API.

    The second paragraph is not part of the description."""

    user: str
    token: SecretStr
    headers: SecretDict = SecretDict({})


class PartnerApi(Block):
    _block_type_slug = "partner-api-client"

    url: str
    credentials: ApiCredentials


def test_save_load_delete_round_trip() -> None:
    creds = ApiCredentials(user="me", token="tok-SECRET-1", headers={"X-Key": "hdr-SECRET-2"})
    block_id = creds.save("prod")
    loaded = ApiCredentials.load("prod")
    assert loaded.token.get_secret_value() == "tok-SECRET-1"
    assert loaded.headers.get_secret_value() == {"X-Key": "hdr-SECRET-2"}
    assert loaded.block_document_name == "prod" and loaded._block_document_id == block_id
    assert Block.load("api-credentials/prod") == loaded  # on Block: 'slug/name'
    with pytest.raises(ObjectAlreadyExists, match="api-credentials/prod"):
        creds.save("prod")
    creds.user = "you"
    assert creds.save("prod", overwrite=True) == block_id
    assert ApiCredentials.load("prod").user == "you"
    loaded.delete()
    with pytest.raises(ObjectNotFound, match="api-credentials/prod"):
        ApiCredentials.load("prod")
    creds.save("other")
    ApiCredentials.delete("other")  # Prefect's form: on the class, by name
    assert get_store().read_block_documents() == []


def test_block_types_are_registered_with_their_schema_and_secrets() -> None:
    assert block_class("api-credentials") is ApiCredentials
    assert PartnerApi.get_block_type_slug() == "partner-api-client"
    assert ApiCredentials.get_description() == "Credentials of the partner API."
    assert ApiCredentials.secret_fields() == ("token", "headers")
    assert PartnerApi.secret_fields() == ("credentials.token", "credentials.headers")
    builtins = registered_block_types()
    for slug in ("secret", "string", "json", "local-file-system", "remote-file-system"):
        assert slug in builtins
    PartnerApi(url="https://p", credentials=ApiCredentials(user="u", token="t-SECRET")).save("p")
    stored = get_store().read_block_type("partner-api-client")
    assert stored.secret_fields == ("credentials.token", "credentials.headers")
    assert stored.fields_schema["properties"]["url"]["type"] == "string"
    masked = get_store().read_block_document("partner-api-client", "p").data
    assert masked["credentials"]["token"] == SECRET_MASK
    assert PartnerApi.load("p").credentials.token.get_secret_value() == "t-SECRET"


def test_loading_a_block_as_the_wrong_type_says_so() -> None:
    String(value="x").save("s")
    with pytest.raises(TypeError, match="String, not a Secret"):
        Secret.load("string/s")
    with pytest.raises(ValueError, match="type-slug/name"):
        Block.load("s")
    with pytest.raises(KeyError, match="nobody-defines-this"):
        Block.load("nobody-defines-this/s")


def test_secrets_never_show_in_repr_str_logs_or_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "s3cr3t-V4LUE"
    block = ApiCredentials(user="me", token=secret, headers={"Authorization": secret})
    block.save("shown")
    loaded = ApiCredentials.load("shown")
    with caplog.at_level(logging.INFO):
        logging.getLogger("user").info("using %s / %r", loaded, loaded)
    shown = [repr(loaded), str(loaded), caplog.text, repr(Secret(value=secret))]
    try:
        raise RuntimeError(f"failed with {loaded!r}")
    except RuntimeError:
        shown.append(traceback.format_exc())
    for text in shown:
        assert secret not in text
    assert "**" in repr(loaded)


def test_builtin_value_blocks() -> None:
    Secret(value="pw").save("db-password")
    assert Secret.load("db-password").get() == "pw"
    String(value="eu-west-1").save("region")
    assert String.load("region").value == "eu-west-1"
    JSON(value={"a": [1, None, "x"]}).save("config")
    assert JSON.load("config").value == {"a": [1, None, "x"]}
    assert get_store().read_block_document("secret", "db-password").data == {"value": SECRET_MASK}


def test_filesystem_blocks_read_and_write(tmp_path: Path) -> None:
    LocalFileSystem(basepath=str(tmp_path / "files")).save("local")
    local = LocalFileSystem.load("local")
    local.write_path("a/b.txt", b"hello")
    assert (tmp_path / "files" / "a" / "b.txt").read_bytes() == b"hello"
    assert local.read_path("a/b.txt") == b"hello"
    RemoteFileSystem(basepath="memory://bucket/prefix").save("mem")
    remote = RemoteFileSystem.load("mem")
    assert remote.write_path("x.bin", b"\x00\x01") == "memory://bucket/prefix/x.bin"
    assert remote.read_path("x.bin") == b"\x00\x01"
    with pytest.raises(ValueError, match="fsspec URL"):
        RemoteFileSystem(basepath="/not/a/url")


def test_the_key_file_is_beside_the_embedded_store() -> None:
    Secret(value="pw").save("x")
    assert (get_settings().home / "mainspring.key").exists()


def test_validation_errors_do_not_echo_secrets() -> None:
    from pydantic import ValidationError

    class Strict(Block):
        token: SecretStr
        port: int

    with pytest.raises(ValidationError) as refused:
        Strict(token="tok-S3CRET", port="tok-S3CRET-too")
    assert "port" in str(refused.value) and "S3CRET" not in str(refused.value)
    get_store().upsert_block_type(Strict.block_type())
    get_store().save_block_document("strict", "old", {"token": "tok-S3CRET", "port": 1})

    class Strict(Block):  # the class changed since it was saved
        token: SecretStr
        port: int
        region: str

    with pytest.raises(ValidationError) as stale:
        Strict.load("old")
    assert "region" in str(stale.value) and "S3CRET" not in str(stale.value)


def test_config_view_masks_the_encryption_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.fernet import Fernet

    from mainspring.settings import reset_settings

    key = Fernet.generate_key().decode()
    monkeypatch.setenv("MAINSPRING_ENCRYPTION_KEY", key)
    reset_settings()
    shown = get_settings().redacted()
    assert shown["encryption_key"] == "********" and key not in repr(shown)
    assert key not in repr(get_settings())


def test_async_save_and_load_and_prefects_import_paths() -> None:
    import asyncio

    from mainspring.blocks.fields import SecretDict as FieldsSecretDict
    from mainspring.filesystems import LocalFileSystem as FsLocal

    assert FieldsSecretDict is SecretDict and FsLocal is LocalFileSystem

    async def main() -> str:
        await String(value="async").asave("a")
        return (await String.aload("a")).value

    assert asyncio.run(main()) == "async"
