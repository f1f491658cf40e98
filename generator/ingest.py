"""Fetch every due feed concurrently, parse it, and hand each result to the store.

Network and parsing run in worker threads; the store is written from the calling thread only,
one transaction per feed, as each feed finishes. One failing feed is recorded on that feed and
never stops the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from .exceptions import FeedError
from .models import Feed, FeedState, FeedUpdate, FetchSettings
from .parse import parse_feed
from .sources import Fetched
from .sources.http import fetch_http, make_client
from .sources.local import read_local
from .store import Store
from .update import failure, is_due, success


@dataclass(frozen=True)
class FetchReport:
    """One line of ``kb fetch``'s summary."""

    feed: str
    status: str
    new_items: int = 0
    entries: int = 0
    error: str = ""
    moved_to: str = ""


Progress = Callable[[FetchReport], None]


def wall_clock() -> datetime:
    return datetime.now(UTC)


def fetch_feeds(
    feeds: Sequence[Feed],
    store: Store,
    feeds_dir: Path,
    settings: FetchSettings,
    *,
    force: bool = False,
    progress: Progress | None = None,
    clock: Callable[[], datetime] = wall_clock,
) -> list[FetchReport]:
    store.sync_feeds(feeds)
    states = {s.name: s for s in store.feed_states()}
    reports: list[FetchReport] = []
    due = [f for f in feeds if force or is_due(states.get(f.name), clock())]
    for feed in feeds:
        if feed not in due:
            state = states.get(feed.name)
            reason = "gone (410)" if state and state.status == "gone" else "backing off"
            until = state.next_fetch.isoformat() if state and state.next_fetch else ""
            reports.append(FetchReport(feed.name, "skipped", error=f"{reason} {until}".strip()))
    with make_client(settings) as client, ThreadPoolExecutor(settings.concurrency) as pool:
        futures: dict[Future[FeedUpdate], Feed] = {
            pool.submit(_fetch_one, client, f, states.get(f.name), feeds_dir, settings, clock): f
            for f in due
        }
        for future in as_completed(futures):
            update = future.result()
            new = store.save_update(update)
            report = FetchReport(
                feed=update.name,
                status=update.status,
                new_items=new,
                entries=len(update.entries),
                error=update.error,
                moved_to=update.moved_to,
            )
            reports.append(report)
            if progress is not None:
                progress(report)
    return sorted(reports, key=lambda r: r.feed)


def _fetch_one(
    client: httpx.Client,
    feed: Feed,
    state: FeedState | None,
    feeds_dir: Path,
    settings: FetchSettings,
    clock: Callable[[], datetime],
) -> FeedUpdate:
    try:
        fetched = _get_bytes(client, feed, state, feeds_dir, settings)
        entries = [] if fetched.not_modified else parse_feed(
            feed.name, fetched.data, fetched.url, fetched.content_type
        )
        return success(feed.name, fetched, entries, clock())
    except FeedError as error:
        return failure(feed.name, feed.url, error, state, clock(), settings.max_backoff_hours)
    except Exception as error:  # one feed's surprise must never stop the others
        wrapped = FeedError(feed.name, f"unexpected {type(error).__name__}: {error}")
        return failure(feed.name, feed.url, wrapped, state, clock(), settings.max_backoff_hours)


def _get_bytes(
    client: httpx.Client, feed: Feed, state: FeedState | None, feeds_dir: Path, settings: FetchSettings
) -> Fetched:
    if feed.is_remote:
        return fetch_http(client, feed.name, feed.url, state, settings)
    fetched = read_local(feed.name, feed.url, feeds_dir, settings.max_bytes)
    etag = hashlib.sha256(fetched.data).hexdigest()
    if state is not None and state.etag == etag and state.url == feed.url:
        return Fetched(url=feed.url, not_modified=True)
    return Fetched(url=feed.url, data=fetched.data, etag=etag)
