"""Writing output files: atomically, and never the same path twice in one run."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .exceptions import KbError


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, then rename it into place."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Writer:
    """Collects a run's outputs; refuses a second write to one path (a collision is a bug)."""

    def __init__(self) -> None:
        self.written: list[Path] = []
        self._seen: set[Path] = set()

    def write(self, path: Path, data: bytes | str) -> Path:
        key = path.resolve()
        if key in self._seen:
            raise KbError(f"{path}: two outputs of this run would be written to the same file")
        self._seen.add(key)
        atomic_write(path, data)
        self.written.append(path)
        return path
