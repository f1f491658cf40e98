"""``kb store export`` / ``kb store import``: a whole store as JSON Lines, on any backend.

The first line is a header, ``{"format": "kb-store", "version": N}`` (N the schema version);
then one line per row, ``{"table": ..., "row": {...}}``, tables in a fixed order (those a row
refers to first) and rows by key, keys sorted: the same store gives the same bytes, whichever
backend holds it. Bytes (item vectors) are base64 text. A file is read whole before the import
commits, inside one transaction: a bad line leaves the store as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..exceptions import StoreError
from ..outputs import atomic_file
from . import Store, schema

FORMAT = "kb-store"


def _line(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def write_export(store: Store, path: Path) -> int:
    """Write every row of ``store`` to ``path`` (atomically); return how many rows."""
    count = 0
    try:
        with atomic_file(path) as handle:
            handle.write(_line({"format": FORMAT, "version": schema.VERSION}))
            for table, row in store.dump():
                handle.write(_line({"table": table, "row": row}))
                count += 1
    except OSError as e:
        raise StoreError(f"{path}: cannot write: {e.strerror or e}") from e
    return count


def read_export(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """The rows of an export file, checked line by line (``path:line: message`` errors)."""
    columns = {t.name: {c.name for c in t.columns} for t in schema.TABLES}
    try:
        with path.open(encoding="utf-8") as handle:
            _check_header(path, handle.readline())
            for number, text in enumerate(handle, start=2):
                if text.strip():
                    yield _row(path, number, text, columns)
    except OSError as e:
        raise StoreError(f"{path}: cannot read: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise StoreError(f"{path}: not UTF-8 text: {e.reason}") from e


def _check_header(path: Path, text: str) -> None:
    try:
        header = json.loads(text) if text.strip() else None
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise StoreError(f"{path}:1: not a kb store export (no '{FORMAT}' header line)")
    version = header.get("version")
    if version != schema.VERSION:
        raise StoreError(
            f"{path}:1: export of schema version {version}, this kb reads version"
            f" {schema.VERSION}: export and import with the same kb version"
        )


def _row(
    path: Path, number: int, text: str, columns: dict[str, set[str]]
) -> tuple[str, dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise StoreError(f"{path}:{number}: not JSON: {e.msg}") from None
    table = data.get("table") if isinstance(data, dict) else None
    row = data.get("row") if isinstance(data, dict) else None
    if table not in columns:
        raise StoreError(f"{path}:{number}: unknown table {table!r}")
    if not isinstance(row, dict) or set(row) != columns[table]:
        expected = ", ".join(sorted(columns[table]))
        raise StoreError(f"{path}:{number}: a {table} row has exactly the fields {expected}")
    if not all(value is None or isinstance(value, str | int) for value in row.values()):
        raise StoreError(f"{path}:{number}: a {table} row holds only text and whole numbers")
    return table, row
