"""`AwsCredentials` and `S3Bucket`, as `prefect_aws` has them
(`from mainspring.integrations.aws import AwsCredentials, S3Bucket`, extra `mainspring[aws]`).

    bucket = S3Bucket.load("mi-bucket")
    bucket.upload_from_path("report.csv", "reports/2026-12-06.csv")
    data = bucket.read_path("reports/2026-12-06.csv")

Credentials left empty fall back to the AWS SDK's own chain (environment, ~/.aws, instance
role). Objects go through s3fs (the `aws` extra), the same library result storage uses.
The secret key is a secret field: encrypted at rest, masked when shown. An `S3Bucket` is also
a result storage (`result_storage=S3Bucket.load("mi-bucket")`): results go to
`s3://<bucket>/<bucket_folder>` through s3fs with the same credentials and endpoint.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from pydantic import Field, SecretStr

from mainspring.blocks.core import Block

if TYPE_CHECKING:
    from mainspring.store.results.storage import ResultStorage

__all__ = ["AwsClientParameters", "AwsCredentials", "S3Bucket"]


class AwsClientParameters(Block):
    """Options of the boto3 clients made from the credentials (an endpoint for S3-compatible
    stores such as MinIO or moto, TLS verification)."""

    _block_type_abstract = True

    endpoint_url: str | None = None
    verify: bool = True
    use_ssl: bool = True
    api_version: str | None = None


class AwsCredentials(Block):
    """Credentials for AWS (or an S3-compatible endpoint)."""

    _block_type_slug = "aws-credentials"

    aws_access_key_id: str | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_session_token: SecretStr | None = None
    profile_name: str | None = None
    region_name: str | None = None
    aws_client_parameters: AwsClientParameters = Field(default_factory=AwsClientParameters)

    def get_boto3_session(self) -> Any:
        """A boto3 session with these credentials (boto3 is not in the `aws` extra: s3fs,
        which S3Bucket uses, pins its own botocore; install boto3 alongside for clients)."""
        try:
            import boto3
        except ImportError:
            raise ImportError(
                "AwsCredentials.get_boto3_session() needs boto3: pip install boto3"
            ) from None

        return boto3.Session(
            aws_access_key_id=self.aws_access_key_id,
            aws_secret_access_key=_clear(self.aws_secret_access_key),
            aws_session_token=_clear(self.aws_session_token),
            profile_name=self.profile_name,
            region_name=self.region_name,
        )

    def _client_options(self) -> dict[str, Any]:
        p = self.aws_client_parameters
        options: dict[str, Any] = {"use_ssl": p.use_ssl, "verify": p.verify}
        if p.endpoint_url:
            options["endpoint_url"] = p.endpoint_url
        if p.api_version:
            options["api_version"] = p.api_version
        return options

    def get_client(self, client_type: str) -> Any:
        """A boto3 client (`"s3"`, `"sqs"`, ...) with these credentials and parameters."""
        return self.get_boto3_session().client(client_type, **self._client_options())

    def get_s3_client(self) -> Any:
        return self.get_client("s3")

    def s3fs_options(self) -> dict[str, Any]:
        """These credentials as s3fs (fsspec) options."""
        options: dict[str, Any] = {}
        if self.aws_access_key_id:
            options["key"] = self.aws_access_key_id
        if self.aws_secret_access_key is not None:
            options["secret"] = self.aws_secret_access_key.get_secret_value()
        if self.aws_session_token is not None:
            options["token"] = self.aws_session_token.get_secret_value()
        if self.profile_name:
            options["profile"] = self.profile_name
        client: dict[str, Any] = {}
        if self.region_name:
            client["region_name"] = self.region_name
        if self.aws_client_parameters.endpoint_url:
            client["endpoint_url"] = self.aws_client_parameters.endpoint_url
        if client:
            options["client_kwargs"] = client
        return options


class S3Bucket(Block):
    """A bucket (and a folder in it) to read and write objects, and to keep results in."""

    _block_type_slug = "s3-bucket"

    bucket_name: str = Field(description="The bucket.")
    credentials: AwsCredentials = Field(default_factory=AwsCredentials)
    bucket_folder: str = Field("", description="A folder (key prefix) every path is under.")

    def _key(self, path: str | None) -> str:
        parts = [p.strip("/") for p in (self.bucket_folder, path or "") if p and p.strip("/")]
        return "/".join(parts)

    def _fs(self) -> Any:
        """The bucket's s3fs filesystem, with these credentials (s3fs shares one per set of
        options)."""
        import s3fs

        return s3fs.S3FileSystem(**self.credentials.s3fs_options())

    def _path(self, path: str | None) -> str:
        key = self._key(path)
        return f"{self.bucket_name}/{key}" if key else self.bucket_name

    def upload_from_path(self, from_path: str | Path, to_path: str | None = None) -> str:
        """Upload a local file; returns its key. `to_path` defaults to the file's name."""
        key = self._key(to_path or Path(from_path).name)
        self._fs().put_file(str(from_path), f"{self.bucket_name}/{key}")
        return key

    def download_object_to_path(self, from_path: str, to_path: str | Path | None = None) -> Path:
        """Download an object to a local file (default: its name, in the current folder)."""
        target = Path(to_path) if to_path is not None else Path(Path(from_path).name)
        target.parent.mkdir(parents=True, exist_ok=True)
        self._fs().get_file(self._path(from_path), str(target))
        return target

    def upload_from_file_object(self, from_file_object: BinaryIO, to_path: str) -> str:
        key = self._key(to_path)
        with self._fs().open(f"{self.bucket_name}/{key}", "wb") as target:
            shutil.copyfileobj(from_file_object, target)
        return key

    def download_object_to_file_object(self, from_path: str, to_file_object: BinaryIO) -> Any:
        with self._fs().open(self._path(from_path), "rb") as source:
            shutil.copyfileobj(source, to_file_object)
        return to_file_object

    def read_path(self, path: str) -> bytes:
        """The object's bytes; FileNotFoundError when there is none."""
        data: bytes = self._fs().cat_file(self._path(path))
        return data

    def write_path(self, path: str, content: bytes) -> str:
        """Write `content` as the object; returns its key."""
        key = self._key(path)
        self._fs().pipe_file(f"{self.bucket_name}/{key}", content)
        return key

    def list_objects(
        self,
        folder: str = "",
        delimiter: str = "",
        page_size: int | None = None,
        max_items: int | None = None,
    ) -> list[dict[str, Any]]:
        """The objects under `folder` (within `bucket_folder`), described as boto3 does
        (`Key` without the bucket, `Size`, `LastModified`). With `delimiter="/"` only those
        directly in the folder. `page_size` is accepted for Prefect's signature (s3fs pages
        by itself)."""
        del page_size
        fs = self._fs()
        prefix = self._path(folder)
        try:
            if delimiter:
                found = [i for i in fs.ls(prefix, detail=True) if i.get("type") == "file"]
            else:
                found = list(fs.find(prefix, detail=True).values())
        except FileNotFoundError:
            found = []
        objects = [
            {
                "Key": info["name"].split("/", 1)[1],
                "Size": info.get("size", info.get("Size")),
                "LastModified": info.get("LastModified"),
                "ETag": info.get("ETag"),
            }
            for info in sorted(found, key=lambda i: i["name"])
        ]
        return objects[:max_items] if max_items else objects

    def as_result_storage(self) -> ResultStorage:
        from mainspring.store.results.storage import storage_for

        url = f"s3://{self.bucket_name}" + (f"/{self._key(None)}" if self._key(None) else "")
        return storage_for(url, options=self.credentials.s3fs_options())


def _clear(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()
