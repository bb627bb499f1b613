"""A real S3 endpoint for tests: moto's server on loopback (not a mocked client), started
per use and stopped after. Skips the test where moto's server is not installed or does not
start."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from mainspring.testing import free_port


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """Yield the endpoint URL (http://127.0.0.1:PORT) of a fresh moto server."""
    pytest.importorskip("moto.server")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.skip("moto server did not start")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
