"""Fetch every due feed concurrently, parse it, and hand each result to the store.

Fetching runs on an asyncio event loop (bounded overall by ``concurrency`` and per host by
``per_host``); parsing, which is CPU work, runs off the loop so it never eats into another
feed's download deadline: in worker processes, one per core, when the run has enough feeds to
pay for starting them (:mod:`.parse.pool`), else in a couple of threads. Either way a feed whose
parse runs past :data:`PARSE_TIME_LIMIT` fails alone: a worker process is killed; a thread cannot
be, so the run stops waiting for it (it is a daemon thread, which never holds up the exit).

The store is written from the loop's thread only, in batches: the feeds that are ready within
:data:`BATCH_DELAY` of the first of them are written together, in one transaction (or at once
when they hold :data:`BATCH_ENTRIES` entries), so a run costs a few transactions, not one per
feed. Feeds with entries are ready in a fixed order, by feed name, because it decides things a
reader sees: when two feeds carry the same story, the first one stored gives the item its title,
summary, URL and source. A feed with entries is ready as soon as every feed named before it is
done, so the same feeds give the same items whichever server answers first, and a run killed
half-way keeps every feed written before its last :data:`BATCH_DELAY`; running it again asks
the others again. Feeds without entries (unchanged, failed) depend on nothing and are ready when
they are done, so a run where every feed answers 304 costs one write. Every feed of a run is
stamped with the run's time. One failing feed is recorded on that feed and never stops the
others, and so is one whose write fails: a batch that cannot be written is rolled back and
written again feed by feed.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import Awaitable, Callable, Sequence
from contextlib import nullcontext, suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from .exceptions import FeedError, FetchError, Gone, NotFound, ParseError
from .models import EntryData, Feed, FeedState, FeedUpdate, FetchSettings
from .parse.discover import feed_links, looks_like_html
from .parse.feeds import parse_feed
from .parse.pool import ParsePool
from .sources import Fetched
from .sources.http import Politeness, Validators, fetch_http, make_client
from .sources.local import read_local
from .store import Store
from .update import failure, is_due, skip_reason, success

PARSE_THREADS = 2
POOL_MIN_FEEDS = 16  # below this, starting worker processes costs more than it saves
PARSE_TIME_LIMIT = 120.0  # seconds; a feed that takes longer to parse fails
BATCH_DELAY = 0.5  # seconds a feed ready to store may wait to be written with others
BATCH_ENTRIES = 5000  # a batch holding this many entries is written at once

T = TypeVar("T")
U = TypeVar("U")


def cores() -> int:
    """The cores this process may run on (a container may allow fewer than the machine has)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


@dataclass(frozen=True)
class FetchReport:
    """One line of ``kb fetch``'s summary."""

    feed: str
    status: str
    new_items: int = 0
    entries: int = 0
    error: str = ""
    moved_to: str = ""
    discovered: str = ""


Progress = Callable[[FetchReport], None]


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Outcome:
    update: FeedUpdate
    discovered: str = ""


def fetch_feeds(
    feeds: Sequence[Feed],
    store: Store,
    feeds_dir: Path,
    settings: FetchSettings,
    *,
    force: bool = False,
    progress: Progress | None = None,
    clock: Callable[[], datetime] | None = None,
) -> list[FetchReport]:
    """Fetch the due feeds (all of them with ``force``); return one report per feed, by name.

    ``clock`` is read once: its time is the run's, recorded on every feed it fetches.
    """
    store.sync_feeds(feeds)
    states = {s.name: s for s in store.feed_states()}
    now = (clock or wall_clock)()
    due = [f for f in feeds if force or is_due(states.get(f.name), now)]
    due_names = {f.name for f in due}
    reports = [
        FetchReport(f.name, "skipped", error=skip_reason(states.get(f.name)))
        for f in feeds
        if f.name not in due_names
    ]
    if due:
        run = _Run(store, feeds_dir, settings, states, progress, now)
        reports.extend(asyncio.run(run.all(due)))
    return sorted(reports, key=lambda r: r.feed)


