"""An image for a project's flows: a Dockerfile template that installs the project's
requirements and Mainspring, and `docker build` through the Docker SDK.

The project folder is copied to `/opt/project`, the image's working directory, so a
deployment's entrypoint relative to the project (`flows.py:etl`) is found in the container as
it is on the machine that deployed it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mainspring._version import __version__

__all__ = ["PROJECT_DIR", "build_image", "dockerfile"]

PROJECT_DIR = "/opt/project"


def dockerfile(
    *,
    python_version: str | None = None,
    requirements: str | None = "requirements.txt",
    base_image: str | None = None,
    extras: str = "docker",
) -> str:
    """The Dockerfile text: a slim Python of this interpreter's version (or `base_image`),
    the project's requirements (when it has a requirements file), this Mainspring version,
    then the project itself (last, so editing code does not reinstall the requirements)."""
    version = python_version or f"{sys.version_info.major}.{sys.version_info.minor}"
    lines = [
        "# Made by `mainspring docker dockerfile`: the project's flows and what they need.",
        f"FROM {base_image or f'python:{version}-slim'}",
        "ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1",
        f"WORKDIR {PROJECT_DIR}",
    ]
    if requirements:
        lines += [
            f"COPY {requirements} ./",
            f"RUN pip install -r {requirements}",
        ]
    lines += [
        f'RUN pip install "mainspring[{extras}]=={__version__}"',
        f"COPY . {PROJECT_DIR}",
        "",
    ]
    return "\n".join(lines)


def build_image(
    tag: str, path: str | Path = ".", dockerfile_name: str = "Dockerfile", client: Any = None
) -> Iterator[str]:
    """Build `tag` from the folder `path`; yields the build's output lines. Raises
    `RuntimeError` with Docker's message when the build fails."""
    if client is None:
        import docker

        client = docker.from_env()
    folder = Path(path).resolve()
    if not (folder / dockerfile_name).is_file():
        raise FileNotFoundError(
            f"no {dockerfile_name} in {folder}: write one with `mainspring docker dockerfile`"
        )
    for chunk in client.api.build(
        path=str(folder), dockerfile=dockerfile_name, tag=tag, rm=True, decode=True
    ):
        if "error" in chunk:
            raise RuntimeError(" ".join(str(chunk["error"]).split()))
        text = chunk.get("stream")
        if text and text.strip():
            yield text.rstrip("\n")
