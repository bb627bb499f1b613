"""Encryption of block secrets at rest (Fernet, from `cryptography`).

The key is never in the database: whoever copies the database file (a backup, a support
bundle) gets ciphertext. It comes from `MAINSPRING_ENCRYPTION_KEY` when set, else from a key
file, `mainspring.key`, beside the SQLite store (or in `MAINSPRING_HOME` for PostgreSQL and
in-memory stores), created on first use with 0600 permissions. A server encrypts with its own
key; its clients send and receive secrets in the clear over the API (on an authenticated
connection) and keep no key.

A key that cannot decrypt what is stored (another machine's key file, a changed variable) is
an `EncryptionKeyError` naming where the key came from, never garbage or a silent None.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any

import orjson

from mainspring.exceptions import EncryptionKeyError
from mainspring.store.private_files import FILE_MODE, private_folder

KEY_SETTING = "MAINSPRING_ENCRYPTION_KEY"
KEY_FILE_NAME = "mainspring.key"


class SecretBox:
    """Encrypts and decrypts JSON values with one Fernet key, knowing where the key came from
    (for the messages)."""

    def __init__(self, key: bytes, source: str) -> None:
        from cryptography.fernet import Fernet

        self.source = source
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise EncryptionKeyError(
                f"The encryption key from {source} is not a Fernet key (32 url-safe base64 "
                "bytes, as `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'` prints)"
            ) from exc

    def __repr__(self) -> str:  # never the key
        return f"SecretBox(from {self.source})"

    def encrypt(self, value: Any) -> str:
        return self._fernet.encrypt(orjson.dumps(value)).decode("ascii")

    def decrypt(self, token: str, what: str) -> Any:
        """The value encrypted as `token`; `what` names it in the error (e.g. 'block
        slack-webhook/ops')."""
        from cryptography.fernet import InvalidToken

        try:
            return orjson.loads(self._fernet.decrypt(token.encode("ascii")))
        except (InvalidToken, ValueError) as exc:
            raise EncryptionKeyError(
                f"Cannot decrypt the secrets of {what} with the encryption key from "
                f"{self.source}: they were encrypted with another key. Use the key they were "
                f"saved with ({KEY_SETTING}, or the key file of the store that saved them), "
                "or save the block again."
            ) from exc


def key_file_for(database_url: str) -> Path:
    """Where the key file of the store at `database_url` lives: beside a SQLite file, else in
    MAINSPRING_HOME."""
    from mainspring.settings import get_settings

    if database_url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        database = make_url(database_url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            return Path(database).expanduser().resolve().parent / KEY_FILE_NAME
    return get_settings().home / KEY_FILE_NAME


def _read_or_create_key(path: Path) -> bytes:
    """The key in `path`, made first (0600, atomically: no reader sees half a key) if absent."""
    with contextlib.suppress(FileNotFoundError):
        return path.read_bytes().strip()
    from cryptography.fernet import Fernet

    private_folder(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key())
        with contextlib.suppress(FileExistsError):  # another process made it first: theirs wins
            os.link(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return path.read_bytes().strip()


def secret_box(database_url: str) -> SecretBox:
    """The box of the store at `database_url`: MAINSPRING_ENCRYPTION_KEY, else its key file
    (read on each use, a few bytes: a key file replaced takes effect at once)."""
    from mainspring.settings import get_settings

    configured = get_settings().encryption_key
    if configured is not None:
        return SecretBox(configured.get_secret_value().encode(), KEY_SETTING)
    path = key_file_for(database_url)
    try:
        key = _read_or_create_key(path)
    except OSError as exc:
        raise EncryptionKeyError(
            f"Cannot read or create the encryption key file {path}: {exc}; set {KEY_SETTING} "
            "instead"
        ) from exc
    return SecretBox(key, f"the key file {path}")