class _Run:
    """One ``kb fetch``: shared client, limits and parse pool; the store is touched here only."""

    def __init__(
        self,
        store: Store,
        feeds_dir: Path,
        settings: FetchSettings,
        states: dict[str, FeedState],
        progress: Progress | None,
        now: datetime,
    ) -> None:
        self.store = store
        self.feeds_dir = feeds_dir
        self.settings = settings
        self.states = states
        self.progress = progress
        self.now = now

    async def all(self, feeds: Sequence[Feed]) -> list[FetchReport]:
        self.slots = asyncio.Semaphore(self.settings.concurrency)
        self.politeness = Politeness(self.settings.per_host)
        in_processes = len(feeds) >= POOL_MIN_FEEDS and cores() > 1
        workers = cores() if in_processes else PARSE_THREADS
        self.parse_slots = asyncio.Semaphore(workers)
        processes = ParsePool(workers, PARSE_TIME_LIMIT) if in_processes else nullcontext(None)
        with processes as procs:
            self.processes = procs
            async with make_client(self.settings) as client:
                self.client = client
                tasks = [asyncio.create_task(self.one(f)) for f in feeds]
                try:
                    return await self.save_in_order(tasks, sorted(f.name for f in feeds))
                finally:
                    for task in tasks:
                        task.cancel()

    async def save_in_order(
        self, tasks: Sequence[asyncio.Task[_Outcome]], order: list[str]
    ) -> list[FetchReport]:
        """Store outcomes as they come, in batches: those with entries in ``order`` (see the
        module)."""
        reports: list[FetchReport] = []
        waiting: dict[str, _Outcome] = {}
        unsaved = list(reversed(order))  # the next feed to store with entries is at the end
        batch: list[_Outcome] = []  # ready to store, not written yet
        write_at: float | None = None  # when they are written, whatever else is done by then
        done: asyncio.Queue[asyncio.Task[_Outcome]] = asyncio.Queue()
        for task in tasks:
            task.add_done_callback(done.put_nowait)
        left = len(tasks)
        while left:
            try:
                async with asyncio.timeout_at(write_at):
                    outcome = (await done.get()).result()
            except TimeoutError:
                reports += self.save_together(batch)
                batch, write_at = [], None
                continue
            left -= 1
            if outcome.update.entries:
                waiting[outcome.update.name] = outcome
            else:  # nothing that another feed's items depend on
                batch.append(outcome)
                unsaved.remove(outcome.update.name)
            while unsaved and unsaved[-1] in waiting:
                batch.append(waiting.pop(unsaved.pop()))
            if sum(len(o.update.entries) for o in batch) >= BATCH_ENTRIES:
                reports += self.save_together(batch)
                batch, write_at = [], None
            elif batch and write_at is None:
                write_at = asyncio.get_running_loop().time() + BATCH_DELAY
        return reports + self.save_together(batch)

    def save(self, outcome: _Outcome) -> FetchReport:
        """Store one feed's outcome; a write that fails is that feed's failure, not the run's.

        The failed write was rolled back (one transaction), so the failure is recorded in its
        place. If even that cannot be written, the store itself is broken: the run stops.
        """
        update = outcome.update
        try:
            new = self.store.save_update(update)
        except Exception as error:
            reason = f"could not be stored: {type(error).__name__}: {error}"
            update = self.failed(update.name, update.url, FeedError(update.name, reason))
            self.store.save_update(update)
            new, outcome = 0, _Outcome(update)
        return self.report(outcome, new)

    def save_together(self, outcomes: Sequence[_Outcome]) -> list[FetchReport]:
        """Store a batch of feeds in one transaction. If it fails (it was rolled back), store
        them one by one, in the same order, so that a feed whose write fails fails alone."""
        if not outcomes:
            return []
        try:
            new = self.store.save_updates([o.update for o in outcomes])
        except Exception:
            return [self.save(o) for o in outcomes]
        return [self.report(o, n) for o, n in zip(outcomes, new, strict=True)]

    def report(self, outcome: _Outcome, new: int) -> FetchReport:
        """The summary line of a stored outcome, handed to ``progress`` as well."""
        update = outcome.update
        report = FetchReport(
            feed=update.name,
            status=update.status,
            new_items=new,
            entries=len(update.entries),
            error=update.error,
            moved_to=update.moved_to,
            discovered=outcome.discovered,
        )
        if self.progress is not None:
            self.progress(report)
        return report

    async def one(self, feed: Feed) -> _Outcome:
        state = self.states.get(feed.name)
        try:
            async with self.slots:
                fetched, discovered = await self.get(feed, state)
            entries = await self.parse(feed, fetched) if not fetched.not_modified else []
            update = success(feed.name, fetched, entries, self.now, discovered)
            return _Outcome(update, discovered)
        except FeedError as error:
            return _Outcome(self.failed(feed.name, feed.url, error))
        except Exception as error:  # one feed's surprise must never stop the others
            wrapped = FeedError(feed.name, f"unexpected {type(error).__name__}: {error}")
            return _Outcome(self.failed(feed.name, feed.url, wrapped))

    def failed(self, name: str, url: str, error: FeedError) -> FeedUpdate:
        hours = self.settings.max_backoff_hours
        return failure(name, url, error, self.states.get(name), self.now, hours)

    async def get(self, feed: Feed, state: FeedState | None) -> tuple[Fetched, str]:
        """The feed's bytes, and the feed URL an HTML page led to (``""`` if it is the feed).

        A feed found through a page is remembered on the feed's row and fetched directly on
        later runs, with its own validators, so an unchanged feed costs one conditional request.
        If it has since disappeared (404/410) or turned into a page, the page is read again.
        """
        if not feed.is_remote:
            return await asyncio.to_thread(
                _read_local, feed, state, self.feeds_dir, self.settings
            ), ""
        remembered = _remembered(feed, state)
        if not remembered:
            return await self.discover(feed, _validators(feed, state))
        try:
            fetched = await self.http(feed.name, remembered, _validators(feed, state))
        except (NotFound, Gone):
            return await self.discover(feed, Validators())
        if not fetched.not_modified and looks_like_html(fetched.data, fetched.content_type):
            return await self.discover(feed, Validators())
        # A permanent redirect of the discovered feed moves what we remember, not feeds.yml.
        return replace(fetched, moved_to=""), fetched.moved_to or remembered

    async def discover(self, feed: Feed, validators: Validators) -> tuple[Fetched, str]:
        """Fetch the configured URL; if it is an HTML page, follow its ``rel="alternate"`` link."""
        page = await self.http(feed.name, feed.url, validators)
        if page.not_modified or not looks_like_html(page.data, page.content_type):
            return page, ""
        links = feed_links(page.data, page.url)
        if not links:
            raise FetchError(feed.name, "the URL is an HTML page that links to no feed")
        found = await self.http(feed.name, links[0], validators)
        return replace(found, moved_to=page.moved_to), found.moved_to or links[0]

    async def http(self, name: str, url: str, validators: Validators) -> Fetched:
        return await fetch_http(self.client, name, url, validators, self.settings, self.politeness)

    async def parse(self, feed: Feed, fetched: Fetched) -> list[EntryData]:
        """Entries of the feed, parsed by a worker process if the run has them, else a thread.

        A worker that runs past the time limit is killed by the pool. A thread cannot be: the
        run stops waiting for it and gives its slot to the next feed.
        """
        args = (feed.name, fetched.data, fetched.url, fetched.content_type)
        async with self.parse_slots:  # the time limit starts when the parse does
            if self.processes is not None:
                return await in_daemon_thread(self.processes.parse, *args)
            try:
                return await asyncio.wait_for(in_daemon_thread(parse_feed, *args), PARSE_TIME_LIMIT)
            except TimeoutError:
                limit = f"{PARSE_TIME_LIMIT:g}"
                raise ParseError(feed.name, f"gave up parsing after {limit} s") from None


