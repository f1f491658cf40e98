"""The SQLite store: SQL and nothing else.

Concurrency and crashes: the database runs in WAL mode with a busy timeout, and every write is a
single ``BEGIN IMMEDIATE`` transaction, so a killed run leaves either all or none of a feed's
update, and two runs at once wait for each other instead of corrupting anything.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..exceptions import StoreError
from ..models import EntryData, Feed, FeedState, FeedUpdate, Item, SentRecord

SAME_STORY_WINDOW = timedelta(days=3)

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE feeds (
        name TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'new',
        last_fetch TEXT,
        last_success TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        next_fetch TEXT,
        last_error TEXT NOT NULL DEFAULT '',
        etag TEXT NOT NULL DEFAULT '',
        last_modified TEXT NOT NULL DEFAULT '',
        moved_to TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE items (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        title TEXT NOT NULL,
        title_key TEXT NOT NULL,
        summary TEXT NOT NULL,
        summary_html TEXT NOT NULL,
        published TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        author TEXT NOT NULL DEFAULT '',
        categories TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX items_published ON items (published DESC, id);
    CREATE INDEX items_title_key ON items (title_key);
    CREATE TABLE item_sources (
        item_id TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
        feed TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        PRIMARY KEY (item_id, feed)
    );
    CREATE INDEX item_sources_feed ON item_sources (feed);
    CREATE UNIQUE INDEX item_sources_entry ON item_sources (feed, entry_id);
    CREATE TABLE sent (
        account TEXT NOT NULL,
        item_id TEXT NOT NULL,
        url TEXT NOT NULL,
        title TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        format TEXT NOT NULL,
        PRIMARY KEY (account, item_id, format, sent_at)
    );
    CREATE INDEX sent_account ON sent (account, sent_at DESC);
    """,
    # 2: tombstones, so that ``kb prune`` is not undone by the next fetch of a feed that still
    # lists what was pruned. One row per (feed, entry) the pruned item was reached through, with
    # the item's id, URL and title key so that no *other* feed brings the same story back either.
    """
    CREATE TABLE pruned (
        feed TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        url TEXT NOT NULL,
        title_key TEXT NOT NULL,
        published TEXT NOT NULL,
        cutoff TEXT NOT NULL,
        PRIMARY KEY (feed, entry_id)
    );
    CREATE INDEX pruned_item ON pruned (item_id);
    CREATE INDEX pruned_url ON pruned (url);
    CREATE INDEX pruned_title_key ON pruned (title_key);
    """,
    # 3: the feed an HTML page pointed to, fetched directly on later runs.
    """
    ALTER TABLE feeds ADD COLUMN discovered TEXT NOT NULL DEFAULT '';
    """,
    # 4: the newsletter's delivery ledger: one row per message the SMTP server accepted, so a
    # failed send resumes where it stopped and a second send sends nothing. A --resend adds rows
    # (its messages have their own Message-ID).
    """
    CREATE TABLE newsletter_sent (
        week TEXT NOT NULL,
        recipient TEXT NOT NULL,
        message_id TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        PRIMARY KEY (week, recipient, message_id)
    );
    """,
    # 5: each item's sentence vector, per encoder (name@version), deleted with its item.
    """
    CREATE TABLE item_vectors (
        item_id TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (model, item_id)
    );
    CREATE INDEX item_vectors_item ON item_vectors (item_id);
    """,
)


def still_pruned(
    entry_published: datetime | None,
    published_at: datetime,
    stored_published: datetime,
    cutoff: datetime,
) -> bool:
    """Whether an entry matching a tombstone stays out: while it is older than the prune's cut-off.

    ``published_at`` is the entry's date as it would be stored (clamped to the fetch time by the
    updater). An entry without a date of its own (none, or one in the future, so clamped) is as
    old as the item that was pruned, whose date was its first sighting; otherwise it would look
    brand new on every fetch and come straight back. An entry the feed re-dated past the cut-off
    is a new story.
    """
    dated = entry_published is not None and published_at == entry_published
    return (published_at if dated else stored_published) < cutoff


def _iso(moment: datetime | None) -> str | None:
    return _stamp(moment) if moment else None


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _has_tombstones(db: sqlite3.Connection) -> bool:
    """Whether ``kb prune`` ever left a tombstone: if not, no entry needs checking against one."""
    return bool(db.execute("SELECT EXISTS (SELECT 1 FROM pruned)").fetchone()[0])


def _known_entries(db: sqlite3.Connection, feed: str, entry_ids: list[str]) -> set[str]:
    """Which of ``entry_ids`` this feed has already stored (a JSON array: one statement)."""
    rows = db.execute(
        """SELECT entry_id FROM item_sources
           WHERE feed = ? AND entry_id IN (SELECT value FROM json_each(?))""",
        (feed, json.dumps(entry_ids)),
    )
    return {row[0] for row in rows}


