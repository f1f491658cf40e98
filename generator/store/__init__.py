"""The store: the only place that knows about SQL. Callers see the :class:`Store` protocol.

One implementation, :class:`.sql.SqlStore` on SQLAlchemy Core, serves both backends: the
embedded SQLite file (the default, ``<state_dir>/kb.sqlite``) and a team's shared PostgreSQL
database (``postgresql://user@host:port/db``). :func:`open_store` picks by the location.

Concurrency rule, the same on both: any number of runs may share one store. An item is stored
once, and an item is recorded as sent to an account once: **the first run to record it wins**;
``record_sent`` returns what it really recorded, so a run that lost knows which items another
run sent first.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..models import Feed, FeedState, FeedUpdate, Item, SentRecord

if TYPE_CHECKING:
    from .location import StoreLocation, parse_location
    from .sql import StoreInfo

LAZY = {"StoreLocation": "location", "parse_location": "location", "StoreInfo": "sql"}
"""Names this package gives from modules that import SQLAlchemy: imported when first asked
for, so that a run reading through :mod:`.reads` never imports it."""


def __getattr__(name: str) -> Any:
    if name not in LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{LAZY[name]}"), name)


class Store(Protocol):
    def sync_feeds(self, feeds: Sequence[Feed]) -> None:
        """Make sure every configured feed has a row; a changed URL resets its HTTP cache.

        The cache is the validators, the back-off, a permanent redirect and a discovered feed:
        all of them belong to the old URL.
        """

    def feed_states(self) -> list[FeedState]: ...

    def feed_state(self, name: str) -> FeedState | None: ...

    def save_update(self, update: FeedUpdate) -> int:
        """Write a feed's fetch result and its entries atomically; return how many items are new."""

    def save_updates(self, updates: Sequence[FeedUpdate]) -> list[int]:
        """Write several feeds' fetch results, entries included, in one transaction; return how
        many items each made new. The decisions are those of :meth:`save_update` called on each
        in order. All are written or none is (the caller may then write them one by one, so that
        a feed whose write fails fails alone)."""

    def items(
        self,
        *,
        since: datetime | None = None,
        feeds: Sequence[str] = (),
        limit: int | None = None,
    ) -> list[Item]:
        """Stored items, newest first (ties broken by id, so the order is stable)."""

    def record_sent(
        self, account: str, items: Sequence[Item], sent_at: datetime, fmt: str
    ) -> list[str]:
        """Record ``items`` as sent; return the ids really recorded (the first run wins)."""

    def history(self, account: str) -> list[SentRecord]:
        """What was sent to ``account``, newest first."""

    def prune(self, before: datetime) -> int:
        """Delete items published before ``before``; return how many.

        The only way items leave the store (``kb prune``). What was sent keeps its own copy of
        the title and URL, so an account's history survives its items being pruned. Each pruned
        item leaves a tombstone, written in the same transaction, so no feed stores the story
        again while it is older than ``before``.
        """

    def items_state(self, model_id: str) -> tuple[str, str]:
        """Fingerprints of the stored items with their sources, and of their ``model_id``
        vectors, cheap to compute: equal fingerprints mean the same items, sources and vectors
        (what a saved corpus snapshot depends on, see :mod:`generator.snapshot`)."""

    def item_vectors(self, model_id: str, item_ids: Sequence[str]) -> dict[str, bytes]:
        """The stored vectors of ``item_ids`` made by encoder ``model_id`` (name@version); items
        without one are absent. A vector is the encoder's row as little-endian float32 bytes
        (see :mod:`generator.relevance.semantic`); the store keeps the bytes as given."""

    def save_item_vectors(self, model_id: str, vectors: Mapping[str, bytes]) -> None:
        """Save item id -> vector bytes for ``model_id`` in one transaction, replacing older ones.

        A vector whose item is not stored (pruned meanwhile) is dropped; pruning an item deletes
        its vectors in the same transaction.
        """

    def text_vectors(self, model_id: str, hashes: Sequence[str]) -> dict[str, bytes]:
        """The stored vectors made by encoder ``model_id`` of the texts whose SHA-256 (hex) is in
        ``hashes``: texts that are not items (an account's problems, field and stakeholders'
        concerns, the team's notes). Texts without one are absent."""

    def save_text_vectors(self, model_id: str, vectors: Mapping[str, bytes]) -> None:
        """Save text hash -> vector bytes for ``model_id`` in one transaction, replacing older
        ones (the bytes of a text are the same whoever embeds it, so a race is harmless)."""

    def prune_text_vectors(self, keep: Collection[str]) -> int:
        """Delete the text vectors (of every model) whose hash is not in ``keep``: texts no
        account or note uses any more. Return how many rows were deleted."""

    def judgements(
        self, model_id: str, account_hash: str, items: Collection[str] | None = None
    ) -> dict[str, bytes]:
        """Item id -> the logit judge ``model_id`` gave the pair of that item and the account
        text whose SHA-256 (hex) is ``account_hash`` (4 bytes: see
        :mod:`generator.relevance.judge`); items it has not judged are absent. ``items``: only
        those items' (a worker asking about a few stories of an account text with thousands)."""

    def save_judgements(self, model_id: str, logits: Mapping[tuple[str, str], bytes]) -> None:
        """Save (account hash, item id) -> logit bytes for ``model_id`` in one transaction. A
        pair judged already keeps its stored logit (the judge gives a pair the same logit
        whoever asks); a judgement of an item that is not stored (pruned meanwhile) is dropped,
        and pruning an item deletes its judgements."""

    def prune_judgements(self, keep: Collection[str], judge: str | None = None) -> int:
        """Delete the judgements (of every judge) of account texts whose hash is not in
        ``keep``: texts no account has any more; with ``judge`` (a model id), every other
        judge's too (an earlier version's, never read again). Return how many rows were
        deleted."""

    def newsletter_sent(self, week: str) -> set[str]:
        """The recipients (as recorded, lowercased) the issue of ``week`` was sent to."""

    def record_newsletter_sent(
        self, week: str, recipient: str, message_id: str, sent_at: datetime
    ) -> None:
        """Record one delivered message, in its own transaction, as soon as the server took it."""

    def info(self) -> StoreInfo:
        """Backend, URL (password masked), schema version and row counts."""

    def dump(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every row of every table as (table, row), in a stable order (``kb store export``)."""

    def load(self, rows: Iterable[tuple[str, dict[str, Any]]], *, merge: bool = False) -> int:
        """Insert dumped rows in one transaction (``kb store import``); return how many."""

    def close(self) -> None: ...


def open_store(where: Path | StoreLocation) -> Store:
    """Open (creating or migrating) the store at a location, or SQLite in a state folder."""
    from .location import StoreLocation, sqlite_location
    from .sql import SqlStore

    location = where if isinstance(where, StoreLocation) else sqlite_location(where / "kb.sqlite")
    return SqlStore(location)


def open_for_reading(state_dir: Path) -> Store:
    """The state folder's SQLite store for a run that mostly reads (``kb digest``): its reads
    on the standard library's ``sqlite3``, without SQLAlchemy (see :mod:`.reads`)."""
    from .reads import open_reading

    return open_reading(state_dir / "kb.sqlite", lambda: open_store(state_dir))


__all__ = [
    "Store",
    "StoreInfo",
    "StoreLocation",
    "open_for_reading",
    "open_store",
    "parse_location",
]
