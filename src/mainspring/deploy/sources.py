"""`flow.from_source(source, entrypoint)`: a flow whose code lives in a folder or a git repository.

A local folder is read where it is. A git URL (https://, ssh://, git@host:, file://, or a path
ending in .git) is fetched with the `git` command into a cache under `$MAINSPRING_HOME/sources/`:
one bare copy per URL (`repo.git`, fetched again each time) and one read-only tree per commit
(`<commit>/`, made once with `git archive`). A flow run loads its code from the tree of the
commit it was pulled at, so a later pull never changes files under a running flow, and
`mainspring flow-run retry` finds the same code again. Pulls of one URL take turns (a lock file).

A deployment made from a git source stores `source_entrypoint(...)` as its entrypoint: a small
JSON object with the URL, the branch (if any) and the entrypoint inside the repository. The
process that runs one of its runs (`mainspring flow-run execute`, deploy/execute.py) pulls the
source first (`local_entrypoint`), so the worker needs nothing but `git` and access to the URL.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mainspring.deploy.flow_files import FlowFileError, load_flow_file
from mainspring.settings import get_settings

if TYPE_CHECKING:
    from mainspring.engine.flows import Flow

__all__ = [
    "FlowSource",
    "SourceError",
    "is_git_url",
    "load_from_source",
    "local_entrypoint",
    "pull",
    "redact_credentials",
    "source_entrypoint",
]

_GIT_PREFIXES = ("http://", "https://", "ssh://", "git://", "file://", "git@")
#: How long one git command may take (a clone of a large repository over a slow link).
GIT_TIMEOUT = 600.0


class SourceError(ValueError):
    """A source that cannot be read or fetched; the message names it and why."""


@dataclass(frozen=True)
class FlowSource:
    """Where a flow's code comes from: a git URL (with a branch) and its entrypoint there;
    for a local folder, no URL and the entrypoint's absolute `path/to/file.py:function`."""

    url: str | None
    entrypoint: str
    branch: str | None = None


def is_git_url(source: str) -> bool:
    """Whether `source` names a git repository to fetch (not a folder to read in place)."""
    if source.startswith(_GIT_PREFIXES):
        return True
    return source.endswith(".git") and not Path(source).is_dir()


#: The credentials of a URL inside any text: `scheme://` and the `userinfo@` after it.
_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s@'\"]+)@")


def redact_credentials(text: str) -> str:
    """`text` (a source URL, or a message quoting one) with the secrets of its URLs masked:
    the password of `user:password@`, and the whole `name@` of an http(s) URL, which git
    given no terminal to ask on can only use as an access token (`https://TOKEN@host/...`).
    A git source's error reaches the run's state, the worker's log and the UI."""

    def mask(found: re.Match[str]) -> str:
        scheme, userinfo = found.group(1), found.group(2)
        user, colon, _secret = userinfo.partition(":")
        if colon:
            return f"{scheme}{user}:***@"
        return f"{scheme}***@" if scheme.lower() in ("http://", "https://") else found.group(0)

    return _CREDENTIALS.sub(mask, text)


def _git(*arguments: str, cwd: Path | None = None) -> str:
    command = ["git", *arguments]
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")  # never wait for a password on a tty
    try:
        done = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=GIT_TIMEOUT
        )
    except FileNotFoundError:
        raise SourceError("pulling a git source needs the `git` command (not found)") from None
    except subprocess.TimeoutExpired:
        raise SourceError(f"`git {arguments[0]}` took more than {GIT_TIMEOUT:g} s") from None
    if done.returncode != 0:
        raise SourceError(f"`git {arguments[0]}` failed: {_said(done.stderr, done.returncode)}")
    return done.stdout.strip()


def _said(stderr: str, code: int) -> str:
    """What git said on failing, on one line and with no secret, else its exit code."""
    return redact_credentials(" ".join(stderr.split())) or f"exit code {code}"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pull(url: str, branch: str | None = None) -> Path:
    """Fetch `url` (its `branch`, else its default branch) and return the folder holding the
    fetched commit's files (module docstring)."""
    root = get_settings().home / "sources" / hashlib.sha256(url.encode()).hexdigest()[:16]
    with _locked(root.with_suffix(".lock")):
        bare = root / "repo.git"
        if not (bare / "HEAD").is_file():
            shutil.rmtree(bare, ignore_errors=True)  # a clone interrupted earlier
            root.mkdir(parents=True, exist_ok=True)
            _git("init", "--quiet", "--bare", str(bare))
        _git("fetch", "--quiet", "--depth", "1", url, branch or "HEAD", cwd=bare)
        commit = _git("rev-parse", "FETCH_HEAD^{commit}", cwd=bare)
        tree = root / commit
        if not tree.is_dir():
            _extract(bare, commit, root)
    return tree


