"""A real Docker engine for the docker work pool's tests, and an image to run flows in.

No registry is reachable here, so the image is made locally: `docker import` of a root
filesystem holding only the shared libraries this machine's Python and the installed
packages link against (found with `ldd`). The Python installation, the virtual environment,
Mainspring's source and the test's folders are bind-mounted at their own paths when a
container runs (job variables `volumes`), so the container runs this very code.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path
from typing import Any

import pytest

import mainspring

#: Where the package's source lives (a checkout's src/, or site-packages).
SOURCE_ROOT = str(Path(mainspring.__file__).resolve().parents[1])


def docker_client() -> Any:
    """A client of the local Docker engine; skips the test where there is none."""
    docker = pytest.importorskip("docker", reason="the docker extra is not installed")
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as exc:
        pytest.skip(f"no Docker engine here ({' '.join(str(exc).split())[:120]})")
    return client


def _shared_libraries() -> set[str]:
    """Every shared library the interpreter and the installed extension modules load."""
    roots = {sys.base_prefix, sys.prefix}
    binaries = [os.path.realpath(sys.executable)]
    for root in roots:
        for folder, _dirs, files in os.walk(root):
            binaries += [os.path.join(folder, f) for f in files if ".so" in f]
    needed: set[str] = set()
    for start in range(0, len(binaries), 200):
        out = subprocess.run(
            ["ldd", *binaries[start : start + 200]], capture_output=True, text=True
        ).stdout
        for line in out.splitlines():
            parts = line.split()
            path = parts[2] if "=>" in parts and len(parts) > 2 else parts[0] if parts else ""
            if path.startswith("/") and not any(path.startswith(r) for r in roots):
                needed.add(path)
    return needed


def runtime_image(client: Any) -> str:
    """The tag of the test image (built once per machine and set of libraries)."""
    libraries = sorted(_shared_libraries())
    digest = hashlib.sha256("\n".join([sys.version, *libraries]).encode()).hexdigest()[:12]
    tag = f"mainspring-test-runtime:{digest}"
    if client.images.list(name=tag):
        return tag
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        added: set[str] = set()
        for path in libraries:
            real = os.path.realpath(path)
            if real not in added:
                tar.add(real, arcname=real.lstrip("/"))
                added.add(real)
            if path != real and path not in added:  # the name the binaries ask for
                link = tarfile.TarInfo(path.lstrip("/"))
                link.type = tarfile.SYMTYPE
                link.linkname = real
                tar.addfile(link)
                added.add(path)
        for folder in ("tmp", "etc"):
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if folder == "tmp" else 0o755
            tar.addfile(info)
        for name, text in (
            ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
            ("etc/group", "root:x:0:\n"),
        ):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    repository, _, version = tag.partition(":")
    client.api.import_image_from_data(buffer.getvalue(), repository=repository, tag=version)
    return tag


def mounts(*folders: str | Path) -> list[str]:
    """Bind mounts (same path inside) of this Python, its venv, the source and `folders`."""
    paths = {sys.base_prefix, sys.prefix, SOURCE_ROOT, sysconfig.get_paths()["purelib"]}
    read_only = [f"{p}:{p}:ro" for p in sorted(paths)]
    return read_only + [f"{f}:{f}" for f in map(str, folders)]


def job_env() -> dict[str, str]:
    """The container's PATH and PYTHONPATH: this venv's python and Mainspring's source."""
    return {
        "PATH": f"{sys.prefix}/bin:/usr/bin:/bin",
        "PYTHONPATH": SOURCE_ROOT,
        "HOME": "/tmp",
    }


def remove_test_containers(client: Any) -> None:
    for container in client.containers.list(
        all=True, filters={"label": "io.mainspring.flow-run-id"}
    ):
        container.remove(force=True)


__all__ = ["docker_client", "job_env", "mounts", "remove_test_containers", "runtime_image"]
