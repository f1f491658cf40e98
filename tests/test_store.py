"""The store on both backends: de-duplication, one transaction per feed, concurrent writers,
retention, schema upgrades. Every test taking ``store`` runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import StoreMaker
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from generator import pipeline
from generator.batch import OutFile
from generator.exceptions import StoreError
from generator.models import EntryData, Feed, FeedUpdate
from generator.outputs import Writer
from generator.parse.normalize import clamp_published
from generator.store import StoreLocation, open_store, schema
from generator.store.sql import SqlStore
from generator.store.stories import still_pruned
from generator.update import keyed

NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)


def entry(feed: str, n: int, title: str = "", url: str = "", days_ago: float = 1) -> EntryData:
    return EntryData(
        feed=feed,
        id=f"{feed}-{n}",
        url=url or f"https://{feed}.example/{n}",
        title=title or f"{feed} story {n}",
        summary="s",
        summary_html="<p>s</p>",
        published=NOW - timedelta(days=days_ago),
    )


def update(name: str, *entries: EntryData, at: datetime = NOW, status: str = "ok") -> FeedUpdate:
    return FeedUpdate(name, f"https://{name}.example/feed", at, status, entries=keyed(entries, at))


@pytest.fixture
def store(new_location: StoreMaker) -> Iterator[SqlStore]:
    opened = SqlStore(new_location())
    opened.sync_feeds([Feed("a", "https://a.example/feed"), Feed("b", "https://b.example/feed")])
    yield opened
    opened.close()


def fail_on(store: SqlStore, event: str, table: str, condition: str, message: str) -> None:
    """Make the database itself refuse a statement, as a full disk would, on either backend."""
    with store._write("test") as db:
        if store.backend == "sqlite":
            when = f"WHEN {condition.replace('ROW.', 'NEW.' if event == 'INSERT' else 'OLD.')}"
            db.exec_driver_sql(
                f"CREATE TRIGGER fail BEFORE {event} ON {table} {when}"
                f" BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
            return
        row = "NEW" if event == "INSERT" else "OLD"
        db.exec_driver_sql(
            f"""CREATE FUNCTION fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
                  IF {condition.replace("ROW.", row + ".")} THEN RAISE EXCEPTION '{message}';
                  END IF; RETURN {row}; END $$"""
        )
        db.exec_driver_sql(
            f"CREATE TRIGGER fail BEFORE {event} ON {table} FOR EACH ROW EXECUTE FUNCTION fail()"
        )


def test_new_items_are_counted_once_and_keep_first_seen(store: SqlStore) -> None:
    assert store.save_update(update("a", entry("a", 1), entry("a", 2))) == 2
    assert (
        store.save_update(update("a", entry("a", 1), entry("a", 3), at=NOW + timedelta(days=1)))
        == 1
    )
    seen = {i.id: i.first_seen for i in store.items()}
    assert seen == {"a-1": NOW, "a-2": NOW, "a-3": NOW + timedelta(days=1)}


def test_the_same_url_from_two_feeds_is_one_item_with_two_sources(store: SqlStore) -> None:
    shared = "https://news.example/story"
    store.save_update(update("a", EntryData("a", "same", shared, "T", "", "", NOW)))
    assert store.save_update(update("b", EntryData("b", "same", shared, "T2", "", "", NOW))) == 0
    [item] = store.items()
    assert item.sources == ("a", "b")
    assert store.items(feeds=["b"]) == [item]


def test_the_same_title_within_days_is_one_story(store: SqlStore) -> None:
    title = "Port strike ends after nine days"
    store.save_update(update("a", entry("a", 1, title=title, days_ago=2)))
    store.save_update(update("b", entry("b", 1, title=title.upper() + "!", days_ago=1)))
    store.save_update(update("b", entry("b", 2, title=title, days_ago=30)))
    stored = store.items()
    assert [len(i.sources) for i in stored] == [2, 1]


def test_one_feed_repeating_a_title_keeps_both_stories(store: SqlStore) -> None:
    title = "Weekly diesel price update for fleets"
    assert (
        store.save_update(update("a", entry("a", 1, title=title), entry("a", 2, title=title))) == 2
    )


def test_a_failed_write_leaves_nothing_half_done(store: SqlStore) -> None:
    store.save_update(update("a", entry("a", 1)))
    fail_on(store, "INSERT", "item_sources", "ROW.entry_id = 'a-3'", "disk I/O error")
    with pytest.raises(StoreError, match=r"^cannot save feed a in .+: disk I/O error$"):
        store.save_update(update("a", entry("a", 2), entry("a", 3), at=NOW + timedelta(hours=1)))
    assert [i.id for i in store.items()] == ["a-1"]
    state = store.feed_state("a")
    assert state is not None and state.last_fetch == NOW


def bookkeeping(at: datetime) -> list[FeedUpdate]:
    """A run's fetch results without entries, one of each kind of row they write."""
    url = "https://{}.example/feed"
    found, later = "https://c.example/found.xml", at + timedelta(hours=1)
    return [
        FeedUpdate("a", url.format("a"), at, "ok", etag='"v2"', last_modified="Tue, 17 Nov"),
        FeedUpdate("b", url.format("b"), at, "not-modified", moved_to="https://b.example/new"),
        FeedUpdate("c", url.format("c"), at, "not-modified", discovered=found),
        FeedUpdate(
            "d", url.format("d"), at, "error", error="HTTP 500", failures=2, next_fetch=later
        ),
        FeedUpdate("e", url.format("e"), at, "gone", error="HTTP 410 Gone", failures=1),
    ]


