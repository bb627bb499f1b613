"""A server a test starts as a process of its own on a loopback port (moto's S3, Azurite):
started, waited for until the port answers, stopped after. Skips the test where it does not
start."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence

import pytest


@contextlib.contextmanager
def loopback_process(argv: Sequence[str], port: int, name: str) -> Iterator[None]:
    """Run `argv` (a server listening on 127.0.0.1:`port`) for the block; skip the test when
    it exits or does not answer within 30 s."""
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.skip(f"{name} did not start")
                time.sleep(0.1)
        yield
    finally:
        process.terminate()
        process.wait(10)
