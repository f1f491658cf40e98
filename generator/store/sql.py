"""The store on SQLAlchemy Core: one query layer for SQLite and PostgreSQL, SQL and nothing else.

Writes are serialised, so every decision taken inside one (is this entry new? is this item
already sent to the account?) is taken as if the run were alone: SQLite takes its write lock at
``BEGIN IMMEDIATE`` (WAL mode, a long busy timeout); PostgreSQL takes a transaction-level
advisory lock first thing. Unique keys back that up (``ON CONFLICT DO NOTHING``), so an item is
stored once and an item is recorded as first sent to an account once, whatever the timing.

Two reps building a digest for the same account at the same moment: **the first to record an
item as sent wins**. :meth:`SqlStore.record_sent` returns the items it really recorded; an item
another run recorded first (at another moment) is left out of this run's history, and the caller
tells the rep. Runs at the very same moment (the same ``--now``) are one send.

Every call runs inside :meth:`SqlStore._errors`: whatever the driver raises reaches the caller as
one :class:`StoreError` naming the store (never its password).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Select,
    Table,
    case,
    delete,
    exists,
    func,
    inspect,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from ..exceptions import StoreError
from ..models import EntryData, Feed, FeedState, FeedUpdate, Item, SentRecord
from . import schema as s
from .engines import make_engine
from .location import StoreLocation
from .lookups import chunks, known_entries, same_title_candidates, stored_item_ids, was_pruned
from .rows import categories, exported, feed_state, feed_updates, imported, iso, item_row
from .stories import add_candidate, pick_same_story, stamp

DATABASE_ERRORS = (SQLAlchemyError, sqlite3.Error)
WRITE_LOCK = 0x6B62_5354  # "kbST": the advisory lock that serialises writes on PostgreSQL


@dataclass(frozen=True)
class StoreInfo:
    """What ``kb store info`` shows."""

    backend: str
    url: str
    version: int
    counts: dict[str, int]


class SqlStore:
    """The :class:`~generator.store.Store` on SQLite or PostgreSQL (see the module docstring)."""

    def __init__(self, location: StoreLocation) -> None:
        self.location = location
        self.name = location.shown
        self.backend = location.backend
        with self._errors("cannot open the store"):
            self.engine = make_engine(location)
            self._db = self.engine.connect()
        try:
            self._migrate()
        except BaseException:
            with suppress(StoreError):
                self.close()
            raise

    # --- the boundary: errors, transactions, schema --------------------------------------

    @contextmanager
    def _errors(
        self, doing: str, foreign: tuple[type[BaseException], ...] = (*DATABASE_ERRORS, OSError)
    ) -> Iterator[None]:
        """Wrap whatever the driver raises as one StoreError naming the store, password masked."""
        try:
            yield
        except StoreError:
            raise
        except foreign as e:
            raise StoreError(f"{doing} {self.name}: {self._reason(e)}") from e

    def _reason(self, error: BaseException) -> str:
        cause = error.orig if isinstance(error, DBAPIError) and error.orig else error
        lines = [line.strip() for line in str(cause).strip().splitlines() if line.strip()]
        return self.location.mask(lines[0] if lines else type(cause).__name__)

    @contextmanager
    def _write(self, doing: str) -> Iterator[Connection]:
        """One write transaction, serialised with every other writer of this store."""
        with self._errors(doing):
            if self.backend == "postgresql":
                self._db.exec_driver_sql("BEGIN")
                self._db.execute(select(func.pg_advisory_xact_lock(WRITE_LOCK)))
            else:
                self._db.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                with suppress(*DATABASE_ERRORS):
                    self._db.exec_driver_sql("ROLLBACK")
                raise
            self._db.exec_driver_sql("COMMIT")

    @contextmanager
    def _read(
        self, doing: str = "cannot read", *, only_database: bool = False
    ) -> Iterator[Connection]:
        """One snapshot for reads that take several statements. ``only_database``: wrap only the
        database's errors (a generator's consumer may raise its own, such as a full disk)."""
        with self._errors(doing, DATABASE_ERRORS if only_database else (*DATABASE_ERRORS, OSError)):
            if self.backend == "postgresql":
                self._db.exec_driver_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            else:
                self._db.exec_driver_sql("BEGIN")
            try:
                yield self._db
            finally:
                with suppress(*DATABASE_ERRORS):
                    self._db.exec_driver_sql("COMMIT")

    def _migrate(self) -> None:
        with self._write("cannot open the store") as db:
            version = self._version(db)
            if version > s.VERSION:
                raise StoreError(
                    f"store {self.name} has schema version {version},"
                    f" this kb knows up to {s.VERSION}: upgrade kb"
                )
            if version == 0:
                s.metadata.create_all(db)
                self._set_version(db, s.VERSION)
            for number in range(version + 1, s.VERSION + 1) if version else ():
                s.MIGRATIONS[number - 1](db)
                self._set_version(db, number)

    def _version(self, db: Connection) -> int:
        if self.backend == "sqlite":
            return int(db.exec_driver_sql("PRAGMA user_version").scalar_one())
        if not inspect(db).has_table(s.schema_version.name):
            return 0
        stored = select(func.coalesce(func.max(s.schema_version.c.version), 0))
        return int(db.execute(stored).scalar_one())

    def _set_version(self, db: Connection, number: int) -> None:
        if self.backend == "sqlite":
            db.exec_driver_sql(f"PRAGMA user_version = {int(number)}")
            return
        s.schema_version.create(db, checkfirst=True)
        db.execute(s.schema_version.delete())
        db.execute(s.schema_version.insert().values(version=number))

    def _insert(self, table: Table) -> Any:
        """The dialect's INSERT, which knows ``ON CONFLICT``."""
        return (postgresql if self.backend == "postgresql" else sqlite).insert(table)

    def close(self) -> None:
        with self._errors("cannot close"):
            self._db.close()
            self.engine.dispose()

    # --- feeds -------------------------------------------------------------------------

    def sync_feeds(self, feeds: Sequence[Feed]) -> None:
        f = s.feeds
        insert = self._insert(f)
        same = f.c.url == insert.excluded.url

        def kept(column: Column[Any], reset: Any) -> Any:
            return case((same, column), else_=reset)

        upsert = insert.on_conflict_do_update(
            index_elements=[f.c.name],
            set_={
                "etag": kept(f.c.etag, ""),
                "last_modified": kept(f.c.last_modified, ""),
                "next_fetch": kept(f.c.next_fetch, None),
                "moved_to": kept(f.c.moved_to, ""),
                "discovered": kept(f.c.discovered, ""),
                "url": insert.excluded.url,
            },
        )
        if feeds:
            with self._write("cannot save the feeds in") as db:
                db.execute(upsert, [{"name": feed.name, "url": feed.url} for feed in feeds])

    def _feeds_query(self) -> Select[Any]:
        count = (
            select(func.count())
            .where(s.item_sources.c.feed == s.feeds.c.name)
            .scalar_subquery()
            .label("n")
        )
        return select(s.feeds, count)

    def feed_states(self) -> list[FeedState]:
        with self._errors("cannot read"):
            rows = self._db.execute(self._feeds_query().order_by(s.feeds.c.name)).mappings()
            return [feed_state(row) for row in rows]

    def feed_state(self, name: str) -> FeedState | None:
        with self._errors("cannot read"):
            query = self._feeds_query().where(s.feeds.c.name == name)
            row = self._db.execute(query).mappings().first()
            return feed_state(row) if row else None

    def save_update(self, update: FeedUpdate) -> int:
        return self.save_updates([update])[0]

    def save_updates(self, updates: Sequence[FeedUpdate]) -> list[int]:
        if not updates:
            return []
        doing = (
            f"cannot save feed {updates[0].name} in"
            if len(updates) == 1
            else f"cannot save {len(updates)} feeds' fetch results in"
        )
        with self._write(doing) as db:
            new = self._save_entries(db, updates)
            for statement, rows in feed_updates(updates):
                db.execute(statement, rows)
            return new

    def _save_entries(self, db: Connection, updates: Sequence[FeedUpdate]) -> list[int]:
        """Store the entries of ``updates``, in their order; return how many items each made.

        A handful of statements, whatever the number of feeds and entries: what is stored
        already is looked up for the whole batch at once, and what this call stores is tracked
        as it goes, so the decisions are those of storing the feeds one by one, entry by entry
        (``tests/test_store.py`` checks this by Hypothesis).
        """
        entries = [e for update in updates for e in update.entries]
        for entry in entries:
            if entry.published_at is None:
                raise ValueError(f"entry {entry.id} was not keyed (generator.update.keyed)")
        if not entries:
            return [0] * len(updates)
        tombstones = bool(db.execute(select(exists(s.pruned.select()))).scalar())
        feeds = sorted({e.feed for e in entries})
        attached = known_entries(db, feeds, list(dict.fromkeys(e.id for e in entries)))
        fresh = [
            (e, e.title_key, e.published_at or update.fetched_at)
            for update in updates
            for e in update.entries
            if (e.feed, e.id) not in attached
        ]
        if not fresh:
            return [0] * len(updates)
        stored_ids = stored_item_ids(db, list(dict.fromkeys(e.id for e, _, _ in fresh)))
        candidates, owned = same_title_candidates(db, feeds, fresh)
        items: list[dict[str, str]] = []
        sources: list[dict[str, str]] = []
        new: list[int] = []
        for update in updates:
            made = len(items)
            seen_iso = stamp(update.fetched_at)
            for entry in by_feed(update.entries):  # as one by one: a feed's entries together
                feed, title_key = entry.feed, entry.title_key
                published = entry.published_at or update.fetched_at
                if (feed, entry.id) in attached:
                    continue
                if tombstones and was_pruned(db, entry, title_key, published):
                    continue
                taken = owned.setdefault(feed, set())  # items with a source from ``feed``
                item_id = pick_same_story(
                    entry.id, title_key, published, stored_ids, candidates, taken
                )
                if item_id is None:
                    item_id = entry.id
                    stored_ids.add(item_id)
                    items.append(item_row(entry, title_key, published, seen_iso))
                    add_candidate(candidates, title_key, items[-1]["published"], item_id)
                attached.add((feed, entry.id))
                taken.add(item_id)
                sources.append(
                    {"item_id": item_id, "feed": feed, "entry_id": entry.id,
                     "first_seen": seen_iso}
                )  # fmt: skip
            new.append(len(items) - made)
        self._insert_new(db, s.items, items)
        self._insert_new(db, s.item_sources, sources)
        return new

    def _insert_new(self, db: Connection, table: Table, rows: list[dict[str, str]]) -> None:
        """``INSERT ... ON CONFLICT DO NOTHING`` of many rows of plain text values, straight
        through the driver's ``executemany``: SQLAlchemy's handling of each row's parameters
        costs about as much as the database's insert (a first fetch stores 10,000 items)."""
        if not rows:
            return
        columns = list(rows[0])
        mark = "%s" if self.backend == "postgresql" else "?"
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)})"
            f" VALUES ({', '.join([mark] * len(columns))}) ON CONFLICT DO NOTHING"
        )
        db.exec_driver_sql(sql, [tuple(row[c] for c in columns) for row in rows])

    # --- items -------------------------------------------------------------------------

    def items(
        self,
        *,
        since: datetime | None = None,
        feeds: Sequence[str] = (),
        limit: int | None = None,
    ) -> list[Item]:
        i, src = s.items, s.item_sources
        chosen = select(i.c.id)
        if since is not None:
            chosen = chosen.where(i.c.published >= iso(since))
        if feeds:
            chosen = chosen.where(i.c.id.in_(select(src.c.item_id).where(src.c.feed.in_(feeds))))
        if limit is not None:
            chosen = chosen.order_by(i.c.published.desc(), i.c.id).limit(limit)
        everything = since is None and not feeds and limit is None
        found_items = select(i).order_by(i.c.published.desc(), i.c.id)
        sources = select(src.c.item_id, src.c.feed).order_by(src.c.first_seen, src.c.feed)
        if not everything:  # all items (what ranking reads) need no filter at all
            found_items = found_items.where(i.c.id.in_(chosen))
            sources = sources.where(src.c.item_id.in_(chosen))
        with self._read() as db:
            found = db.execute(found_items).mappings().all()  # fetchall: one call, not one a row
            by_item: dict[str, list[str]] = {}
            for item_id, feed in db.execute(sources).all():
                by_item.setdefault(item_id, []).append(feed)
        return [
            Item(
                id=row["id"],
                url=row["url"],
                title=row["title"],
                summary=row["summary"],
                summary_html=row["summary_html"],
                published=datetime.fromisoformat(row["published"]),
                first_seen=datetime.fromisoformat(row["first_seen"]),
                sources=tuple(by_item.get(row["id"], ())),
                author=row["author"],
                categories=categories(row["categories"]),
            )
            for row in found
        ]

    def prune(self, before: datetime) -> int:
        """Tombstone, then delete, in one transaction: never one without the other."""
        cutoff = stamp(before)
        i, src, p = s.items, s.item_sources, s.pruned
        old = select(i.c.id).where(i.c.published < cutoff)
        tombstones = (
            select(
                func.coalesce(src.c.feed, ""),
                func.coalesce(src.c.entry_id, i.c.id),
                i.c.id,
                i.c.url,
                i.c.title_key,
                i.c.published,
                literal(cutoff, s.Str()),
            )
            .select_from(i.outerjoin(src, src.c.item_id == i.c.id))
            .where(i.c.published < cutoff)
        )
        insert = self._insert(p).from_select(
            ["feed", "entry_id", "item_id", "url", "title_key", "published", "cutoff"], tombstones
        )
        replace = insert.on_conflict_do_update(
            index_elements=[p.c.feed, p.c.entry_id],
            set_={name: insert.excluded[name] for name in
                  ("item_id", "url", "title_key", "published", "cutoff")},
        )  # fmt: skip
        with self._write("cannot prune") as db:
            db.execute(replace)
            for child in s.ITEM_CHILDREN:
                db.execute(delete(child).where(child.c.item_id.in_(old)))
            return db.execute(delete(i).where(i.c.published < cutoff)).rowcount

    # --- item vectors (sentence embeddings, per model) -------------------------------------

    def items_state(self, model_id: str) -> tuple[str, str]:
        """Fingerprints of the stored items with their sources, and of their ``model_id``
        vectors: each changes when a row is added or removed (items and sources are only ever
        inserted or pruned, never edited). A few aggregates, not a read of every row."""
        i, src, v = s.items, s.item_sources, s.item_vectors
        queries = [
            select(
                func.count(),
                func.min(i.c.id),
                func.max(i.c.id),
                func.max(i.c.first_seen),
                func.sum(func.length(i.c.id)),
                func.sum(func.length(i.c.title)),
            ),
            select(func.count(), func.max(src.c.first_seen), func.sum(func.length(src.c.feed))),
            select(func.count(), func.sum(func.length(v.c.item_id))).where(v.c.model == model_id),
        ]
        with self._read() as db:
            rows = [tuple(db.execute(q).one()) for q in queries]
        return repr(rows[:2]), repr(rows[2])

    def item_vectors(self, model_id: str, item_ids: Sequence[str]) -> dict[str, bytes]:
        return self._vectors(s.item_vectors.c.item_id, model_id, item_ids)

    def _vectors(self, key: Column[str], model_id: str, keys: Sequence[str]) -> dict[str, bytes]:
        """key -> vector bytes of ``model_id`` in the vectors table of column ``key``."""
        model, vector = key.table.c.model, key.table.c.vector
        found: dict[str, bytes] = {}
        with self._read() as db:
            for chunk in chunks(list(dict.fromkeys(keys))):
                query = select(key, vector).where(model == model_id, key.in_(chunk))
                found.update((k, bytes(v)) for k, v in db.execute(query))
        return found

    def save_item_vectors(self, model_id: str, vectors: Mapping[str, bytes]) -> None:
        """Store (or replace) vectors of stored items; a vector of an unknown item is dropped."""
        if not vectors:
            return
        with self._write("cannot save item vectors in") as db:
            known = stored_item_ids(db, sorted(vectors))
            self._save_vectors(db, s.item_vectors.c.item_id, model_id, vectors, sorted(known))

    def _save_vectors(
        self,
        db: Connection,
        key: Column[str],
        model_id: str,
        vectors: Mapping[str, bytes],
        keys: Sequence[str],
    ) -> None:
        """Insert or replace the vectors of ``keys`` in the vectors table of column ``key``."""
        insert = self._insert(key.table)
        upsert = insert.on_conflict_do_update(
            index_elements=[key.table.c.model, key],
            set_={"vector": insert.excluded.vector},
        )
        rows = [{"model": model_id, key.name: k, "vector": vectors[k]} for k in keys]
        if rows:
            db.execute(upsert, rows)

    # --- text vectors (account and note texts, per model, by the text's SHA-256) ----------

    def text_vectors(self, model_id: str, hashes: Sequence[str]) -> dict[str, bytes]:
        return self._vectors(s.text_vectors.c.text_hash, model_id, hashes)

    def save_text_vectors(self, model_id: str, vectors: Mapping[str, bytes]) -> None:
        if not vectors:
            return
        with self._write("cannot save text vectors in") as db:
            self._save_vectors(db, s.text_vectors.c.text_hash, model_id, vectors, sorted(vectors))

    def prune_text_vectors(self, keep: Collection[str]) -> int:
        """Delete the vectors of every text whose hash is not in ``keep`` (any model)."""
        t = s.text_vectors
        wanted = set(keep)
        with self._write("cannot prune text vectors in") as db:
            stored = set(db.execute(select(t.c.text_hash).distinct()).scalars())
            gone = sorted(stored - wanted)
            removed = 0
            for chunk in chunks(gone):
                removed += db.execute(delete(t).where(t.c.text_hash.in_(chunk))).rowcount
            return removed

    # --- the judge's logits (per judge, account text and item) -----------------------------

    def judgements(
        self, model_id: str, account_hash: str, items: Collection[str] | None = None
    ) -> dict[str, bytes]:
        j = s.judgements
        query = select(j.c.item_id, j.c.logit).where(
            j.c.model == model_id, j.c.account_hash == account_hash
        )
        with self._read() as db:
            if items is None:
                return {item: bytes(logit) for item, logit in db.execute(query)}
            return {
                item: bytes(logit)
                for chunk in chunks(sorted(set(items)))
                for item, logit in db.execute(query.where(j.c.item_id.in_(chunk)))
            }

    def save_judgements(self, model_id: str, logits: Mapping[tuple[str, str], bytes]) -> None:
        if not logits:
            return
        with self._write("cannot save judgements in") as db:
            known = stored_item_ids(db, sorted({item for _, item in logits}))
            rows = [
                {"model": model_id, "account_hash": account, "item_id": item, "logit": logit}
                for (account, item), logit in sorted(logits.items())
                if item in known
            ]
            if rows:
                db.execute(self._insert(s.judgements).on_conflict_do_nothing(), rows)

    def prune_judgements(self, keep: Collection[str], judge: str | None = None) -> int:
        j = s.judgements
        wanted = set(keep)
        with self._write("cannot prune judgements in") as db:
            stored = set(db.execute(select(j.c.account_hash).distinct()).scalars())
            removed = 0
            for chunk in chunks(sorted(stored - wanted)):
                removed += db.execute(delete(j).where(j.c.account_hash.in_(chunk))).rowcount
            if judge is not None:
                removed += db.execute(delete(j).where(j.c.model != judge)).rowcount
            return removed

    # --- what was sent -----------------------------------------------------------------

    def record_sent(
        self, account: str, items: Sequence[Item], sent_at: datetime, fmt: str
    ) -> list[str]:
        """Record ``items`` as sent to ``account``; return the ids really recorded, in order.

        The first run to record an item for an account wins (see the module docstring): an item
        recorded earlier by a run at another moment is not recorded again.
        """
        by_id = {item.id: item for item in items}
        if not by_id:
            return []
        when = stamp(sent_at)
        first = s.sent_first
        with self._write("cannot record what was sent in") as db:
            claims = [{"account": account, "item_id": i, "sent_at": when} for i in by_id]
            db.execute(self._insert(first).on_conflict_do_nothing(), claims)
            ours: set[str] = set()
            for chunk in chunks(list(by_id)):
                ours.update(
                    db.execute(
                        select(first.c.item_id).where(
                            first.c.account == account,
                            first.c.sent_at == when,
                            first.c.item_id.in_(chunk),
                        )
                    ).scalars()
                )
            recorded = [item_id for item_id in by_id if item_id in ours]
            rows = [
                {"account": account, "item_id": item_id, "url": by_id[item_id].url,
                 "title": by_id[item_id].title, "sent_at": when, "format": fmt}
                for item_id in recorded
            ]  # fmt: skip
            if rows:
                db.execute(self._insert(s.sent).on_conflict_do_nothing(), rows)
        return recorded

    def history(self, account: str) -> list[SentRecord]:
        t = s.sent
        query = (
            select(t)
            .where(t.c.account == account)
            .order_by(t.c.sent_at.desc(), t.c.format, t.c.title, t.c.item_id)
        )
        with self._errors("cannot read"):
            rows = self._db.execute(query).mappings()
            return [
                SentRecord(
                    account=row["account"],
                    item_id=row["item_id"],
                    url=row["url"],
                    title=row["title"],
                    sent_at=datetime.fromisoformat(row["sent_at"]),
                    format=row["format"],
                )
                for row in rows
            ]

    # --- the newsletter's delivery ledger ----------------------------------------------

    def newsletter_sent(self, week: str) -> set[str]:
        n = s.newsletter_sent
        with self._errors("cannot read"):
            query = select(n.c.recipient).where(n.c.week == week).distinct()
            return set(self._db.execute(query).scalars())

    def record_newsletter_sent(
        self, week: str, recipient: str, message_id: str, sent_at: datetime
    ) -> None:
        row = {"week": week, "recipient": recipient.casefold(), "message_id": message_id,
               "sent_at": stamp(sent_at)}  # fmt: skip
        with self._write("cannot record the newsletter's delivery in") as db:
            db.execute(self._insert(s.newsletter_sent).on_conflict_do_nothing(), row)

    # --- the whole store: info, export, import ---------------------------------------------

    def info(self) -> StoreInfo:
        with self._read() as db:
            counts = {
                t.name: int(db.execute(select(func.count()).select_from(t)).scalar_one())
                for t in s.TABLES
            }
            version = self._version(db)
        return StoreInfo(self.backend, self.name, version, counts)

    def dump(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every row of every table, tables in :data:`schema.TABLES` order, rows by key."""
        with self._read("cannot export", only_database=True) as db:
            for table in s.TABLES:
                key = [c for c in table.primary_key.columns]
                for row in db.execute(select(table).order_by(*key)).mappings():
                    yield table.name, {c.name: exported(c, row[c.name]) for c in table.columns}

    def load(self, rows: Iterable[tuple[str, dict[str, Any]]], *, merge: bool = False) -> int:
        """Insert exported rows in one transaction; return how many were read.

        Into an empty store unless ``merge``: then a row whose key is already stored keeps the
        stored one.
        """
        tables = {t.name: t for t in s.TABLES}
        total = 0
        with self._write("cannot import into") as db:
            if not merge:
                full = [t.name for t in s.TABLES if db.execute(select(exists(t.select()))).scalar()]
                if full:
                    raise StoreError(
                        f"store {self.name} is not empty ({', '.join(full)}): import into an"
                        " empty store, or pass --merge to keep what it holds and add the rest"
                    )
            batch: list[dict[str, Any]] = []
            current: Table | None = None
            for name, row in rows:
                table = tables[name]
                if table is not current or len(batch) >= 1000:
                    self._flush(db, current, batch)
                    current, batch = table, []
                batch.append({c.name: imported(c, row[c.name]) for c in table.columns})
                total += 1
            self._flush(db, current, batch)
        self.analyze()
        return total

    def analyze(self) -> None:
        """Refresh the query planner's statistics, as after any bulk load (``pg_restore`` docs).

        Without them PostgreSQL plans a freshly filled table as nearly empty, and the same-title
        lookup of :meth:`save_update` slows as the table grows until autovacuum next analyses
        it (60,000 items stored feed by feed: 31 s without, 19 s with statistics).
        """
        with self._errors("cannot analyse"):
            self._db.exec_driver_sql("ANALYZE")

    def _flush(self, db: Connection, table: Table | None, batch: list[dict[str, Any]]) -> None:
        if table is not None and batch:
            db.execute(self._insert(table).on_conflict_do_nothing(), batch)


def by_feed(entries: Sequence[EntryData]) -> list[EntryData]:
    """``entries`` grouped by feed, feeds in order of first appearance (an update holds one
    feed's entries, but nothing in the store relies on it)."""
    groups: dict[str, list[EntryData]] = {}
    for entry in entries:
        groups.setdefault(entry.feed, []).append(entry)
    return [entry for group in groups.values() for entry in group]


__all__ = ["SqlStore", "StoreInfo"]
