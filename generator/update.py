"""Pure decisions about fetching: is a feed due, and what should the store record afterwards.

Nothing here does I/O; :mod:`generator.ingest` gathers the facts and writes the result. What the
store needs to recognise a story (its title key, its date clamped to the fetch) is computed here,
so the store and the parser never import each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from .exceptions import FeedError, Gone, RetryLater
from .models import EntryData, FeedState, FeedUpdate
from .parse.normalize import clamp_published, normalize_title
from .printable import printable
from .sources import Fetched

FIRST_BACKOFF = timedelta(minutes=30)


def is_due(state: FeedState | None, now: datetime) -> bool:
    """A feed is fetched unless it is gone or backing off after failures."""
    if state is None:
        return True
    if state.status == "gone":
        return False
    return state.next_fetch is None or state.next_fetch <= now


def skip_reason(state: FeedState | None) -> str:
    """Why a feed that is not due was skipped, in words for the summary table."""
    if state is None:
        return ""
    if state.status == "gone":
        return "gone (HTTP 410); remove it from feeds.yml, or use --force"
    until = state.next_fetch.isoformat(timespec="seconds") if state.next_fetch else "later"
    plural = "s" if state.failures != 1 else ""
    return f"backing off after {state.failures} failure{plural}, until {until}"


def backoff(failures: int, max_hours: float) -> timedelta:
    """30 min, 1 h, 2 h, ... doubling per consecutive failure, capped at ``max_hours``."""
    cap = timedelta(hours=max_hours)
    if failures <= 0:
        return timedelta(0)
    doubled: timedelta = FIRST_BACKOFF * 2 ** min(failures - 1, 20)
    return min(cap, doubled)


def success(
    name: str, fetched: Fetched, entries: list[EntryData], now: datetime, discovered: str = ""
) -> FeedUpdate:
    """Record a fetch that worked; ``discovered`` is the feed an HTML page led to, if any."""
    return FeedUpdate(
        name=name,
        url=fetched.url,
        fetched_at=now,
        status="not-modified" if fetched.not_modified else "ok",
        entries=keyed(entries, now),
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        moved_to=fetched.moved_to,
        discovered=discovered,
    )


def keyed(entries: Iterable[EntryData], now: datetime) -> tuple[EntryData, ...]:
    """The entries with what the store matches stories by: title key, and the date to store
    (``published``, or ``now``, the fetch time, when it is missing or in the future)."""
    return tuple(
        replace(
            entry,
            title_key=normalize_title(entry.title),
            published_at=clamp_published(entry.published, now),
        )
        for entry in entries
    )


def failure(
    name: str, url: str, error: FeedError, state: FeedState | None, now: datetime, max_hours: float
) -> FeedUpdate:
    """Record the failure; schedule the next try by back-off, or later if the server asked."""
    failures = (state.failures if state else 0) + 1
    reason = printable(error.reason)  # a server's reason phrase is printed later: no escapes
    if isinstance(error, Gone):
        return FeedUpdate(name, url, now, "gone", error=reason, failures=failures)
    wait = backoff(failures, max_hours)
    if isinstance(error, RetryLater) and error.retry_after is not None:
        wait = max(wait, timedelta(seconds=min(error.retry_after, max_hours * 3600)))
    return FeedUpdate(
        name, url, now, "error", error=reason, failures=failures, next_fetch=now + wait
    )
