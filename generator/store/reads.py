"""A rep's digest on demand reads the SQLite store through the standard library's ``sqlite3``.

Importing SQLAlchemy and opening an engine cost a fresh ``kb digest ACCOUNT`` about a quarter
of a second, more than ranking the account. What such a run reads is four queries: the
fingerprints of the stored items (is the corpus snapshot current?), the vectors of the
account's and notes' texts, the judge's stored logits for the account, and what was sent to the
account; and one write, the logits of the stories it judged. :func:`open_reading` serves
those from a plain read-only connection and opens the full store (:class:`.sql.SqlStore`, on
SQLAlchemy) only when something else is asked of it: a write, or a read it does not know.

The queries are the same as :class:`.sql.SqlStore`'s and return the same values (SQLite hands
both the same ``int`` and ``str``); a test compares them on a real store. The reader is used
only for a store at the current schema version: anything else (no file yet, an older store to
migrate, a newer one to refuse) goes to the full store, which does all that.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..exceptions import StoreError
from ..models import SentRecord
from .version import VERSION

if TYPE_CHECKING:
    from . import Store

CHUNK = 500
"""Hashes per ``IN (...)`` list: well under SQLite's limit on parameters."""

ITEMS_STATE = (
    "SELECT count(*), min(id), max(id), max(first_seen), sum(length(id)), sum(length(title))"
    " FROM items",
    "SELECT count(*), max(first_seen), sum(length(feed)) FROM item_sources",
    "SELECT count(*), sum(length(item_id)) FROM item_vectors WHERE model = ?",
)
JUDGEMENTS = "SELECT item_id, logit FROM judgements WHERE model = ? AND account_hash = ?"
SAVE_JUDGEMENT = (
    "INSERT OR IGNORE INTO judgements (model, account_hash, item_id, logit)"
    " SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM items WHERE id = ?)"
)
HISTORY = (
    "SELECT account, item_id, url, title, sent_at, format FROM sent WHERE account = ?"
    " ORDER BY sent_at DESC, format, title, item_id"
)


class ReadingStore:
    """The store for a run that mostly reads: four reads and the judgements' write on
    ``sqlite3``, the rest (and every other write) on the full store, opened on first need.
    Behaves as a :class:`~generator.store.Store` (see :func:`open_reading`)."""

    def __init__(self, path: Path, connection: sqlite3.Connection, full: Callable[[], Store]):
        self._path = path
        self._db = connection
        self._open_full = full
        self._full: Store | None = None
        self._texts: dict[tuple[str, str], bytes] = {}
        """Text vectors read so far: a run asks for the notes' twice (are they all embedded?
        then to rank them), and a text's vector never changes (see :mod:`.sql`)."""

    def __getattr__(self, name: str) -> Any:
        """Everything this class does not serve itself: the full store's."""
        if name.startswith("_"):
            raise AttributeError(name)
        if self._full is None:
            self._full = self._open_full()
        return getattr(self._full, name)

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One snapshot for the statements of one read; the driver's errors as a StoreError."""
        try:
            self._db.execute("BEGIN")
            try:
                yield self._db
            finally:
                self._db.execute("COMMIT")
        except sqlite3.Error as e:
            raise StoreError(f"cannot read {self._path}: {e}") from e

    def items_state(self, model_id: str) -> tuple[str, str]:
        with self._read() as db:
            rows = [
                tuple(db.execute(q, (model_id,) if "?" in q else ()).fetchone())
                for q in ITEMS_STATE
            ]
        return repr(rows[:2]), repr(rows[2])

    def text_vectors(self, model_id: str, hashes: Sequence[str]) -> dict[str, bytes]:
        known = self._texts
        wanted = [h for h in dict.fromkeys(hashes) if (model_id, h) not in known]
        with self._read() as db:
            query = "SELECT text_hash, vector FROM text_vectors WHERE model = ? AND text_hash"
            for k, v in _rows_in(db, query, [model_id], wanted):
                known[model_id, k] = bytes(v)
        return {h: known[model_id, h] for h in hashes if (model_id, h) in known}

    def judgements(
        self, model_id: str, account_hash: str, items: Collection[str] | None = None
    ) -> dict[str, bytes]:
        with self._read() as db:
            params = [model_id, account_hash]
            if items is None:
                rows = db.execute(JUDGEMENTS, params).fetchall()
            else:
                rows = list(_rows_in(db, f"{JUDGEMENTS} AND item_id", params, sorted(set(items))))
        return {item: bytes(logit) for item, logit in rows}

    def save_judgements(self, model_id: str, logits: Mapping[tuple[str, str], bytes]) -> None:
        """As the full store saves them, on a connection of its own that may write: the one
        write a digest on demand makes when it judged a story (opening the full store would cost
        it a quarter of a second)."""
        if not logits:
            return
        rows = [
            (model_id, account, item, logit, item)
            for (account, item), logit in sorted(logits.items())
        ]
        try:
            with contextlib.closing(
                sqlite3.connect(self._path, timeout=60, isolation_level=None)
            ) as db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(SAVE_JUDGEMENT, rows)
                db.execute("COMMIT")
        except sqlite3.Error as e:
            raise StoreError(f"cannot save judgements in {self._path}: {e}") from e

    def history(self, account: str) -> list[SentRecord]:
        with self._read() as db:
            rows = db.execute(HISTORY, (account,)).fetchall()
        return [
            SentRecord(
                account=row[0],
                item_id=row[1],
                url=row[2],
                title=row[3],
                sent_at=datetime.fromisoformat(row[4]),
                format=row[5],
            )
            for row in rows
        ]

    def close(self) -> None:
        self._db.close()
        if self._full is not None:
            self._full.close()


def open_reading(path: Path, full: Callable[[], Store]) -> Store:
    """The SQLite store at ``path`` for a run that mostly reads (see the module docstring):
    a :class:`ReadingStore` when the file is there at the current schema version, else
    ``full()`` (which creates, migrates or refuses it, as every command does)."""
    try:
        connection = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=60, isolation_level=None
        )
    except (sqlite3.Error, OSError, ValueError):
        return full()
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error:
        version = None
    if version != VERSION:
        connection.close()
        return full()
    # Duck-typed: every Store method the reader does not serve is the full store's.
    return cast("Store", ReadingStore(path, connection, full))


def _rows_in(
    db: sqlite3.Connection, query: str, params: Sequence[object], values: Sequence[str]
) -> Iterator[tuple[Any, ...]]:
    """The rows of ``query`` (ending in the column to match) ``IN`` ``values``, asked ``CHUNK``
    values at a time."""
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        yield from db.execute(f"{query} IN ({', '.join('?' * len(chunk))})", [*params, *chunk])