def test_fetch_results_saved_together_read_back_as_saved_one_by_one(
    new_location: StoreMaker,
) -> None:
    feeds = [Feed(name, f"https://{name}.example/feed") for name in "abcde"]
    together, apart = SqlStore(new_location()), SqlStore(new_location())
    for opened in (together, apart):
        opened.sync_feeds(feeds)
        for u in bookkeeping(NOW):  # validators and a discovered feed from an earlier run
            opened.save_update(replace(u, status="ok", etag='"v1"', discovered="x", failures=0))
    together.save_updates(bookkeeping(NOW + timedelta(days=1)))
    for u in bookkeeping(NOW + timedelta(days=1)):
        apart.save_update(u)
    assert together.feed_states() == apart.feed_states()
    states = {s.name: s for s in together.feed_states()}
    assert (states["a"].etag, states["b"].etag) == ('"v2"', '"v1"')  # a 304 keeps its validators
    assert (states["c"].discovered, states["d"].discovered) == ("https://c.example/found.xml", "x")
    together.close()
    apart.close()


def test_fetch_results_saved_together_are_all_written_or_none(store: SqlStore) -> None:
    store.sync_feeds([Feed(name, f"https://{name}.example/feed") for name in "cde"])
    fail_on(store, "UPDATE", "feeds", "ROW.name = 'd'", "disk I/O error")
    with pytest.raises(StoreError, match=r"^cannot save 5 feeds' fetch results in .+: disk I/O"):
        store.save_updates(bookkeeping(NOW))
    assert all(state.last_fetch is None for state in store.feed_states())
    with pytest.raises(StoreError, match=r"^cannot save 6 feeds' fetch results in .+: disk I/O"):
        store.save_updates([update("a", entry("a", 1)), *bookkeeping(NOW)])
    assert store.items() == []


def test_a_failure_keeps_items_and_records_the_error(store: SqlStore) -> None:
    store.save_update(update("a", entry("a", 1)))
    failed = FeedUpdate("a", "u", NOW + timedelta(hours=1), "error", error="HTTP 500", failures=1,
                        next_fetch=NOW + timedelta(hours=2))  # fmt: skip
    store.save_update(failed)
    state = store.feed_state("a")
    assert state is not None
    assert (state.status, state.last_error, state.failures, state.item_count) == (
        "error",
        "HTTP 500",
        1,
        1,
    )
    assert state.last_success == NOW


