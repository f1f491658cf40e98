"""Parsing in worker processes: the same entries as in-process, and a feed that kills or hangs
its worker fails alone, with a reason, while the pool goes on."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from feedserver import LOOPBACK, RSS, feed_bytes, generated_rss, serve_file
from pytest_httpserver import HTTPServer

from generator import ingest
from generator.exceptions import FeedError, ParseError
from generator.ingest import fetch_feeds
from generator.models import EntryData, Feed, FetchSettings
from generator.parse import parse_feed
from generator.parse.pool import ParsePool
from generator.store import Store

FEEDS = Path(__file__).resolve().parent / "data" / "feeds"
BIG = generated_rss(10_000)  # about 3 s to parse: long enough to be killed or timed out


@pytest.fixture
def pool() -> Iterator[ParsePool]:
    with ParsePool(2, time_limit=30) as opened:
        yield opened


def outcome(parse: Callable[[str, bytes, str, str], list[EntryData]], name: str) -> object:
    data = (FEEDS / name).read_bytes()
    try:
        return parse(name, data, "https://base.example/feed", "")
    except FeedError as e:
        return f"{type(e).__name__}: {e}"


def test_workers_parse_every_test_feed_exactly_as_in_process(pool: ParsePool) -> None:
    names = sorted(p.name for p in FEEDS.iterdir() if p.is_file())
    assert len(names) > 10
    for name in names:
        assert outcome(pool.parse, name) == outcome(parse_feed, name), name


def test_a_feed_that_parses_too_long_fails_and_the_next_gets_a_new_worker() -> None:
    """The limit (1 s) counts parsing only, not the worker's start-up; BIG takes about 3 s
    on an idle machine, longer on a busy one; a small feed takes milliseconds."""
    with ParsePool(1, time_limit=1.0) as pool:
        pool.parse("warm", feed_bytes("rss.xml"))
        [first] = pool.pids()
        started = time.monotonic()
        with pytest.raises(ParseError, match=r"^feed big: gave up parsing after 1 s$"):
            pool.parse("big", BIG)
        assert time.monotonic() - started < 10  # 10x the limit: the parse was cut short
        assert len(pool.parse("rss", feed_bytes("rss.xml"), "https://base.example/")) == 2
        assert pool.pids() != [first]


def test_a_worker_killed_mid_parse_fails_only_its_feed() -> None:
    pool = ParsePool(1, time_limit=30)
    pool.parse("warm", feed_bytes("rss.xml"))
    errors: list[str] = []

    def parse_big() -> None:
        try:
            pool.parse("big", BIG)
        except ParseError as e:
            errors.append(str(e))

    thread = threading.Thread(target=parse_big)
    thread.start()
    time.sleep(0.5)  # the only worker started so far is parsing BIG
    [busy] = pool.pids()
    os.kill(busy, signal.SIGKILL)
    thread.join(10)
    assert errors == ["feed big: the parser crashed (killed by SIGKILL)"]
    assert len(pool.parse("rss", feed_bytes("rss.xml"))) == 2
    assert busy not in pool.pids()
    pool.close()


def test_closing_the_pool_ends_its_workers(pool: ParsePool) -> None:
    pool.parse("warm", feed_bytes("rss.xml"))
    pids = pool.pids()
    pool.close()
    assert pool.pids() == []
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_run_with_many_feeds_parses_in_workers_and_survives_a_slow_one(
    server: HTTPServer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "POOL_MIN_FEEDS", 2)
    monkeypatch.setattr(ingest, "PARSE_TIME_LIMIT", 1.0)  # start-up is not counted
    monkeypatch.setattr(ingest, "cores", lambda: 2)

    def in_process_only(*args: object) -> None:
        raise AssertionError("parsed in the fetching process")

    monkeypatch.setattr(ingest, "parse_feed", in_process_only)
    server.expect_request("/big").respond_with_data(BIG, content_type=RSS)
    feeds = [
        Feed("atom", serve_file(server, "/atom", "atom.xml")),
        Feed("big", server.url_for("/big")),
        Feed("rss", serve_file(server, "/rss", "rss.xml")),
    ]
    settings = FetchSettings(
        max_bytes=8 * 1024 * 1024, deadline=30, read_timeout=10, allow_private=LOOPBACK
    )
    now = datetime(2026, 11, 16, 9, tzinfo=UTC)
    reports = {r.feed: r for r in fetch_feeds(feeds, store, Path("."), settings, clock=lambda: now)}
    assert (reports["big"].status, reports["big"].error) == (
        "error",
        "gave up parsing after 1 s",
    )
    assert {n: (r.status, r.entries) for n, r in reports.items() if n != "big"} == {
        "atom": ("ok", 1),
        "rss": ("ok", 2),
    }
