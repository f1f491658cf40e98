"""The site's parts on their own: Atom feeds, the hand-off manifest, feed health, the archive."""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import feedparser
from conftest import run_kb
from hypothesis import given
from hypothesis import strategies as st

from generator.models import Account, Feed, FeedState, Item
from generator.site.atom import AtomEntry, atom_feed
from generator.site.health import feed_health
from generator.site.manifest import AtomLink, NavEntry, SitePages, read_manifest, write_manifest
from generator.site.pages import linker

ATOM = "{http://www.w3.org/2005/Atom}"
NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)
_NOT_XML = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def words(text: str) -> str:
    return " ".join(_NOT_XML.sub("", text).split())


@given(title=st.text(), summary=st.text(), link=st.text(max_size=40))
def test_any_text_makes_a_valid_atom_feed(title: str, summary: str, link: str) -> None:
    entry = AtomEntry("k", title, "https://example.com/" + link, NOW, summary)
    xml = atom_feed(namespace="team/x", author="Team & <Co>", title=title, self_link="x.xml",
                    page_link="x.html", updated=NOW, entries=[entry])  # fmt: skip
    parsed = feedparser.parse(xml.encode("utf-8"))
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert len(parsed.entries) == 1
    assert parsed.entries[0].id.startswith("urn:uuid:")
    # the text itself, read back by a strict XML parser (feedparser guesses at encodings)
    root = ET.fromstring(xml.encode("utf-8"))
    back = root.find(
        f"{ATOM}entry/{ATOM}summary" if summary.strip() else f"{ATOM}entry/{ATOM}title"
    )
    expected = summary if summary.strip() else title
    if back is not None and words(expected):
        assert " ".join((back.text or "").split()) == words(expected)


def test_entry_ids_are_stable_and_distinct() -> None:
    def feed(*keys: str) -> list[str]:
        entries = [AtomEntry(k, k, "", NOW) for k in keys]
        xml = atom_feed(namespace="team/t", author="T", title="t", self_link="t.xml",
                        page_link="t.html", updated=NOW, entries=entries)  # fmt: skip
        return [e.id for e in feedparser.parse(xml).entries]

    first = feed("a", "b")
    assert first == feed("a", "b") and len(set(first)) == 2
    assert feed("b")[0] == first[1]


segment = st.sampled_from(["a", "b", "index", "page", "2"])
doc_path = st.lists(segment, min_size=0, max_size=3).map(lambda p: "/".join([*p, "x.md"]))


@given(from_uri=doc_path, to_uri=doc_path)
def test_page_links_are_what_relpath_gives(from_uri: str, to_uri: str) -> None:
    expected = posixpath.relpath(to_uri, posixpath.dirname(from_uri) or ".")
    assert linker(from_uri)(to_uri) == expected


def test_the_manifest_round_trips(tmp_path: Path) -> None:
    pages = SitePages(
        now=NOW,
        files={"index.md": "# Home\n", "atom/x.xml": "<feed/>"},
        nav=(NavEntry("Home", "index.md"), NavEntry("Topics", children=(NavEntry("T", "t.md"),))),
        feeds=(AtomLink("atom/x.xml", "X"),),
    )
    path = tmp_path / ".kb" / "site-pages.json"
    write_manifest(path, pages)
    assert read_manifest(path) == pages
    assert [p.name for p in path.parent.iterdir()] == ["site-pages.json"], "no temp file left"


def test_feed_health_counts_this_month_and_finds_lost_coverage() -> None:
    feeds = [
        Feed("a", "https://a.example/feed", "A", ("t1", "t2")),
        Feed("b", "https://b.example/feed", "B", ("t2",)),
        Feed("c", "https://c.example/feed", "C", ("t3",)),
    ]
    states = [
        FeedState("a", feeds[0].url, "error", last_error="HTTP 500\x1b[2J <b>bold</b>"),
        FeedState("b", feeds[1].url, "ok", last_success=NOW),
        FeedState("c", feeds[2].url, "gone", last_error="HTTP 410"),
    ]
    accounts = [
        Account("one", "One", topics=("t1",)),
        Account("two", "Two", topics=("t2",)),
        Account("three", "Three", topics=("t3", "t2")),
    ]

    def item(n: int, day: int, month: int = 11) -> Item:
        moment = datetime(2026, month, day, tzinfo=UTC)
        return Item(str(n), "", "t", "", "", moment, moment, ("a", "b") if n % 2 else ("b",))

    items = [item(1, 2), item(2, 15), item(3, 31, 10), item(4, 20)]  # the 20th is after "now"
    rows = {r.feed.name: r for r in feed_health(feeds, states, accounts, items, NOW)}
    assert [r.feed.name for r in feed_health(feeds, states, accounts, items, NOW)] == [
        "a",
        "c",
        "b",
    ]
    assert rows["a"].items_this_month == 1 and rows["b"].items_this_month == 2
    assert rows["a"].last_error == "HTTP 500 bold"
    assert [a.slug for a in rows["a"].uncovered] == ["one"], "t2 still comes from b"
    assert [a.slug for a in rows["c"].uncovered] == ["three"]
    assert rows["b"].uncovered == () and rows["b"].last_error == ""


def test_the_newsletter_archive_is_listed_and_in_the_feed(example: Path) -> None:
    archive = example / "content" / "newsletters"
    archive.mkdir()
    (archive / "2026-W46.md").write_text(
        "---\nweek: 2026-W46\ntitle: 'Northbeam weekly: 2026-W46'\nitems:\n"
        "- url: https://a.example/1\n  title: One\n- url: https://a.example/2\n  title: Two\n"
        "notes:\n- detention-cost-conversation\n---\n# Northbeam weekly: 2026-W46\n\nText.\n"
    )
    assert run_kb("--project", example, "build").exit_code == 0
    site = example / "site"
    index = (site / "newsletters" / "index.html").read_text()
    assert index.index("2026-W47.html") < index.index("2026-W46.html"), "newest first"
    assert "Northbeam weekly: 2026-W46" in index
    assert (site / "newsletters" / "2026-W46.html").exists()
    parsed = feedparser.parse((site / "atom" / "newsletter.xml").read_bytes())
    assert parsed.bozo == 0
    assert [e.title for e in parsed.entries][1] == "Northbeam weekly: 2026-W46"
    assert parsed.entries[0].title.endswith("2026-W47")
    assert parsed.entries[1].summary == "2 stories, 1 note from the team."
    assert parsed.entries[1].link == "../newsletters/2026-W46.html"
