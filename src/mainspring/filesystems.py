"""Prefect's import path for the filesystem blocks:
`from mainspring.filesystems import LocalFileSystem, RemoteFileSystem`."""

from mainspring.blocks.system import LocalFileSystem, RemoteFileSystem

__all__ = ["LocalFileSystem", "RemoteFileSystem"]
