"""The store on SQLite and on PostgreSQL, 100,000 items, next to the hand-written sqlite3 store
it replaced (the peer: ``generator/store/sqlite.py`` as of commit df8806b, loaded from git).

Run: python bench/store.py [--items 100000] [--url postgresql://...]
(without --url a throw-away PostgreSQL is started as the tests do: Debian's postgresql package)

Figures printed, per backend:
- insert: ``save_update`` of 50 feeds' entries (the updater's work included: dedup by id and
  title, tombstone checks), items per second. After the first 5 feeds the planner's statistics
  are refreshed (``ANALYZE``), as PostgreSQL's autovacuum does on a live server within a minute
  and ``kb store import`` does at its end: without them this bench measures a freshly loaded
  table planned as empty, not the store's steady state;
- items(): every stored item, what ``kb digest``/``kb build`` rank, seconds per call (best of 3);
- items(since=30 days): the recent window, seconds per call (best of 3);
- history(): one account's 5,000 sent records, seconds per call (best of 3);
- record_sent: 5,000 items for one account, in batches of 8 as digests record them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from pgserver import running_postgres  # noqa: E402

from generator.models import EntryData, Feed, FeedUpdate  # noqa: E402
from generator.store import open_store, parse_location  # noqa: E402
from generator.store.location import sqlite_location  # noqa: E402
from generator.update import keyed  # noqa: E402

PEER = "df8806b"
NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)
FEEDS = 50
WORDS = [
    "port",
    "strike",
    "diesel",
    "recall",
    "nurse",
    "shift",
    "detention",
    "dock",
    "freight",
    "cold",
    "chain",
]


def feed_updates(total: int) -> list[FeedUpdate]:
    per_feed = total // FEEDS
    updates = []
    for f in range(FEEDS):
        name = f"feed{f:02d}"
        entries = [
            EntryData(
                feed=name,
                id=f"{name}-{n}",
                url=f"https://{name}.example/{n}",
                title=f"{WORDS[n % len(WORDS)]} {WORDS[(n * 7) % len(WORDS)]} story {f}-{n}",
                summary="A summary of the story, long enough to be realistic. " * 3,
                summary_html="<p>A summary of the story.</p>",
                published=NOW - timedelta(minutes=(n * FEEDS + f) * 5),
            )
            for n in range(per_feed)
        ]
        updates.append(FeedUpdate(name, f"https://{name}.example/feed", NOW, "ok",
                                  entries=keyed(entries, NOW)))  # fmt: skip
    return updates


def peer_store(path: Path) -> Any:
    """The previous store, loaded from git as a module of the package (same models)."""
    source = subprocess.run(
        ["git", "show", f"{PEER}:generator/store/sqlite.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType("generator.store.sqlite_peer")
    module.__package__ = "generator.store"
    exec(compile(source, f"{PEER}:generator/store/sqlite.py", "exec"), module.__dict__)
    return module.SqliteStore(path)


def best(call: Callable[[], object], times: int = 3) -> float:
    spans = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        spans.append(time.perf_counter() - started)
    return min(spans)


def measure(label: str, store: Any, updates: list[FeedUpdate]) -> None:
    store.sync_feeds([Feed(u.name, u.url) for u in updates])
    started = time.perf_counter()
    new = sum(store.save_update(u) for u in updates[:5])
    if hasattr(store, "analyze"):  # the peer never had statistics refreshed (nor needed them)
        store.analyze()
    new += sum(store.save_update(u) for u in updates[5:])
    insert = time.perf_counter() - started
    everything = store.items()
    assert len(everything) == new, (len(everything), new)
    sent_items = everything[:5000]
    started = time.perf_counter()
    for k in range(0, len(sent_items), 8):
        store.record_sent("acme", sent_items[k : k + 8], NOW + timedelta(minutes=k), "md")
    record = time.perf_counter() - started
    full = best(store.items)
    recent = best(lambda: store.items(since=NOW - timedelta(days=30)))
    window = len(store.items(since=NOW - timedelta(days=30)))
    history = best(lambda: store.history("acme"))
    print(
        f"{label:<28} insert {new:,} items {insert:6.1f} s ({new / insert:7,.0f}/s) | "
        f"items() {full:5.2f} s | items(30 d: {window:,}) {recent:5.2f} s | "
        f"history(5,000) {history * 1000:5.0f} ms | record_sent x625 {record:5.1f} s",
        flush=True,
    )
    store.close()


@contextmanager
def postgres_url(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    with running_postgres() as server:
        yield server.create_database("bench")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--url", help="an empty PostgreSQL database (default: start one)")
    args = parser.parse_args()
    updates = feed_updates(args.items)
    with tempfile.TemporaryDirectory() as tmp:
        measure(f"peer: sqlite3 ({PEER})", peer_store(Path(tmp) / "peer.sqlite"), updates)
        measure("SQLAlchemy, SQLite", open_store(sqlite_location(Path(tmp) / "kb.sqlite")), updates)
        with postgres_url(args.url) as url:
            location = parse_location(url, Path(tmp))
            measure("SQLAlchemy, PostgreSQL", open_store(location), updates)


if __name__ == "__main__":
    main()