def test_two_writers_at_once_do_not_corrupt_the_store(new_location: StoreMaker) -> None:
    """Two connections (as two ``kb fetch`` runs) writing many feeds concurrently."""
    location = new_location()
    feeds = [Feed(f"f{i}", f"https://f{i}.example/") for i in range(10)]
    errors: list[BaseException] = []

    def write(store_index: int) -> None:
        try:
            s = open_store(location)  # each run has its own connection
            s.sync_feeds(feeds)
            for feed in feeds[store_index::2] + feeds:
                entries = [entry(feed.name, n) for n in range(50)]
                s.save_update(update(feed.name, *entries))
            s.close()
        except BaseException as e:  # collected and re-raised below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    reopened = open_store(location)
    assert len(reopened.items()) == 500
    assert reopened.info().counts["item_sources"] == 500
    reopened.close()
    if location.backend == "sqlite":
        db = sqlite3.connect(location.path)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_two_runs_creating_the_same_store_at_once_both_open_it(new_location: StoreMaker) -> None:
    """SQLite: both switch the new file to WAL; the loser used to fail with "database is
    locked". PostgreSQL: both create the tables; the advisory lock makes the second wait."""
    errors: list[BaseException] = []

    def open_and_close(location: StoreLocation) -> None:
        try:
            open_store(location).close()
        except BaseException as e:  # collected and checked below
            errors.append(e)

    for _ in range(10):
        location = new_location()
        threads = [threading.Thread(target=open_and_close, args=(location,)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []


def test_prune_deletes_only_older_items_and_keeps_the_history(store: SqlStore) -> None:
    old, recent = entry("a", 1, days_ago=100), entry("a", 2, days_ago=10)
    store.save_update(update("a", old, recent))
    [old_item] = [i for i in store.items() if i.id == "a-1"]
    store.record_sent("acme", [old_item], NOW - timedelta(days=95), "md")
    assert store.prune(NOW - timedelta(days=90)) == 1
    assert [i.id for i in store.items()] == ["a-2"]
    assert [h.item_id for h in store.history("acme")] == ["a-1"]


def test_items_filters(store: SqlStore) -> None:
    store.save_update(update("a", entry("a", 1, days_ago=5), entry("a", 2, days_ago=1)))
    store.save_update(update("b", entry("b", 1, days_ago=3)))
    assert [i.id for i in store.items()] == ["a-2", "b-1", "a-1"]
    assert [i.id for i in store.items(since=NOW - timedelta(days=4))] == ["a-2", "b-1"]
    assert [i.id for i in store.items(feeds=["a"], limit=1)] == ["a-2"]


def test_a_store_from_a_newer_version_is_refused(store: SqlStore) -> None:
    with store._write("test") as db:
        store._set_version(db, 99)
    store.close()
    with pytest.raises(StoreError) as refused:
        open_store(store.location)
    assert str(refused.value) == (
        f"store {store.name} has schema version 99, this kb knows up to {schema.VERSION}:"
        " upgrade kb"
    )


def test_changing_a_feeds_url_forgets_its_http_cache(store: SqlStore) -> None:
    store.save_update(FeedUpdate("a", "u", NOW, "ok", etag='"v1"', last_modified="Mon"))
    store.sync_feeds([Feed("a", "https://a.example/feed")])
    state = store.feed_state("a")
    assert state is not None and state.etag == '"v1"'
    store.sync_feeds([Feed("a", "https://a.example/new-feed")])
    state = store.feed_state("a")
    assert state is not None and (state.etag, state.last_modified) == ("", "")


# --- tombstones: what ``kb prune`` removed stays removed ------------------------------------


def test_a_pruned_entry_is_not_stored_again_by_its_feed(store: SqlStore) -> None:
    old, recent = entry("a", 1, days_ago=100), entry("a", 2, days_ago=10)
    store.save_update(update("a", old, recent))
    assert store.prune(NOW - timedelta(days=90)) == 1
    later = NOW + timedelta(days=1)
    fresh = entry("a", 3, days_ago=0)
    assert store.save_update(update("a", old, recent, fresh, at=later)) == 1
    seen = {i.id: i.first_seen for i in store.items()}
    assert seen == {"a-3": later, "a-2": NOW}


def test_a_pruned_story_is_not_stored_again_by_another_feed(store: SqlStore) -> None:
    title = "Port strike ends after nine days of talks"
    store.save_update(update("a", entry("a", 1, title=title, url="https://news.example/strike",
                                        days_ago=100)))  # fmt: skip
    assert store.prune(NOW - timedelta(days=90)) == 1
    same_url = EntryData("b", "other-id", "https://news.example/strike", "Other words", "", "",
                         NOW - timedelta(days=100))  # fmt: skip
    same_title = entry("b", 2, title=title.upper(), days_ago=99)
    assert store.save_update(update("b", same_url, same_title)) == 0
    assert store.items() == []


def test_an_undated_pruned_entry_stays_out_although_it_looks_new(store: SqlStore) -> None:
    undated = EntryData("a", "a-1", "https://a.example/1", "No date here", "", "", None)
    store.save_update(update("a", undated, at=NOW - timedelta(days=100)))
    assert store.prune(NOW - timedelta(days=90)) == 1
    assert store.save_update(update("a", undated)) == 0
    assert store.items() == []


def test_a_pruned_entry_redated_after_the_cutoff_is_a_new_story(store: SqlStore) -> None:
    store.save_update(update("a", entry("a", 1, days_ago=100)))
    store.prune(NOW - timedelta(days=90))
    assert store.save_update(update("a", entry("a", 1, days_ago=2))) == 1
    assert [i.published for i in store.items()] == [NOW - timedelta(days=2)]


def test_prune_and_its_tombstones_are_one_transaction(store: SqlStore) -> None:
    store.save_update(update("a", entry("a", 1, days_ago=100)))
    fail_on(store, "DELETE", "items", "1 = 1", "disk full")
    with pytest.raises(StoreError, match=r"^cannot prune .+: disk full$"):
        store.prune(NOW - timedelta(days=90))
    assert store.info().counts["pruned"] == 0
    assert [i.id for i in store.items()] == ["a-1"]


# --- a feed's entries are stored in a few statements, with the same decisions as one by one ---

TITLES = ["Port strike ends after nine days", "PORT STRIKE ENDS after nine days!", "Short",
          "Diesel prices fall for a third week", "Recall of frozen peas widens"]  # fmt: skip
stories = st.builds(
    lambda feed, n, title, url, hours: EntryData(
        feed=feed,
        id=f"id-{n}",
        url=f"https://news.example/{url}",
        title=TITLES[title],
        summary="s",
        summary_html="<p>s</p>",
        published=None if hours is None else NOW - timedelta(hours=hours),
    ),
    feed=st.just("a"),
    n=st.integers(0, 6),
    title=st.integers(0, len(TITLES) - 1),
    url=st.integers(0, 6),
    hours=st.none() | st.integers(-24, 24 * 200),
)
fetch = st.tuples(
    st.sampled_from(["a", "b", "c"]), st.lists(stories, max_size=6), st.integers(0, 48)
)
batches = st.lists(st.lists(fetch, min_size=1, max_size=3), max_size=4)  # a run's writes


def _stored(store: SqlStore) -> list[tuple[str, tuple[str, ...], datetime, datetime, str]]:
    return [(i.id, i.sources, i.published, i.first_seen, i.title) for i in store.items()]


def _wipe(store: SqlStore) -> None:
    with store._write("test") as db:
        for table in reversed(schema.TABLES):
            db.execute(table.delete())


@pytest.fixture
def two_stores(new_location: StoreMaker) -> Iterator[tuple[SqlStore, SqlStore]]:
    pair = SqlStore(new_location()), SqlStore(new_location())
    yield pair
    for store in pair:
        store.close()


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=batches, prune_after=st.integers(0, 4))
def test_storing_feeds_in_one_batch_decides_as_storing_them_entry_by_entry(
    two_stores: tuple[SqlStore, SqlStore],
    batches: list[list[tuple[str, list[EntryData], int]]],
    prune_after: int,
) -> None:
    """Several feeds in one transaction (as ``kb fetch`` writes feeds that arrive close
    together): the same stories, sources and counts as one entry per transaction, with stories
    merged across the feeds of one batch and tombstones left by a prune."""
    batched, one_by_one = two_stores
    for store in (batched, one_by_one):
        _wipe(store)
        store.sync_feeds([Feed(name, f"https://{name}.example/feed") for name in "abc"])
    for step, batch in enumerate(batches):
        if step == prune_after:
            for store in (batched, one_by_one):
                store.prune(NOW - timedelta(days=90))
        fetched = [
            (feed, [replace(e, feed=feed) for e in entries], NOW + timedelta(hours=hours))
            for feed, entries, hours in batch
        ]
        new = batched.save_updates([update(feed, *own, at=at) for feed, own, at in fetched])
        alone = [sum(one_by_one.save_update(update(f, e, at=at)) for e in own)
                 for f, own, at in fetched]  # fmt: skip
        assert new == alone
    assert _stored(batched) == _stored(one_by_one)


def test_a_feed_matches_a_story_another_feed_brought_in_the_same_batch(store: SqlStore) -> None:
    title = "Port strike ends after nine days"
    first = entry("b", 1, title=title, days_ago=2)
    again = entry("a", 1, title=title.upper(), days_ago=1)
    same_url = replace(entry("b", 2), feed="a")  # the same id (the parser's, from the URL)
    batch = [update("b", first, entry("b", 2)), update("a", again, same_url)]
    assert store.save_updates(batch) == [2, 0]
    stored = {i.id: (i.title, i.sources) for i in store.items()}
    assert stored == {"b-1": (title, ("a", "b")), "b-2": ("b story 2", ("a", "b"))}


def test_a_thousand_entries_of_several_feeds_are_looked_up_in_a_handful_of_queries(
    store: SqlStore,
) -> None:
    store.sync_feeds([Feed(name, f"https://{name}.example/feed") for name in "cdefghij"])
    batch = [
        update(
            name,
            *(
                entry(name, n, title=f"{name}: a story long enough to match, {n}")
                for n in range(100)
            ),
        )
        for name in "abcdefghij"
    ]
    statements: list[str] = []

    def trace(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "pg_advisory_xact_lock" not in statement:  # PostgreSQL's write lock
            statements.append(statement.lstrip())

    event.listen(store.engine, "before_cursor_execute", trace)
    assert store.save_updates(batch) == [100] * 10
    assert len([s for s in statements if s.startswith("SELECT")]) == 4
    statements.clear()
    assert store.save_updates(batch) == [0] * 10
    assert len(statements) == 5  # BEGIN, tombstones?, known entries, UPDATE feeds, COMMIT


moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@given(published=moments, stored=moments, cutoff=moments)
def test_a_dated_entry_is_judged_by_its_own_date(
    published: datetime, stored: datetime, cutoff: datetime
) -> None:
    seen = datetime(2030, 6, 1, tzinfo=UTC)
    assert still_pruned(published, clamp_published(published, seen), stored, cutoff) == (
        published < cutoff
    )


@given(
    stored=moments,
    cutoff=moments,
    ahead=st.timedeltas(min_value=timedelta(minutes=6), max_value=timedelta(days=9999)),
)
def test_an_undated_or_future_entry_is_as_old_as_what_was_pruned(
    stored: datetime, cutoff: datetime, ahead: timedelta
) -> None:
    seen = datetime(2030, 6, 1, tzinfo=UTC)
    assert still_pruned(None, seen, stored, cutoff) == (stored < cutoff)
    assert still_pruned(seen + ahead, seen, stored, cutoff) == (stored < cutoff)


def test_entries_that_skipped_the_updater_are_refused(store: SqlStore) -> None:
    raw = entry("a", 1)
    with pytest.raises(ValueError, match=r"^entry a-1 was not keyed"):
        store.save_update(FeedUpdate("a", "u", NOW, "ok", entries=(raw,)))
    assert store.items() == []


def test_the_store_and_the_parser_never_import_each_other() -> None:
    code = (
        "import sys, generator.store.sql, generator.parse.feeds; "
        "print(sorted(m for m in sys.modules if m.startswith('generator.')))"
    )
    alone = [sys.executable, "-c", code.replace(", generator.parse.feeds", "")]
    store_only = subprocess.run(alone, capture_output=True, text=True, check=True).stdout
    assert "generator.parse" not in store_only
    parse_only = code.replace("generator.store.sql, ", "")
    parsed = subprocess.run([sys.executable, "-c", parse_only], capture_output=True, text=True)
    assert "generator.store" not in parsed.stdout and parsed.returncode == 0


# --- schema upgrades ------------------------------------------------------------------------


# Schema 1 exactly as the first SQLite store created it.
SCHEMA_1 = """
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
    """


def _first_schema_store(path: Path) -> None:
    """A store as version 1 of the schema wrote it: two items of feed ``a``, one of them sent."""
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_1)
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO feeds (name, url, etag) VALUES ('a', 'https://a.example/feed', 'x')")
    for n, published in ((1, "2026-08-08T09:00:00+00:00"), (2, "2026-11-06T09:00:00+00:00")):
        db.execute(
            "INSERT INTO items VALUES (?, ?, ?, ?, 's', '<p>s</p>', ?, ?, '', '[]')",
            (f"a-{n}", f"https://a.example/{n}", f"a story {n}", f"a story {n}", published,
             published),
        )  # fmt: skip
        db.execute(
            "INSERT INTO item_sources VALUES (?, 'a', ?, ?)", (f"a-{n}", f"a-{n}", published)
        )
    db.execute(
        "INSERT INTO sent VALUES ('acme', 'a-1', 'https://a.example/1', 'a story 1', ?, 'md')",
        ("2026-08-12T09:00:00+00:00",),
    )
    db.commit()
    db.close()


def test_a_store_from_the_first_schema_upgrades_in_place(tmp_path: Path) -> None:
    _first_schema_store(tmp_path / "kb.sqlite")
    upgraded = open_store(tmp_path)
    state = upgraded.feed_state("a")
    assert state is not None
    assert (state.item_count, state.etag, state.discovered) == (2, "x", "")
    assert upgraded.prune(NOW - timedelta(days=90)) == 1
    assert upgraded.save_update(update("a", entry("a", 1, days_ago=100))) == 0
    assert [i.id for i in upgraded.items()] == ["a-2"]
    assert [h.item_id for h in upgraded.history("acme")] == ["a-1"]
    upgraded.save_text_vectors("m", {"h": b"v"})  # schema 7's table came with the upgrade
    assert upgraded.text_vectors("m", ["h"]) == {"h": b"v"}
    upgraded.close()
    db = sqlite3.connect(tmp_path / "kb.sqlite")
    assert db.execute("PRAGMA user_version").fetchone() == (schema.VERSION,)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    reopened = open_store(tmp_path)  # nothing left to migrate: opens as it is
    assert [i.id for i in reopened.items()] == ["a-2"]
    reopened.close()


# --- the feed a page pointed to ---------------------------------------------------------------


def test_the_discovered_feed_is_remembered_until_the_url_changes(store: SqlStore) -> None:
    found = "https://a.example/feed.xml"
    store.save_update(FeedUpdate("a", found, NOW, "ok", etag='"v1"', discovered=found))
    failed = FeedUpdate("a", found, NOW, "error", error="HTTP 500", failures=1)
    store.save_update(failed)
    store.sync_feeds([Feed("a", "https://a.example/feed")])
    state = store.feed_state("a")
    assert state is not None and (state.discovered, state.etag) == (found, '"v1"')
    store.save_update(FeedUpdate("a", found, NOW, "not-modified", discovered=found))
    state = store.feed_state("a")
    assert state is not None and state.discovered == found
    store.sync_feeds([Feed("a", "https://a.example/blog")])
    state = store.feed_state("a")
    assert state is not None and (state.discovered, state.etag) == ("", "")


# --- what was sent: the first run to record an item wins ---------------------------------------


def test_the_first_run_to_record_an_item_as_sent_wins(store: SqlStore) -> None:
    store.save_update(update("a", entry("a", 1), entry("a", 2)))
    first, second = store.items()
    assert store.record_sent("acme", [first], NOW, "md") == [first.id]
    assert store.record_sent("acme", [first], NOW, "html") == [first.id]  # the same send
    later = NOW + timedelta(seconds=1)
    assert store.record_sent("acme", [second, first], later, "md") == [second.id]
    assert store.record_sent("globex", [first], later, "md") == [first.id]  # another account
    assert [(h.item_id, h.format, h.sent_at) for h in store.history("acme")] == [
        (second.id, "md", later),
        (first.id, "html", NOW),
        (first.id, "md", NOW),
    ]


def test_a_digest_tells_which_items_another_run_recorded_first(
    store: SqlStore, tmp_path: Path
) -> None:
    store.save_update(update("a", entry("a", 1), entry("a", 2)))
    first, second = store.items()
    store.record_sent("acme", [first], NOW - timedelta(minutes=1), "md")  # another rep's run
    out = OutFile("acme", NOW, tmp_path / "acme.md", "md", "text", (first, second))
    lost = pipeline.write_digests(store, [out], Writer(), record=True)
    assert lost == [pipeline.SentFirst("acme", tmp_path / "acme.md", (first,))]
    assert [h.item_id for h in store.history("acme")] == [second.id, first.id]


# --- item vectors ---------------------------------------------------------------------------


def test_item_vectors_are_kept_per_model_and_pruned_with_their_item(store: SqlStore) -> None:
    store.save_update(update("a", entry("a", 1, days_ago=100), entry("a", 2)))
    store.save_item_vectors("m1", {"a-1": b"\x00\x01", "a-2": b"\xff" * 8, "gone": b"x"})
    store.save_item_vectors("m2", {"a-2": b"two"})
    assert store.item_vectors("m1", ["a-2", "a-1", "gone"]) == {
        "a-1": b"\x00\x01",
        "a-2": b"\xff" * 8,
    }
    store.save_item_vectors("m1", {"a-2": b"new"})
    assert store.item_vectors("m1", ["a-2"]) == {"a-2": b"new"}
    assert store.item_vectors("m2", ["a-1", "a-2"]) == {"a-2": b"two"}
    assert store.prune(NOW - timedelta(days=90)) == 1
    assert store.item_vectors("m1", ["a-1", "a-2"]) == {"a-2": b"new"}
    assert store.info().counts["item_vectors"] == 2


# --- text vectors (account and note texts) ------------------------------------------------------


def test_text_vectors_are_kept_per_model_and_pruned_when_no_text_uses_them(
    store: SqlStore,
) -> None:
    store.save_text_vectors("m1", {"h-problem": b"\x00\x01", "h-note": b"\xff" * 8})
    store.save_text_vectors("m2", {"h-problem": b"two"})
    assert store.text_vectors("m1", ["h-note", "h-problem", "h-unknown", "h-note"]) == {
        "h-problem": b"\x00\x01",
        "h-note": b"\xff" * 8,
    }
    store.save_text_vectors("m1", {"h-note": b"new"})
    assert store.text_vectors("m1", ["h-note"]) == {"h-note": b"new"}
    assert store.text_vectors("m2", ["h-problem", "h-note"]) == {"h-problem": b"two"}
    assert store.text_vectors("m1", []) == {}
    assert store.info().counts["text_vectors"] == 3
    assert store.prune_text_vectors({"h-problem", "h-elsewhere"}) == 1
    assert store.text_vectors("m1", ["h-note", "h-problem"]) == {"h-problem": b"\x00\x01"}
    assert store.text_vectors("m2", ["h-problem"]) == {"h-problem": b"two"}
    assert store.prune_text_vectors(set()) == 2
    assert store.info().counts["text_vectors"] == 0


# --- the judge's logits ------------------------------------------------------------------------


def test_judgements_are_kept_per_judge_and_account_and_deleted_with_their_item(
    store: SqlStore,
) -> None:
    store.save_update(update("a", entry("a", 1, days_ago=100), entry("a", 2)))
    store.save_judgements(
        "j1", {("acct", "a-1"): b"one1", ("acct", "a-2"): b"two2", ("acct", "gone"): b"lost"}
    )
    store.save_judgements("j1", {("other", "a-2"): b"oth2", ("acct", "a-2"): b"new2"})
    store.save_judgements("j2", {("acct", "a-1"): b"jtwo"})
    # a pair judged already keeps its first logit; an item not stored is not judged
    assert store.judgements("j1", "acct") == {"a-1": b"one1", "a-2": b"two2"}
    assert store.judgements("j1", "other") == {"a-2": b"oth2"}
    assert store.judgements("j2", "acct") == {"a-1": b"jtwo"}
    assert store.judgements("j1", "nobody") == {}
    assert store.judgements("j1", "acct", ["a-2", "gone"]) == {"a-2": b"two2"}
    assert store.judgements("j1", "acct", []) == {}
    assert store.prune(NOW - timedelta(days=90)) == 1
    assert store.judgements("j1", "acct") == {"a-2": b"two2"}
    assert store.judgements("j2", "acct") == {}
    assert store.prune_judgements({"acct", "elsewhere"}) == 1
    assert store.judgements("j1", "other") == {}
    assert store.info().counts["judgements"] == 1
    store.save_judgements("j2", {("acct", "a-2"): b"j2a2"})
    assert store.prune_judgements({"acct"}, judge="j2") == 1  # an earlier judge's rows go
    assert store.judgements("j1", "acct") == {}
    assert store.judgements("j2", "acct") == {"a-2": b"j2a2"}


# --- the newsletter's delivery ledger ------------------------------------------------------------


def test_the_newsletter_ledger_records_each_delivery_once(store: SqlStore) -> None:
    assert store.newsletter_sent("2026-W47") == set()
    store.record_newsletter_sent("2026-W47", "Dana@Example.com", "<1@kb>", NOW)
    store.record_newsletter_sent("2026-W47", "dana@example.com", "<1@kb>", NOW)  # a retry
    store.record_newsletter_sent("2026-W47", "dana@example.com", "<2@kb>", NOW)  # a resend
    store.record_newsletter_sent("2026-W47", "lee@example.com", "<3@kb>", NOW)
    store.record_newsletter_sent("2026-W48", "kim@example.com", "<4@kb>", NOW)
    assert store.newsletter_sent("2026-W47") == {"dana@example.com", "lee@example.com"}
    assert store.info().counts["newsletter_sent"] == 4


def test_the_newsletter_ledger_keeps_each_recipient_per_week(new_location: StoreMaker) -> None:
    location = new_location()
    when = datetime(2026, 11, 16, 9, tzinfo=UTC)
    first = open_store(location)
    first.record_newsletter_sent("2026-W47", "Ana@Customer.example", "<a@x.example>", when)
    first.record_newsletter_sent("2026-W47", "ana@customer.example", "<a@x.example>", when)
    first.record_newsletter_sent("2026-W47", "ben@customer.example", "<b@x.example>", when)
    first.close()
    again = open_store(location)  # what a resumed run sees
    assert again.newsletter_sent("2026-W47") == {"ana@customer.example", "ben@customer.example"}
    assert again.newsletter_sent("2026-W48") == set()
    again.close()
