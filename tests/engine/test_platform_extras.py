"""The platform extras (`mainspring[sql,aws,gcp,azure,docker,kubernetes]`): each brings the real
library, and result storage on each platform works through fsspec. Azure Blob runs against
Azurite (from the npm registry) on loopback; S3 against moto's server is in
tests/engine/test_results.py; Google Cloud Storage has no emulator in the package registries
here, so gcsfs is checked to resolve `gs://` URLs only (the README says so)."""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopback_process import loopback_process
from mainspring import flow, task
from mainspring.testing import free_port

from .support import only_flow_run

#: Azurite's well-known development account (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


@pytest.mark.parametrize(
    ("extra", "modules"),
    [
        ("sql", ["psycopg"]),
        ("aws", ["s3fs", "boto3"]),
        ("gcp", ["gcsfs"]),
        ("azure", ["adlfs"]),
        ("docker", ["docker"]),
        ("kubernetes", ["kubernetes"]),
    ],
)
def test_each_extra_brings_its_library(extra: str, modules: list[str]) -> None:
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            pytest.skip(f"mainspring[{extra}] is not installed here ({module} missing)")


def test_fsspec_knows_each_platforms_urls() -> None:
    import fsspec

    for url, extra in [("s3://b/p", "s3fs"), ("gs://b/p", "gcsfs"), ("abfs://c/p", "adlfs")]:
        pytest.importorskip(extra)
        cls = fsspec.get_filesystem_class(url.split("://")[0])
        assert cls.__module__.split(".")[0] == extra


@pytest.fixture
def azurite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real Azure Blob endpoint (Azurite) on loopback; its connection string is in the
    environment, where adlfs (and so a result_storage URL) finds it."""
    pytest.importorskip("adlfs")
    command = shutil.which("azurite-blob") or os.environ.get("MAINSPRING_TEST_AZURITE")
    if not command:
        pytest.skip("Azurite is not installed (npm install -g azurite); .ci/run installs it")
    port = free_port()
    argv = [
        *(command, "--blobHost", "127.0.0.1", "--blobPort", str(port)),
        *("--location", str(tmp_path / "azurite"), "--silent", "--skipApiVersionCheck"),
    ]
    with loopback_process(argv, port, "Azurite"):
        monkeypatch.setenv(
            "AZURE_STORAGE_CONNECTION_STRING",
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};",
        )
        import fsspec

        fsspec.filesystem("abfs", skip_instance_cache=True).mkdir("results")
        yield "abfs://results/flows"


def test_results_persist_to_azure_blob_and_load_back(azurite: str, store) -> None:
    import fsspec

    @task(persist_result=True, result_storage=azurite)
    def square(x: int) -> int:
        return x * x

    @flow(name="on-azure", persist_result=True, result_storage=azurite)
    def on_azure() -> int:
        return square(3) + square(4)

    state = on_azure(return_state=True)
    assert state.result() == 25
    fs = fsspec.filesystem("abfs", skip_instance_cache=True)
    written = fs.find("results/flows")
    assert any(path.endswith("/result") for path in written), written
    assert sum("/tasks/" in path for path in written) == 2, written
    # Read back from the store's record: the bytes come from Azurite.
    assert only_flow_run(store, "on-azure").state.result() == 25
