"""The folders kb writes into, and the rules that keep it from touching anything else.

``kb build`` replaces the site folder whole and writes digests into the output folder, so a
setting that names the wrong folder (``.git``, the team's ``docs/``, ``/home/me``, ``kb.yml``)
would destroy work. A folder is written only when kb made it: kb leaves a marker file in
every folder it creates (:data:`MARKER`), and refuses an existing folder without one. Two
shapes of folder are adopted without a marker, because earlier versions of kb left no marker:
an empty folder, and one that holds only what kb itself writes there (see
:func:`looks_made_by_kb`).

A symbolic link as ``site_dir`` is refused: the site is swapped into place by renaming a
freshly built folder, which would replace the link by a real folder and leave the web server
on a stale copy. The other way round works: point the web server (or a link) at the project's
site folder.

Writers of one project also take :func:`project_lock`, so two ``kb build`` runs cannot race on
the site swap or the store.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .exceptions import KbError
from .yamlfile import quote

MARKER = ".kb-output"
MARKER_TEXT = (
    "This folder is made by Knowledge Broker (kb), which replaces its contents on every build.\n"
    "Do not keep your own files here.\n"
)
VCS_FOLDERS = frozenset({".git", ".hg", ".svn", ".bzr"})
_MKDOCS_OUTPUT = ("sitemap.xml", "404.html")
_KB_OUTPUT_FOLDERS = frozenset({"digests", "newsletter", "shards", MARKER})  # shards: --shard K/N
STAGING = "kb-staging-"
"""Infix of the folders a site is built in before the swap: ``.site.kb-staging-XXXX``."""
_LEGACY_STAGING = re.compile(r"[a-z0-9_]{8}|old")
LOCK_WAIT = 120.0
"""Seconds a second writer waits for the project lock; ``KB_LOCK_TIMEOUT`` overrides it."""


def mark(folder: Path) -> None:
    """Leave kb's marker in ``folder`` (made by kb), so later runs may replace it."""
    (folder / MARKER).write_text(MARKER_TEXT, encoding="utf-8")


def is_marked(folder: Path) -> bool:
    return (folder / MARKER).is_file()


def looks_made_by_kb(folder: Path, kind: str) -> bool:
    """An unmarked folder that kb may adopt: empty, or holding only kb's own output (a site
    built by MkDocs; the ``digests/`` and ``newsletter/`` folders of the output folder)."""
    try:
        names = {p.name for p in folder.iterdir()}
    except OSError:
        return False
    if not names:
        return True
    if kind == "site_dir":
        return all((folder / name).is_file() for name in _MKDOCS_OUTPUT)
    return names <= _KB_OUTPUT_FOLDERS


def folder_problem(root: Path, setting: Path, kind: str) -> str | None:
    """Why ``setting`` (``site_dir`` or ``out_dir``, relative to the project ``root``) must not
    be written by kb, or None when it may. Reads the file system, writes nothing."""
    text = str(setting)
    if "\0" in text:
        return f"'{kind}' contains a NUL character"
    if not text.strip():
        return f"'{kind}' is empty: name a folder inside the project"
    path = root / setting
    project = root.resolve()
    if path.is_symlink():
        return (
            f"'{kind}' ({quote(text)}) is a symbolic link: kb replaces this folder on each build"
            " and would replace the link; point the web server at the project's folder instead"
        )
    resolved = path.resolve()
    if resolved == project or not resolved.is_relative_to(project):
        return f"'{kind}' must be a folder inside the project, got {quote(text)}"
    parts = resolved.relative_to(project).parts
    if VCS_FOLDERS.intersection(parts):
        return f"'{kind}' must not be in a version control folder, got {quote(text)}"
    if path.exists() and not path.is_dir():
        return f"'{kind}' names a file, not a folder: {quote(text)}"
    if path.is_dir() and not is_marked(path) and not looks_made_by_kb(path, kind):
        return (
            f"'{kind}' ({quote(text)}) is a folder kb did not make (no {MARKER} file in it);"
            " kb replaces what it writes there: choose a new folder, or empty this one"
        )
    return None


def staging_folders(final: Path) -> list[Path]:
    """Staging folders that killed builds left beside ``final`` (the site folder).

    Called under the project lock, so none of them belongs to a running build. Ours carry the
    marker; folders of earlier versions are recognised by mkdtemp's name shape.
    """
    prefix = f".{final.name}."
    found = []
    for path in final.parent.iterdir():
        rest = path.name.removeprefix(prefix)
        if rest == path.name or not path.is_dir() or path.is_symlink():
            continue
        ours = rest.startswith(STAGING) and is_marked(path)
        if ours or _LEGACY_STAGING.fullmatch(rest):
            found.append(path)
    return sorted(found)


def lock_timeout() -> float:
    value = os.environ.get("KB_LOCK_TIMEOUT", "")
    try:
        return max(0.0, float(value)) if value else LOCK_WAIT
    except ValueError:
        return LOCK_WAIT


@contextmanager
def project_lock(state_dir: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the project's write lock (``<state_dir>/kb.lock``) for the block.

    A second writer waits up to ``timeout`` seconds (default :func:`lock_timeout`), then
    gives up with a message instead of racing on the store or the site swap. The lock is an
    OS file lock, so a killed run releases it.
    """
    wait = lock_timeout() if timeout is None else timeout
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise KbError(f"{state_dir}: cannot create the state folder: {e.strerror or e}") from e
    from filelock import FileLock, Timeout  # only a run that writes takes the lock

    lock = FileLock(state_dir / "kb.lock")
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        raise KbError(
            f"another kb run is writing to this project (lock {state_dir / 'kb.lock'}); "
            f"waited {wait:g} s: try again when it has finished"
        ) from None
    except OSError as e:
        raise KbError(f"{state_dir / 'kb.lock'}: cannot take the lock: {e.strerror or e}") from e
    try:
        yield
    finally:
        lock.release()
