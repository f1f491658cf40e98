"""The store's tables, once for every backend, and the numbered migrations that reach them.

Times are ISO 8601 text in UTC (``2026-11-16T09:00:00+00:00``) on every backend: they sort as
text in time order, compare the same everywhere, and an export is the same bytes whichever
backend wrote it. Text is compared byte by byte (PostgreSQL's ``C`` collation, SQLite's default
``BINARY``), so ``ORDER BY`` gives the same order on both whatever the server's locale.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    Column,
    Connection,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from .version import VERSION as VERSION


class Str(TypeDecorator[str]):
    """Text compared byte by byte on every backend (see the module docstring)."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[str]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Text(collation="C"))
        return dialect.type_descriptor(Text())


def _text(name: str, *, default: str | None = "", nullable: bool = False) -> Column[str]:
    server_default = None if default is None else text(f"'{default}'")
    return Column(name, Str(), nullable=nullable, server_default=server_default)


def _moment(name: str, *, nullable: bool = False) -> Column[str]:
    return Column(name, Str(), nullable=nullable)


metadata = MetaData()

feeds = Table(
    "feeds",
    metadata,
    Column("name", Str(), primary_key=True),
    _text("url", default=None),
    _text("status", default="new"),
    _moment("last_fetch", nullable=True),
    _moment("last_success", nullable=True),
    Column("failures", Integer, nullable=False, server_default=text("0")),
    _moment("next_fetch", nullable=True),
    _text("last_error"),
    _text("etag"),
    _text("last_modified"),
    _text("moved_to"),
    _text("discovered"),
)

items = Table(
    "items",
    metadata,
    Column("id", Str(), primary_key=True),
    _text("url", default=None),
    _text("title", default=None),
    _text("title_key", default=None),
    _text("summary", default=None),
    _text("summary_html", default=None),
    _moment("published"),
    _moment("first_seen"),
    _text("author"),
    _text("categories", default="[]"),
    Index("items_published", text("published DESC"), "id"),
    Index("items_title_key", "title_key"),
)

item_sources = Table(
    "item_sources",
    metadata,
    Column("item_id", Str(), nullable=False),
    _text("feed", default=None),
    _text("entry_id", default=None),
    _moment("first_seen"),
    PrimaryKeyConstraint("item_id", "feed"),
    Index("item_sources_feed", "feed"),
    Index("item_sources_entry", "feed", "entry_id", unique=True),
)

sent = Table(
    "sent",
    metadata,
    _text("account", default=None),
    _text("item_id", default=None),
    _text("url", default=None),
    _text("title", default=None),
    _moment("sent_at"),
    _text("format", default=None),
    PrimaryKeyConstraint("account", "item_id", "format", "sent_at"),
    Index("sent_account", "account", text("sent_at DESC")),
)

# The first send of an item to an account: one row per (account, item), whoever records it
# first. Every format of that send (same ``sent_at``) is then recorded in ``sent``; another run
# that recorded later finds the item taken and records nothing for it.
sent_first = Table(
    "sent_first",
    metadata,
    _text("account", default=None),
    _text("item_id", default=None),
    _moment("sent_at"),
    PrimaryKeyConstraint("account", "item_id"),
)

pruned = Table(
    "pruned",
    metadata,
    _text("feed", default=None),
    _text("entry_id", default=None),
    _text("item_id", default=None),
    _text("url", default=None),
    _text("title_key", default=None),
    _moment("published"),
    _moment("cutoff"),
    PrimaryKeyConstraint("feed", "entry_id"),
    Index("pruned_item", "item_id"),
    Index("pruned_url", "url"),
    Index("pruned_title_key", "title_key"),
)

# Each item's sentence vector per encoder (``model``: name@version), deleted with its item.
item_vectors = Table(
    "item_vectors",
    metadata,
    _text("item_id", default=None),
    _text("model", default=None),
    Column("vector", LargeBinary, nullable=False),
    PrimaryKeyConstraint("model", "item_id"),
    Index("item_vectors_item", "item_id"),
)

# Sentence vectors of texts that are not items (an account's problems, field and stakeholders'
# concerns, the team's notes), per encoder, keyed by the SHA-256 of the exact text: embedded once
# ever, whatever account or run needs them; ``kb prune`` drops those no account or note uses.
text_vectors = Table(
    "text_vectors",
    metadata,
    _text("model", default=None),
    _text("text_hash", default=None),
    Column("vector", LargeBinary, nullable=False),
    PrimaryKeyConstraint("model", "text_hash"),
    Index("text_vectors_hash", "text_hash"),
)

