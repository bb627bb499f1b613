"""`AwsCredentials` and `S3Bucket` against a real S3 endpoint (moto's server on loopback):
saved and loaded by name as the seed snippets do (`S3Bucket.load("mi-bucket")`), objects up
and down, and results of a real flow kept in the bucket."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from mainspring import flow, task
from mainspring.store import get_store
from moto_s3 import moto_server

pytest.importorskip("boto3")
pytest.importorskip("s3fs")

from mainspring.integrations.aws import (
    AwsClientParameters,
    AwsCredentials,
    S3Bucket,
)

SECRET = "moto-secret-key-XYZ"


@pytest.fixture
def saved_bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A bucket on moto, saved as block 'mi-bucket' with its credentials; yields the
    endpoint. No AWS_* variables are set: everything comes from the saved block."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    with moto_server() as endpoint:
        credentials = AwsCredentials(
            aws_access_key_id="moto-key",
            aws_secret_access_key=SECRET,
            region_name="us-east-1",
            aws_client_parameters=AwsClientParameters(endpoint_url=endpoint),
        )
        credentials.get_s3_client().create_bucket(Bucket="mi-datos")
        S3Bucket(bucket_name="mi-datos", credentials=credentials, bucket_folder="etl").save(
            "mi-bucket"
        )
        yield endpoint


def test_s3_bucket_load_upload_download_read_write_list(saved_bucket: str, tmp_path: Path):
    bucket = S3Bucket.load("mi-bucket")
    assert SECRET not in repr(bucket) and SECRET not in str(bucket.model_dump())
    source = tmp_path / "report.csv"
    source.write_text("a,b\n1,2\n")
    assert bucket.upload_from_path(source, "reports/today.csv") == "etl/reports/today.csv"
    assert bucket.read_path("reports/today.csv") == b"a,b\n1,2\n"
    assert bucket.write_path("notes/hello.txt", b"hola") == "etl/notes/hello.txt"
    fetched = bucket.download_object_to_path("notes/hello.txt", tmp_path / "down" / "hello.txt")
    assert fetched.read_bytes() == b"hola"
    bucket.upload_from_file_object(io.BytesIO(b"stream"), "streams/one.bin")
    sink = io.BytesIO()
    bucket.download_object_to_file_object("streams/one.bin", sink)
    assert sink.getvalue() == b"stream"
    keys = {o["Key"] for o in bucket.list_objects()}
    assert keys == {"etl/reports/today.csv", "etl/notes/hello.txt", "etl/streams/one.bin"}
    assert {o["Key"] for o in bucket.list_objects("reports")} == {"etl/reports/today.csv"}
    with pytest.raises(FileNotFoundError):
        bucket.read_path("missing.txt")


def test_the_secret_key_is_not_in_the_database(saved_bucket: str):
    from mainspring.settings import get_settings

    raw = b"".join(p.read_bytes() for p in get_settings().home.glob("mainspring.db*"))
    assert b"mi-datos" in raw and SECRET.encode() not in raw
    listed = get_store().read_block_documents("s3-bucket")
    assert SECRET not in repr(listed)


def test_a_flow_keeps_its_results_in_the_bucket(saved_bucket: str):
    bucket = S3Bucket.load("mi-bucket")

    @task(persist_result=True, result_storage=bucket)
    def square(x: int) -> int:
        return x * x

    @flow(name="results-in-s3", persist_result=True, result_storage=bucket)
    def results_in_s3() -> int:
        return square(5) + square(6)

    assert results_in_s3() == 61
    keys = [o["Key"] for o in bucket.list_objects()]
    assert any(k.endswith("/result") for k in keys), keys
    assert sum("/tasks/" in k for k in keys) == 2, keys
    (run,) = get_store().read_flow_runs()
    assert run.state.result() == 61  # loaded back from the bucket, with the block's credentials
