"""Files and folders only the user can open.

What Mainspring keeps on disk (the database, persisted results, cache records, locks) holds
parameters, results and logs, which may be secrets; other users of the machine must not read
them, nor plant pickles where they will be loaded. Folders it creates are 0700 and files 0600,
whatever the umask; existing ones are left as their owner set them.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> Path:
    """Create `path` and its missing parents as private folders; return `path`.

    `Path.mkdir(parents=True)` would give the parents the umask's default mode (0755).
    """
    missing: list[Path] = []
    folder = path
    while not os.path.lexists(folder) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            folder.mkdir(mode=FOLDER_MODE)
    return path


def create_private_file(path: Path) -> None:
    """Create `path` empty and private unless it exists (then it is left as it is)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