# The judge's logits (see generator.relevance.judge), per judge (``model``: its weights and how it
# reads a pair), account text (the SHA-256 of what it reads of the account) and item: a pair is
# judged once, whichever run or account needs it. A logit is 4 bytes, a little-endian float32,
# exactly as the judge gave it; deleted with its item.
judgements = Table(
    "judgements",
    metadata,
    _text("model", default=None),
    _text("account_hash", default=None),
    _text("item_id", default=None),
    Column("logit", LargeBinary, nullable=False),
    PrimaryKeyConstraint("model", "account_hash", "item_id"),
    Index("judgements_item", "item_id"),
)

# The newsletter's delivery ledger: one row per message the SMTP server accepted, so a failed
# send resumes where it stopped and a second send sends nothing (a resend has its own Message-ID).
newsletter_sent = Table(
    "newsletter_sent",
    metadata,
    _text("week", default=None),
    _text("recipient", default=None),
    _text("message_id", default=None),
    _moment("sent_at"),
    PrimaryKeyConstraint("week", "recipient", "message_id"),
)

# Deleting an item deletes what hangs off it. Written as a statement, not as a foreign key,
# because SQLite stores of schema 1-3 have a foreign key only on item_sources and SQLite cannot
# add one to an existing table; see :func:`generator.store.sql.SqlStore.prune`.
ITEM_CHILDREN = (item_sources, item_vectors, judgements)

# Tables in the order an export lists them and an import fills them; each sorted by its key.
TABLES = (
    feeds,
    items,
    item_sources,
    item_vectors,
    text_vectors,
    judgements,
    pruned,
    sent_first,
    sent,
    newsletter_sent,
)


def _v1(conn: Connection) -> None:
    """Schema 1 as SQLite stores wrote it; a new store is created at the latest version."""
    raise AssertionError("a store at schema 0 is created afresh, never migrated from 1")


def _v2_tombstones(conn: Connection) -> None:
    """2: tombstones, so ``kb prune`` is not undone by the next fetch of a feed that still
    lists what was pruned (one row per (feed, entry) the pruned item was reached through)."""
    pruned.create(conn)


def _v3_discovered(conn: Connection) -> None:
    """3: the feed an HTML page pointed to, fetched directly on later runs."""
    conn.execute(text("ALTER TABLE feeds ADD COLUMN discovered TEXT NOT NULL DEFAULT ''"))


def _v4_newsletter(conn: Connection) -> None:
    """4: the newsletter's delivery ledger."""
    newsletter_sent.create(conn)


def _v5_vectors(conn: Connection) -> None:
    """5: each item's sentence vector, per encoder (name@version), deleted with its item."""
    item_vectors.create(conn)


def _v6_first_sends(conn: Connection) -> None:
    """6: the shared store: one first send per (account, item), whoever records it first."""
    sent_first.create(conn)
    conn.execute(
        text(
            """INSERT INTO sent_first (account, item_id, sent_at)
               SELECT account, item_id, min(sent_at) FROM sent GROUP BY account, item_id"""
        )
    )


def _v7_text_vectors(conn: Connection) -> None:
    """7: sentence vectors of account and note texts, per encoder, by the text's SHA-256."""
    text_vectors.create(conn)


def _v8_judgements(conn: Connection) -> None:
    """8: the judge's logits, per judge, account text and item, deleted with their item."""
    judgements.create(conn)


MIGRATIONS: tuple[Callable[[Connection], None], ...] = (
    _v1,
    _v2_tombstones,
    _v3_discovered,
    _v4_newsletter,
    _v5_vectors,
    _v6_first_sends,
    _v7_text_vectors,
    _v8_judgements,
)
if len(MIGRATIONS) != VERSION:  # pragma: no cover - a new migration without its number
    raise RuntimeError(f"store/version.py says {VERSION}, there are {len(MIGRATIONS)} migrations")

# Where PostgreSQL keeps the version (SQLite uses ``PRAGMA user_version``, as stores 1-3 did).
schema_version = Table("kb_schema_version", MetaData(), Column("version", Integer, nullable=False))