def in_daemon_thread(work: Callable[..., T], *args: object) -> Awaitable[T]:
    """``work(*args)`` in a new daemon thread; a future of its result on the running loop.

    Not an executor: ``ThreadPoolExecutor`` threads are joined when the interpreter exits, so
    one parse stuck for good would keep ``kb`` from ever exiting. A daemon thread is abandoned.
    """
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[T] = loop.create_future()

    def settle(result: T) -> None:
        if not answer.done():  # else the run stopped waiting (time limit, or cancelled)
            answer.set_result(result)

    def fail(error: BaseException) -> None:
        if not answer.done():
            answer.set_exception(error)

    def run() -> None:
        try:
            result = work(*args)
        except BaseException as error:  # handed to the loop, which reports it on the feed
            _tell(loop, fail, error)
        else:
            _tell(loop, settle, result)

    threading.Thread(target=run, name="kb-parse", daemon=True).start()
    return answer


def _tell(loop: asyncio.AbstractEventLoop, callback: Callable[[U], None], value: U) -> None:
    """Run ``callback(value)`` on ``loop`` from another thread, unless the loop is closed (the
    run is over: nobody wants the answer any more)."""
    with suppress(RuntimeError):
        loop.call_soon_threadsafe(callback, value)


def _remembered(feed: Feed, state: FeedState | None) -> str:
    """The feed URL that the configured page led to last time, if it is still the same page."""
    if state is None or state.url != feed.url:
        return ""
    return state.discovered


def _validators(feed: Feed, state: FeedState | None) -> Validators:
    """Send the last validators only if they belong to the URL configured now."""
    if state is None or state.url != feed.url:
        return Validators()
    return Validators(state.etag, state.last_modified)


def _read_local(
    feed: Feed, state: FeedState | None, feeds_dir: Path, settings: FetchSettings
) -> Fetched:
    """A file under ``feeds/``, with its content hash as ETag so an unchanged file is not parsed."""
    fetched = read_local(feed.name, feed.url, feeds_dir, settings.max_bytes)
    etag = hashlib.sha256(fetched.data).hexdigest()
    if state is not None and state.etag == etag and state.url == feed.url:
        return Fetched(url=feed.url, not_modified=True, etag=etag)
    return Fetched(url=feed.url, data=fetched.data, etag=etag)


__all__ = ["FetchReport", "Progress", "fetch_feeds", "wall_clock"]