def _stored_item_ids(db: sqlite3.Connection, ids: list[str]) -> set[str]:
    rows = db.execute(
        "SELECT id FROM items WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),)
    )
    return {row[0] for row in rows}


_Candidates = dict[str, list[tuple[str, str]]]


def _same_title_candidates(
    db: sqlite3.Connection, feed: str, keyed: list[tuple[EntryData, str, datetime]]
) -> _Candidates:
    """Stored items that share a title key with one of the entries and no source with ``feed``:
    title key -> [(published, id)], by id. Short keys ("Update") never make two entries one."""
    keys = sorted({key for _, key, _ in keyed if len(key) >= 12})
    if not keys:
        return {}
    dates = [published for _, key, published in keyed if len(key) >= 12]
    rows = db.execute(
        """SELECT i.title_key, i.published, i.id FROM items i
           WHERE i.title_key IN (SELECT value FROM json_each(?))
             AND i.published BETWEEN ? AND ?
             AND NOT EXISTS (SELECT 1 FROM item_sources s WHERE s.item_id = i.id AND s.feed = ?)
           ORDER BY i.id""",
        (
            json.dumps(keys),
            _stamp(min(dates) - SAME_STORY_WINDOW),
            _stamp(max(dates) + SAME_STORY_WINDOW),
            feed,
        ),
    )
    candidates: _Candidates = {}
    for key, published, item_id in rows:
        candidates.setdefault(key, []).append((published, item_id))
    return candidates


def _pick_same_story(
    entry_id: str,
    title_key: str,
    published: datetime,
    stored_ids: set[str],
    candidates: _Candidates,
    items_here: set[str],
) -> str | None:
    """The stored story this entry is another telling of: the same id (so the same URL), or the
    same title within :data:`SAME_STORY_WINDOW` from a feed that does not already have it."""
    if entry_id in stored_ids:
        return entry_id
    if len(title_key) < 12:
        return None
    low, high = _stamp(published - SAME_STORY_WINDOW), _stamp(published + SAME_STORY_WINDOW)
    for stored, item_id in candidates.get(title_key, ()):
        if low <= stored <= high and item_id not in items_here:
            return item_id
    return None


class SqliteStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=60, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._use_wal()
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"cannot open the store {path}: {e}") from e

    def _use_wal(self, attempts: int = 600) -> None:
        """Switch to WAL. Two runs creating the same new store at once both try; the loser is
        told "locked" at once (no busy timeout applies to this switch), so it waits and retries."""
        for attempt in range(attempts):
            try:
                self._db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or attempt == attempts - 1:
                    raise
                time.sleep(0.1)

    def _migrate(self) -> None:
        with self._transaction():
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise StoreError(
                    f"{self.path} was written by a newer Knowledge Broker (schema {version})"
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: {e}") from e
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    # --- feeds -------------------------------------------------------------------------

    def sync_feeds(self, feeds: Sequence[Feed]) -> None:
        with self._transaction() as db:
            for feed in feeds:
                db.execute(
                    """INSERT INTO feeds (name, url) VALUES (?, ?)
                       ON CONFLICT (name) DO UPDATE SET
                         etag = CASE WHEN url = excluded.url THEN etag ELSE '' END,
                         last_modified =
                           CASE WHEN url = excluded.url THEN last_modified ELSE '' END,
                         next_fetch = CASE WHEN url = excluded.url THEN next_fetch ELSE NULL END,
                         moved_to = CASE WHEN url = excluded.url THEN moved_to ELSE '' END,
                         discovered = CASE WHEN url = excluded.url THEN discovered ELSE '' END,
                         url = excluded.url""",
                    (feed.name, feed.url),
                )

    def feed_states(self) -> list[FeedState]:
        rows = self._db.execute(
            """SELECT f.*, (SELECT count(*) FROM item_sources s WHERE s.feed = f.name) AS n
               FROM feeds f ORDER BY f.name"""
        ).fetchall()
        return [self._feed_state(row) for row in rows]

    def feed_state(self, name: str) -> FeedState | None:
        row = self._db.execute(
            """SELECT f.*, (SELECT count(*) FROM item_sources s WHERE s.feed = f.name) AS n
               FROM feeds f WHERE f.name = ?""",
            (name,),
        ).fetchone()
        return self._feed_state(row) if row else None

    @staticmethod
    def _feed_state(row: sqlite3.Row) -> FeedState:
        return FeedState(
            name=row["name"],
            url=row["url"],
            status=row["status"],
            last_fetch=_time(row["last_fetch"]),
            last_success=_time(row["last_success"]),
            failures=row["failures"],
            next_fetch=_time(row["next_fetch"]),
            last_error=row["last_error"],
            etag=row["etag"],
            last_modified=row["last_modified"],
            item_count=row["n"],
            moved_to=row["moved_to"],
            discovered=row["discovered"],
        )

    def save_update(self, update: FeedUpdate) -> int:
        try:
            with self._transaction() as db:
                new = self._save_entries(db, update.entries, update.fetched_at)
                db.execute(
                    """UPDATE feeds SET status = ?, last_fetch = ?, failures = ?, next_fetch = ?,
                         last_error = ?, moved_to = ?,
                         discovered = CASE WHEN ? THEN ? ELSE discovered END,
                         last_success = CASE WHEN ? THEN ? ELSE last_success END,
                         etag = CASE WHEN ? THEN ? ELSE etag END,
                         last_modified = CASE WHEN ? THEN ? ELSE last_modified END
                       WHERE name = ?""",
                    (
                        update.status,
                        _iso(update.fetched_at),
                        update.failures,
                        _iso(update.next_fetch),
                        update.error,
                        update.moved_to,
                        update.succeeded,
                        update.discovered,
                        update.succeeded,
                        _iso(update.fetched_at),
                        update.status == "ok",
                        update.etag,
                        update.status == "ok",
                        update.last_modified,
                        update.name,
                    ),
                )
                return new
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot save feed {update.name}: {e}") from e

    def _save_entries(
        self, db: sqlite3.Connection, entries: Sequence[EntryData], seen: datetime
    ) -> int:
        """Store a feed's entries with a handful of statements, whatever their number.

        One statement per entry used to cost more than parsing: each one releases and retakes
        the GIL, and a busy thread can keep it for 5 ms. The decisions are the same as storing
        the entries one by one (``tests/test_store.py`` checks this by Hypothesis): entries of
        one feed are looked up together, and what this call stores is tracked as it goes.
        """
        by_feed: dict[str, list[EntryData]] = {}
        for entry in entries:
            if entry.published_at is None:
                raise ValueError(f"entry {entry.id} was not keyed (generator.update.keyed)")
            by_feed.setdefault(entry.feed, []).append(entry)
        tombstones = bool(entries) and _has_tombstones(db)
        return sum(
            self._save_feed_entries(db, feed, group, seen, tombstones)
            for feed, group in by_feed.items()
        )

    def _save_feed_entries(
        self,
        db: sqlite3.Connection,
        feed: str,
        entries: list[EntryData],
        seen: datetime,
        tombstones: bool,
    ) -> int:
        """Insert new entries of ``feed``, or attach them as sources of stories already stored."""
        attached = _known_entries(db, feed, [e.id for e in entries])
        fresh = [e for e in entries if e.id not in attached]
        if not fresh:
            return 0
        stored_ids = _stored_item_ids(db, [e.id for e in fresh])
        keyed = [(e, e.title_key, e.published_at or seen) for e in fresh]
        candidates = _same_title_candidates(db, feed, keyed)
        seen_iso = _stamp(seen)
        items: list[tuple[str, ...]] = []
        sources: list[tuple[str, str, str, str]] = []
        items_here: set[str] = set()  # items this call gave a source from ``feed``
        for entry, title_key, published in keyed:
            if entry.id in attached:
                continue
            if tombstones and self._was_pruned(db, entry, title_key, published):
                continue
            item_id = _pick_same_story(
                entry.id, title_key, published, stored_ids, candidates, items_here
            )
            if item_id is None:
                item_id = entry.id
                stored_ids.add(item_id)
                items.append(
                    (
                        item_id,
                        entry.url,
                        entry.title,
                        title_key,
                        entry.summary,
                        entry.summary_html,
                        _stamp(published),
                        seen_iso,
                        entry.author,
                        json.dumps(list(entry.categories), ensure_ascii=False),
                    )
                )
            attached.add(entry.id)
            items_here.add(item_id)
            sources.append((item_id, feed, entry.id, seen_iso))
        db.executemany(
            """INSERT INTO items (id, url, title, title_key, summary, summary_html, published,
                                  first_seen, author, categories)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            items,
        )
        db.executemany(
            """INSERT OR IGNORE INTO item_sources (item_id, feed, entry_id, first_seen)
               VALUES (?, ?, ?, ?)""",
            sources,
        )
        return len(items)

    @staticmethod
    def _was_pruned(
        db: sqlite3.Connection,
        entry: EntryData,
        title_key: str,
        published: datetime,
    ) -> bool:
        """Whether ``kb prune`` removed this story (from any feed) and it is still too old."""
        rows = db.execute(
            """SELECT published, cutoff FROM pruned
               WHERE (feed = ? AND entry_id = ?) OR item_id = ? OR url = ?""",
            (entry.feed, entry.id, entry.id, entry.url or None),
        ).fetchall()
        if len(title_key) >= 12:
            low, high = _iso(published - SAME_STORY_WINDOW), _iso(published + SAME_STORY_WINDOW)
            rows += db.execute(
                """SELECT published, cutoff FROM pruned
                   WHERE title_key = ? AND published BETWEEN ? AND ?""",
                (title_key, low, high),
            ).fetchall()
        return any(
            still_pruned(
                entry.published,
                published,
                datetime.fromisoformat(row["published"]),
                datetime.fromisoformat(row["cutoff"]),
            )
            for row in rows
        )

    # --- items -------------------------------------------------------------------------

    def items(
        self,
        *,
        since: datetime | None = None,
        feeds: Sequence[str] = (),
        limit: int | None = None,
    ) -> list[Item]:
        where, params = ["1 = 1"], []
        if since is not None:
            where.append("i.published >= ?")
            params.append(_iso(since))
        if feeds:
            marks = ", ".join("?" for _ in feeds)
            where.append(f"i.id IN (SELECT item_id FROM item_sources WHERE feed IN ({marks}))")
            params.extend(feeds)
        sql = f"""SELECT i.*, (SELECT json_group_array(feed) FROM
                     (SELECT feed FROM item_sources s WHERE s.item_id = i.id
                      ORDER BY s.first_seen, s.feed)) AS sources
                  FROM items i WHERE {" AND ".join(where)}
                  ORDER BY i.published DESC, i.id"""
        if limit is not None:
            sql += " LIMIT ?"
            params.append(str(limit))
        rows = self._db.execute(sql, params).fetchall()
        return [
            Item(
                id=row["id"],
                url=row["url"],
                title=row["title"],
                summary=row["summary"],
                summary_html=row["summary_html"],
                published=datetime.fromisoformat(row["published"]),
                first_seen=datetime.fromisoformat(row["first_seen"]),
                sources=tuple(json.loads(row["sources"])),
                author=row["author"],
                categories=tuple(json.loads(row["categories"])),
            )
            for row in rows
        ]

    def prune(self, before: datetime) -> int:
        try:
            return self._prune(_iso(before))
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot prune: {e}") from e

    def _prune(self, cutoff: str | None) -> int:
        """Tombstone, then delete, in one transaction: never one without the other."""
        with self._transaction() as db:
            db.execute(
                """INSERT OR REPLACE INTO pruned
                     (feed, entry_id, item_id, url, title_key, published, cutoff)
                   SELECT coalesce(s.feed, ''), coalesce(s.entry_id, i.id), i.id, i.url,
                          i.title_key, i.published, ?
                   FROM items i LEFT JOIN item_sources s ON s.item_id = i.id
                   WHERE i.published < ?""",
                (cutoff, cutoff),
            )
            cursor = db.execute("DELETE FROM items WHERE published < ?", (cutoff,))
            return cursor.rowcount

    # --- vectors -----------------------------------------------------------------------

    def item_vectors(self, model_id: str, item_ids: Sequence[str]) -> dict[str, bytes]:
        rows = self._db.execute(
            """SELECT item_id, vector FROM item_vectors
               WHERE model = ? AND item_id IN (SELECT value FROM json_each(?))""",
            (model_id, json.dumps(list(item_ids))),
        )
        return {row[0]: bytes(row[1]) for row in rows}

    def save_item_vectors(self, model_id: str, vectors: Mapping[str, bytes]) -> None:
        try:
            with self._transaction() as db:
                db.executemany(
                    """INSERT OR REPLACE INTO item_vectors (item_id, model, vector)
                       SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM items WHERE id = ?1)""",
                    [(item_id, model_id, vector) for item_id, vector in sorted(vectors.items())],
                )
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot save item vectors: {e}") from e

    # --- what was sent -----------------------------------------------------------------

    def record_sent(self, account: str, items: Sequence[Item], sent_at: datetime, fmt: str) -> None:
        with self._transaction() as db:
            db.executemany(
                """INSERT OR IGNORE INTO sent (account, item_id, url, title, sent_at, format)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                [(account, i.id, i.url, i.title, _iso(sent_at), fmt) for i in items],
            )

    def history(self, account: str) -> list[SentRecord]:
        rows = self._db.execute(
            """SELECT * FROM sent WHERE account = ?
               ORDER BY sent_at DESC, format, title, item_id""",
            (account,),
        ).fetchall()
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
        rows = self._db.execute(
            "SELECT DISTINCT recipient FROM newsletter_sent WHERE week = ?", (week,)
        ).fetchall()
        return {row["recipient"] for row in rows}

    def record_newsletter_sent(
        self, week: str, recipient: str, message_id: str, sent_at: datetime
    ) -> None:
        with self._transaction() as db:
            db.execute(
                """INSERT OR IGNORE INTO newsletter_sent (week, recipient, message_id, sent_at)
                   VALUES (?, ?, ?, ?)""",
                (week, recipient.casefold(), message_id, _iso(sent_at)),
            )
