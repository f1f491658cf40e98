"""Feed files from feedparser's and reader's test suites (tests/data/feeds/thirdparty/): each one
parses, or fails as that feed alone, through the parser worker processes a run uses; what comes
out is clean. A few well-known files are checked exactly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from generator.exceptions import ParseError
from generator.ingest import fetch_feeds
from generator.models import EntryData, Feed, FetchSettings
from generator.parse.pool import ParsePool
from generator.store import Store

THIRDPARTY = Path(__file__).resolve().parent / "data" / "feeds" / "thirdparty"
FILES = sorted(
    p.relative_to(THIRDPARTY).as_posix()
    for p in THIRDPARTY.rglob("*")
    if p.is_file() and p.name not in ("LICENSE", "README.md")
)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e]")
UNSAFE_HTML = re.compile(
    r"<(script|style|iframe|object|embed|form|meta|link|base)\b|\son\w+\s*=|javascript:|data:",
    re.IGNORECASE,
)
NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def pool() -> Iterator[ParsePool]:
    with ParsePool(2, time_limit=60) as workers:
        yield workers


def parse(pool: ParsePool, name: str) -> list[EntryData]:
    data = (THIRDPARTY / name).read_bytes()
    return pool.parse(name, data, f"https://example.org/{name}")


def test_the_selection_is_large_and_licensed() -> None:
    assert len(FILES) > 400
    assert "Kurt McKee" in (THIRDPARTY / "feedparser" / "LICENSE").read_text()
    assert "lemon24" in (THIRDPARTY / "reader" / "LICENSE").read_text()


@pytest.mark.parametrize("name", FILES)
def test_every_file_parses_or_fails_alone_and_comes_out_clean(pool: ParsePool, name: str) -> None:
    try:
        entries = parse(pool, name)
    except ParseError as error:  # a clean, named failure ("not a feed", "invalid XML ...")
        assert error.feed == name and error.reason
        return
    for entry in entries:
        assert entry.title, entry
        for text in (entry.title, entry.summary, entry.author, *entry.categories):
            assert not CONTROL.search(text), (name, text)
        assert entry.url == "" or entry.url.startswith(("http://", "https://"))
        assert not UNSAFE_HTML.search(entry.summary_html), (name, entry.summary_html)
        assert entry.published is None or entry.published.year >= 1970


def test_reader_full_rss(pool: ParsePool) -> None:
    first, second = parse(pool, "reader/full.rss")
    assert (first.url, first.title, first.author) == (
        "http://www.example.com/blog/post/1",
        "Example entry",
        "Example editor",
    )
    assert first.summary == "Here is some text containing an interesting description."
    assert first.published == datetime(2009, 9, 6, 16, 20, tzinfo=UTC)
    assert (second.url, second.title) == ("", "Example entry, again")


def test_reader_full_atom(pool: ParsePool) -> None:
    first, second = parse(pool, "reader/full.atom")
    assert (first.url, first.title, first.author) == (
        "http://example.org/2003/12/13/atom03",
        "Atom-Powered Robots Run Amok",
        "John Doe",
    )
    assert first.published == datetime(2003, 12, 13, 17, 17, 51, tzinfo=UTC)
    assert second.title == "Atom-Powered Robots Run Amok Again"


def test_reader_full_json_keeps_the_item_with_only_an_id_and_content(pool: ParsePool) -> None:
    second, initial = parse(pool, "reader/full.json")
    assert (second.url, second.title, second.summary) == (
        "https://example.org/second-item",
        "Title",
        "Content with link",  # content_html is the item's main text
    )
    assert second.published == datetime(2020, 1, 2, 21, tzinfo=UTC)
    assert (initial.url, initial.title) == ("https://example.org/initial-post", "Hello, world!")


def test_feedparser_ill_formed_files(pool: ParsePool) -> None:
    with pytest.raises(ParseError, match="no element found"):
        parse(pool, "feedparser/illformed/rss_empty_document.xml")
    (entry,) = parse(pool, "feedparser/illformed/rss_item_link_corrupted_ampersands.xml")
    assert entry.url == entry.title == "http://link/get?a=1&b=2"  # no title: the link stands in


def test_the_whole_selection_through_kb_fetch_stores_every_feed_or_its_failure(
    store: Store,
) -> None:
    """Hundreds of feeds in one run (so in worker processes): every one gets a report."""
    feeds = [Feed(f"f{i:03d}", name) for i, name in enumerate(FILES)]
    reports = fetch_feeds(feeds, store, THIRDPARTY, FetchSettings(), clock=lambda: NOW)
    assert len(reports) == len(FILES)
    failed = {r.feed: r.error for r in reports if r.status != "ok"}
    assert all("unexpected" not in e and "crashed" not in e for e in failed.values()), failed
    assert len(failed) < len(FILES) // 20
    assert len(store.items()) > 50  # many test files share their URLs and titles: one story