def _extract(bare: Path, commit: str, root: Path) -> None:
    """Write the files of `commit` into root/commit, all at once (a rename) or not at all."""
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=root))
    try:
        with tempfile.TemporaryFile("w+") as errors:
            archive = subprocess.Popen(
                ["git", "archive", "--format=tar", commit],
                cwd=bare,
                stdout=subprocess.PIPE,
                stderr=errors,
            )
            assert archive.stdout is not None
            unreadable = None
            try:
                with tarfile.open(fileobj=archive.stdout, mode="r|") as tar:
                    tar.extractall(staging, filter="data")
            except tarfile.TarError as exc:  # git failed (said why below) or cut its output
                unreadable = exc
            archive.stdout.close()  # a git still writing after a tar error gets EPIPE, not stuck
            if archive.wait() != 0 or unreadable is not None:
                errors.seek(0)
                said = _said(errors.read(), archive.returncode) if archive.returncode else ""
                raise SourceError(f"`git archive` of commit {commit} failed: {said or unreadable}")
        staging.rename(root / commit)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def source_entrypoint(source: FlowSource) -> str:
    """The entrypoint a deployment of a source stores (module docstring); a local folder's
    is its file's absolute path."""
    if source.url is None:
        return source.entrypoint
    fields: dict[str, Any] = {"source": source.url, "entrypoint": source.entrypoint}
    if source.branch is not None:
        fields["branch"] = source.branch
    return json.dumps(fields, sort_keys=True)


def parse_source_entrypoint(text: str) -> FlowSource | None:
    """The source a stored entrypoint names, or None for a plain `file.py:function`."""
    if not text.startswith("{"):
        return None
    try:
        fields = json.loads(text)
        url, entrypoint, branch = fields["source"], fields["entrypoint"], fields.get("branch")
    except (ValueError, KeyError, TypeError):
        url = entrypoint = None
    if not isinstance(url, str) or not isinstance(entrypoint, str):
        raise SourceError(f"the entrypoint {text!r} names no source Mainspring can read")
    return FlowSource(url, entrypoint, branch if isinstance(branch, str) else None)


def local_entrypoint(text: str) -> str:
    """A stored entrypoint made loadable here: a source's is pulled first and becomes the
    absolute `path/to/file.py:function` of its files; any other is returned as it is."""
    source = parse_source_entrypoint(text)
    if source is None or source.url is None:
        return text
    tree = pull(source.url, source.branch)
    place, _, qualname = source.entrypoint.rpartition(":")
    return f"{(tree / place).resolve()}:{qualname}"


def load_from_source(source: str, entrypoint: str, branch: str | None = None) -> Flow:
    """The flow at `entrypoint` (`path/in/source.py:function`) of `source`, a folder or a git
    URL; where it came from is kept on the flow (`flow.source`) for `deploy()` to store."""
    if not isinstance(source, str) or not source:
        raise SourceError(f"source must be a folder or a git URL, got {source!r}")
    if not isinstance(entrypoint, str) or ":" not in entrypoint:
        raise SourceError(
            f"entrypoint must be 'path/to/file.py:flow_function' inside the source, got "
            f"{entrypoint!r}"
        )
    git = is_git_url(source)
    if git:
        folder = pull(source, branch)
    else:
        folder = Path(source).expanduser().resolve()
        if not folder.is_dir():
            raise SourceError(f"source {source!r} is neither a folder nor a git URL")
    try:
        flow, where = load_flow_file(entrypoint, base=folder)
    except FlowFileError as exc:
        raise SourceError(f"in source {redact_credentials(source)!r}: {exc}") from None
    # kept on the flow for deploy(): a git source is pulled again by each run's process
    flow.source = FlowSource(source, entrypoint, branch) if git else FlowSource(None, where)
    return flow
