"""The store: the only place that knows about SQL. Callers see the :class:`Store` protocol.

SQLite (:mod:`.sqlite`) is the default; another backend (PostgreSQL for teams) implements the same
protocol and is chosen by :func:`open_store`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from ..models import Feed, FeedState, FeedUpdate, Item, SentRecord


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
    ) -> None: ...

    def history(self, account: str) -> list[SentRecord]:
        """What was sent to ``account``, newest first."""

    def prune(self, before: datetime) -> int:
        """Delete items published before ``before``; return how many.

        The only way items leave the store (``kb prune``). What was sent keeps its own copy of
        the title and URL, so an account's history survives its items being pruned. Each pruned
        item leaves a tombstone, written in the same transaction, so no feed stores the story
        again while it is older than ``before``.
        """

    def item_vectors(self, model_id: str, item_ids: Sequence[str]) -> dict[str, bytes]:
        """The stored vectors of ``item_ids`` made by encoder ``model_id`` (name@version); items
        without one are absent. A vector is the encoder's row as little-endian float32 bytes
        (see :mod:`generator.relevance.semantic`); the store keeps the bytes as given."""

    def save_item_vectors(self, model_id: str, vectors: Mapping[str, bytes]) -> None:
        """Save item id -> vector bytes for ``model_id`` in one transaction, replacing older ones.

        A vector whose item is not stored (pruned meanwhile) is dropped; pruning an item deletes
        its vectors in the same transaction.
        """

    def newsletter_sent(self, week: str) -> set[str]:
        """The recipients (as recorded, lowercased) the issue of ``week`` was sent to."""

    def record_newsletter_sent(
        self, week: str, recipient: str, message_id: str, sent_at: datetime
    ) -> None:
        """Record one delivered message, in its own transaction, as soon as the server took it."""

    def close(self) -> None: ...


def open_store(state_dir: Path) -> Store:
    from .sqlite import SqliteStore

    return SqliteStore(state_dir / "kb.sqlite")


__all__ = ["Store", "open_store"]
