"""Real-world feed shapes that used to lose or garble entries, parsed from tests/data/feeds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


_PIECES = st.sampled_from(
    [
        "<item>", "</item>", "<title>", "</title>", "<link>https://x.example/a#f</link>",
        "<link>https://x.example/a</link>", "<guid>g</guid>", "<guid>h</guid>",
        "<description>", "</description>", "<![CDATA[", "]]>", "<!--", "-->", "<!DOCTYPE x>",
        "<!ENTITY e 'boom'>", "&e;", "&#xD800;", "&#56320;",
        "&#x110000;", "&#99999999999;", "&#0;", "&amp;", "<p>", "</p>", "<td>",
        "<noscript>", "<pubDate>Mon, 01 Jan 0001 00:00:00 +0000</pubDate>",
        "<pubDate>Tue, 10 Nov 2026 10:00:00 +0000</pubDate>", "\x1b[2J", "\ufeff", "words",
    ]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(_PIECES | st.text(max_size=8), max_size=25).map("".join))
def test_any_rss_shaped_document_parses_or_fails_cleanly(body: str) -> None:
    doc = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'
    try:
        entries = parse_feed("fuzz", doc.encode("utf-8", "surrogatepass"), "https://x.example/")
    except ParseError:
        return
    assert len({e.id for e in entries}) == len(entries)  # each entry once
    for entry in entries:
        assert entry.title
        assert entry.published is None or entry.published.year >= 1970
        for text in (entry.title, entry.summary, entry.summary_html, entry.url):
            text.encode("utf-8")
            assert "\x1b" not in text and "\ufeff" not in text


@given(st.integers(0, 0x20FFFF), st.booleans())
def test_character_references_that_stand_for_no_character_become_u_fffd(
    value: int, hexadecimal: bool
) -> None:
    ref = f"&#x{value:X};" if hexadecimal else f"&#{value};"
    doc = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>'
        f"a {ref} b</title><link>https://x.example/</link></item></channel></rss>"
    )
    (entry,) = parse_feed("refs", doc.encode(), "https://x.example/")
    if 0xD800 <= value <= 0xDFFF or value > 0x10FFFF:
        assert entry.title == "a \ufffd b"
    entry.title.encode("utf-8")


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
_JSON_FIELDS = ["id", "url", "external_url", "title", "content_html", "content_text", "summary",
                "date_published", "date_modified", "author", "authors", "tags"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(_JSON_FIELDS), _json_values), max_size=4))
def test_any_json_feed_items_parse_or_fail_cleanly(items: list[dict[str, object]]) -> None:
    doc = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": items})
    try:
        entries = parse_feed("fuzz.json", doc.encode(), "https://x.example/")
    except ParseError:
        return
    for entry in entries:
        assert entry.title and entry.url in ("", entry.url.strip())
