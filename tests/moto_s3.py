"""A real S3 endpoint for tests: moto's server on loopback (not a mocked client), started
per use and stopped after. Skips the test where moto's server is not installed or does not
start."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import pytest

from loopback_process import loopback_process
from mainspring.testing import free_port


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """Yield the endpoint URL (http://127.0.0.1:PORT) of a fresh moto server."""
    pytest.importorskip("moto.server")
    port = free_port()
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with loopback_process(argv, port, "moto server"):
        yield f"http://127.0.0.1:{port}"
