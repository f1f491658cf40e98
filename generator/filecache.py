"""Files as last read: the state folder's caches of project files parsed and checked.

One mechanism for every such cache (the notes, ``feeds.yml``, the account files a CRM import
reads): a JSON file holding a key (what the entries were checked against, and the code that
read them) and, per file name, the file's stamp with what was read from it. An entry is used
only while its file's stamp is the same; a missing, damaged or differently keyed cache counts as
empty (everything is read again); writes are atomic.

As in git's index, an entry is only kept when its file had not been modified for
:data:`SETTLE_NS` when the cache was saved: the kernel stamps files with a coarse clock, so a
file rewritten at the same size within one tick of being read would otherwise keep its stamp
and be served stale. A file edited a moment ago is simply read again next time.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

from .outputs import atomic_write

SETTLE_NS = 2_000_000_000

Entries = dict[str, list[Any]]
"""File name -> ``[stamp, what was read]``."""


def stamp(path: Path) -> list[int] | None:
    """What says a file is unchanged: its size, times and inode (None if it is not there)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]


def read(path: Path | None, key: str) -> Entries:
    """The entries of the cache at ``path`` if it was saved under ``key``; else none."""
    if path is None:
        return {}
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) and data.get("key") == key else None
    if not isinstance(files, dict):
        return {}
    return {name: entry for name, entry in files.items() if _well_formed(entry)}


def _well_formed(entry: object) -> bool:
    return isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], list)


def save(path: Path | None, key: str, entries: Entries, cached: Entries) -> None:
    """Save the settled ``entries`` under ``key``, unless that is what was ``cached``."""
    settled_before = time.time_ns() - SETTLE_NS
    kept = {
        name: entry
        for name, entry in entries.items()
        if len(entry[0]) > 1 and entry[0][1] < settled_before
    }
    if path is None or kept == cached:
        return
    with contextlib.suppress(OSError):  # no state folder yet, or read-only: read again next time
        if path.parent.is_dir():
            atomic_write(path, json.dumps({"key": key, "files": kept}, default=str))
