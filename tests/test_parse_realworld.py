"""Real-world feed shapes that used to lose or garble entries, parsed from tests/data/feeds."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from generator.exceptions import ParseError
from generator.models import EntryData
from generator.parse import parse_feed
from generator.parse.feeds import defuse_doctype
from generator.parse.normalize import stable_id

FEEDS = Path(__file__).resolve().parent / "data" / "feeds"


def parse(name: str, base: str = "https://base.example/feed") -> list[EntryData]:
    return parse_feed(name, (FEEDS / name).read_bytes(), base)


def test_entries_of_one_page_told_apart_by_fragments_stay_apart() -> None:
    entries = parse("now-page.xml")
    assert [e.url for e in entries] == [
        "https://jane.example/now#2026-11-12",
        "https://jane.example/now#2026-11-05",
        "https://jane.example/now#2026-10-29",  # listed twice with one id: one entry
    ]
    assert len({e.id for e in entries}) == 3


def test_comments_keep_their_anchor_and_those_without_one_their_own_id() -> None:
    entries = parse("comments.xml")
    assert [(e.author, e.url) for e in entries] == [
        ("Sam", "https://wire.example/2026/11/detention-fees/#comment-101"),
        ("Ana", "https://wire.example/2026/11/detention-fees/#comment-102"),
        ("Lee", "https://wire.example/2026/11/detention-fees/"),
        ("Kim", "https://wire.example/2026/11/detention-fees/"),
    ]
    assert len({e.id for e in entries}) == 4


def test_a_lone_link_with_a_fragment_is_the_page_it_points_to() -> None:
    """One entry per page: the fragment goes, so another feed linking the page is the same."""
    one = (FEEDS / "comments.xml").read_text().split("<item>")
    doc = one[0] + "<item>" + one[1] + "</channel></rss>"
    (entry,) = parse_feed("one", doc.encode(), "https://wire.example/")
    assert entry.url == "https://wire.example/2026/11/detention-fees/"
    assert entry.id == stable_id("https://wire.example/2026/11/detention-fees/")


def test_items_without_title_or_link_are_kept_with_a_title_from_their_text() -> None:
    first, second = parse("untitled.xml")  # the third has neither text nor link: nothing to keep
    assert first.url == ""
    assert first.title.startswith("Yard trucks at the north gate wait 40 minutes on Mondays;")
    assert first.title.endswith(" we talk…") and len(first.title) <= 120  # cut at a word
    assert first.summary.endswith("at other ports this winter.")
    assert (second.title, second.summary) == (
        "Reefer plugs are full again.",
        "Reefer plugs are full again.",
    )
    assert first.id != second.id


def test_titles_follow_their_declared_type() -> None:
    assert [e.title for e in parse("titles.xml")] == [
        "History of the <blink> tag",
        "Vec<[T]> is not what you think",
        "Bold & brave",  # markup: the words only
    ]


def test_the_summary_is_the_article_not_a_caption_in_another_language() -> None:
    hamburg, pilot = parse("caption.xml")
    assert hamburg.summary == (
        "The terminal will run three night shifts a week until January to clear containers"
        " waiting for trucks."
    )
    assert "Containerbrücke" not in hamburg.summary_html
    # The full content is the same entry told at length: it wins over the teaser.
    assert pilot.summary.startswith("Gate times fell by a third in the first month")


def test_blocks_separate_words_and_fallback_text_never_leaks() -> None:
    _, pilot = parse("caption.xml")
    assert pilot.summary == (
        "Gate times fell by a third in the first month of the pilot."
        " We did not expect it this fast said the terminal manager."
        " Before 45 min After 30 min"
    )
    for leaked in ("JavaScript", "iframes", "chart.png", "&lt;"):
        assert leaked not in pilot.summary
        assert leaked not in pilot.summary_html


def test_placeholder_dates_are_missing() -> None:
    dates = {e.title: e.published for e in parse("hugo-dates.xml")}
    assert dates == {
        "About this handbook": None,
        "Epoch placeholder": None,
        "Detention and demurrage, explained": datetime(2026, 11, 9, 10, tzinfo=UTC),
    }


def test_lone_surrogates_are_dropped_and_the_feed_is_kept() -> None:
    first, untitled, vec = parse("surrogates.json")
    assert first.title == "Broken emoji in a title"
    assert first.summary == "Half an emoji in the body, and a whole one 💩."
    assert "\ud83d" not in first.summary_html and "💩" in first.summary_html
    assert (untitled.url, untitled.title) == ("", untitled.summary)
    assert untitled.summary.startswith("Only an id and a text")
    assert (vec.title, vec.published) == ("Vec<[T]> & friends", None)
    for entry in (first, untitled, vec):
        entry.title.encode("utf-8")  # nothing left that cannot be written
        entry.summary_html.encode("utf-8")


def test_a_doctype_inside_cdata_or_a_comment_does_not_cut_the_document() -> None:
    data = (FEEDS / "doctype-in-cdata.xml").read_bytes()
    assert defuse_doctype(data) is data
    first, after = parse("doctype-in-cdata.xml")
    assert first.title == "Why <!DOCTYPE html> comes first"
    assert first.summary == "Write <!DOCTYPE html> first, then <html>."
    assert after.title == "The item after it"


def test_a_doctype_in_the_prolog_goes_with_its_internal_subset() -> None:
    doc = (
        b'<?xml version="1.0"?>\n<!-- a <!DOCTYPE in a comment -->\n'
        b'<!DOCTYPE rss [ <!ENTITY a "]>x"> <!ENTITY b "y"> ]>\n<rss/>'
    )
    assert (
        defuse_doctype(doc) == b'<?xml version="1.0"?>\n<!-- a <!DOCTYPE in a comment -->\n\n<rss/>'
    )


def test_an_invalid_feed_whose_items_are_lost_fails_instead_of_reading_as_empty() -> None:
    with pytest.raises(ParseError) as caught:
        parse("unclosed-cdata.xml")
    assert str(caught.value) == (
        "feed unclosed-cdata.xml: invalid XML (line 39: unclosed CDATA section):"
        " none of its 35 items could be read"
    )
    assert parse("no-items.xml") == []  # a valid, quiet feed is still fine
