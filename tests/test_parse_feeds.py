"""Parsing real feed files from tests/data/feeds into EntryData."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.exceptions import ParseError
from generator.models import EntryData
from generator.parse import parse_feed
from generator.parse.discover import feed_links, looks_like_html
from generator.parse.feeds import defuse_doctype

FEEDS = Path(__file__).resolve().parent / "data" / "feeds"


def parse(
    name: str, base: str = "https://base.example/feed", content_type: str = ""
) -> list[EntryData]:
    return parse_feed(name, (FEEDS / name).read_bytes(), base, content_type)


def test_rss_entries_are_normalized() -> None:
    first, second = parse("rss.xml")
    assert first == EntryData(
        feed="rss.xml",
        id=first.id,
        url="https://courier.example/2026/11/reefer-capacity?id=7",
        title="Reefer capacity tightens ahead of the holidays",
        summary="Spot rates for refrigerated loads rose 9 % week over week. See rates.",
        summary_html=(
            "<p>Spot rates for <b>refrigerated</b> loads rose 9 % week over week. "
            '<a href="https://courier.example/rates" rel="noopener noreferrer nofollow">'
            "See rates</a>.</p>"
        ),
        published=datetime(2026, 11, 9, 19, 30, tzinfo=UTC),
        author="Dana Ortiz",
        categories=("cold-chain", "capacity"),
    )
    assert second.url == "https://courier.example/2026/11/detention-fees"
    assert second.summary == "Short teaser. And the full article body, longer than the teaser."


def test_ids_are_stable_across_parses() -> None:
    assert [e.id for e in parse("rss.xml")] == [e.id for e in parse("rss.xml")]


def test_atom() -> None:
    [entry] = parse("atom.xml")
    assert entry.title == "Allergen changeovers <em>cost</em> a shift a week"
    assert entry.published == datetime(2026, 11, 10, 7, 0, tzinfo=UTC)
    assert (entry.author, entry.categories) == ("Sam Lee", ("food-safety",))
    assert entry.summary_html == "<p>Plants lose <strong>6 hours</strong> a week.</p>"


def test_json_feed_1_1() -> None:
    first, second = parse("jsonfeed.json", content_type="application/feed+json")
    assert first.url == "https://healthops.example/posts/boarding"
    assert first.title == "ED boarding <hits> a record"
    assert first.summary_html == "<p>Boarding hours rose again.</p>"
    assert first.published == datetime(2026, 11, 12, 18, 0, tzinfo=UTC)
    assert (first.author, first.categories) == ("Ria Patel", ("patient-flow", "ed"))
    assert (second.url, second.author) == ("", "Editorial desk")
    assert second.summary == "Plain <text> & more"
    assert second.summary_html == "Plain &lt;text&gt; &amp; more"


def test_a_wrongly_declared_encoding_keeps_its_entries() -> None:
    [entry] = parse("wrong-encoding.xml")
    assert (entry.title, entry.summary) == ("Crème brûlée sales up", "Déjà vu for pâtissiers")


def test_broken_xml_keeps_what_feedparser_recovered() -> None:
    titles = [e.title for e in parse("broken-xml.xml")]
    assert titles == ["Unescaped & ampersand here", "Second item"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.xml", "feed empty.xml: empty document"),
        ("blank.xml", "feed blank.xml: empty document"),
        (
            "garbage.bin",
            "feed garbage.bin: not a valid RSS/Atom/JSON feed "
            "(line 2: not well-formed (invalid token))",
        ),
        (
            "page-without-feed.html",
            "feed page-without-feed.html: not a valid RSS/Atom/JSON feed "
            "(text/html is not an XML media type)",
        ),
    ],
)
def test_not_a_feed(name: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(name, content_type="text/html" if name.endswith(".html") else "")
    assert str(caught.value) == message


@pytest.mark.parametrize("content_type", ["", "application/rss+xml", "text/xml"])
def test_a_feed_with_no_items_is_a_quiet_feed_not_a_broken_one(content_type: str) -> None:
    assert parse("no-items.xml", content_type=content_type) == []


def test_an_atom_feed_with_no_entries_parses_to_nothing() -> None:
    atom = b'<feed xmlns="http://www.w3.org/2005/Atom"><title>Quiet</title></feed>'
    assert parse_feed("quiet", atom) == []


def test_invalid_json_feed() -> None:
    with pytest.raises(ParseError, match=r"^feed j: invalid JSON feed: no 'items' list$"):
        parse_feed("j", b'{"version": "x"}')


def test_a_body_naming_a_local_file_is_not_read_from_disk(tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_bytes((FEEDS / "rss.xml").read_bytes())
    with pytest.raises(ParseError):
        parse_feed("evil", str(secret).encode())


@pytest.mark.parametrize("name", ["billion-laughs.xml", "quadratic-blowup.xml"])
def test_entity_declarations_never_expand(name: str) -> None:
    [entry] = parse(name)
    assert len(entry.summary) < 70_000
    assert "lollol" not in entry.summary and "aaaa" not in entry.summary


def test_defuse_doctype_keeps_documents_without_one() -> None:
    plain = (FEEDS / "rss.xml").read_bytes()
    assert defuse_doctype(plain) is plain
    netscape = b'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//N//EN" "x.dtd">\n<rss/>'
    assert defuse_doctype(netscape) == b'<?xml version="1.0"?>\n\n<rss/>'


def test_hostile_markup_is_gone() -> None:
    hostile, ordinary = parse("hostile.xml")
    assert hostile.url == ""
    # feedparser reads this RSS title as plain text (a script is not markup it recognises): its
    # characters are kept, with the escape sequence gone, and escaped wherever it is shown.
    assert hostile.title == "<script>alert(1)</script>Totally normal title red"
    assert hostile.summary_html == (
        '<p>Hello<a rel="noopener noreferrer nofollow">click</a>'
        '<a href="https://ok.example/" rel="noopener noreferrer nofollow">ok</a>'
        '<img src="https://base.example/x"></p><p></p>'
    )
    assert ordinary.url == "https://hostile.example/ordinary"


def test_missing_and_garbled_dates_are_none() -> None:
    dates = {e.url.rsplit("/", 1)[1]: e.published for e in parse("dates.xml")}
    assert dates == {
        "undated": None,
        "future": datetime(2100, 1, 1, tzinfo=UTC),
        "garbled": None,
        "offset": datetime(2026, 11, 11, 7, 30, tzinfo=UTC),
    }


def test_autodiscovery_prefers_the_pages_main_feed() -> None:
    page = (FEEDS / "page-with-feed.html").read_bytes()
    assert looks_like_html(page)
    assert looks_like_html(b"anything", "text/html; charset=utf-8")
    assert not looks_like_html((FEEDS / "rss.xml").read_bytes(), "application/xml")
    assert feed_links(page, "https://courier.example/blog/") == [
        "https://courier.example/feed.xml",
        "https://courier.example/atom.xml",
        "https://courier.example/comments.json",
    ]
    assert feed_links((FEEDS / "page-without-feed.html").read_bytes(), "https://x.example/") == []


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_either_parse_or_raise_parse_error(data: bytes) -> None:
    try:
        entries = parse_feed("fuzz", data)
    except ParseError:
        return
    for entry in entries:
        assert entry.url == "" or entry.url.startswith(("http://", "https://"))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_any_text_in_an_item_comes_out_clean(text: str) -> None:
    from xml.sax.saxutils import escape

    doc = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>x{escape(text)}</title><link>https://x.example/a</link>"
        f"<description>{escape(text)}</description></item></channel></rss>"
    ).encode("utf-8", "surrogatepass")
    try:
        entries = parse_feed("fuzz", doc)
    except ParseError:
        return
    for entry in entries:
        for value in (entry.title, entry.summary):
            assert "\x1b" not in value and "\n" not in value
        assert "<script" not in entry.summary_html.lower()


@settings(max_examples=60, deadline=None)
@given(
    value=st.text(alphabet="ab &;<>\"'", min_size=1, max_size=200),
    nested=st.integers(min_value=0, max_value=4),
    uses=st.integers(min_value=1, max_value=300),
    one_line=st.booleans(),
)
def test_no_entity_declaration_ever_grows_the_text(
    value: str, nested: int, uses: int, one_line: bool
) -> None:
    """Whatever the DOCTYPE declares, the parsed text is never much longer than the document."""
    sep = "" if one_line else "\n"
    decls = [f'<!ENTITY e0 "{value}">']
    decls += [f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, nested + 1)]
    doc = (
        f'<?xml version="1.0"?>{sep}<!DOCTYPE rss [{sep}{sep.join(decls)}{sep}]>{sep}'
        '<rss version="2.0"><channel><title>t</title><item><title>x</title>'
        f"<link>https://x.example/</link><description>{f'&e{nested};' * uses}</description>"
        "</item></channel></rss>"
    ).encode()
    try:
        entries = parse_feed("bomb", doc)
    except ParseError:
        return
    for entry in entries:  # escaping may grow "&" five-fold ("&amp;"); expansion grows it 10^n
        assert max(len(entry.summary), len(entry.summary_html), len(entry.title)) <= 5 * len(doc)


def test_links_resolve_against_xml_base_and_the_documents_url() -> None:
    entries = parse("relative.xml", base="https://site.example/feeds/atom.xml")
    assert [(e.url, e.summary_html) for e in entries] == [
        (
            "https://site.example/blog/posts/1",
            '<a href="https://site.example/blog/posts/more/1" '
            'rel="noopener noreferrer nofollow">more</a>',
        ),
        ("https://mirror.example/news/2", ""),
        ("https://site.example/blog/3", ""),
    ]


link_parts = st.sampled_from(["a", "b c", "..", ".", "x%20y", "é", "q?x=1", "p;v", "&amp;"])


@settings(max_examples=60, deadline=None)
@given(
    link=st.one_of(
        st.lists(link_parts, min_size=1, max_size=4).map("/".join),
        st.lists(link_parts, min_size=1, max_size=3).map(lambda p: "/" + "/".join(p)),
        st.lists(link_parts, max_size=3).map(lambda p: "//other.example/" + "/".join(p)),
        st.lists(link_parts, max_size=3).map(lambda p: "https://abs.example/" + "/".join(p)),
    ),
    kind=st.sampled_from(["rss", "atom"]),
)
def test_a_link_without_xml_base_resolves_against_the_documents_url(link: str, kind: str) -> None:
    """feedparser is told the URL only for ``xml:base`` (it is slow with one): a document whose
    base is its own URL, resolved by feedparser, must give the same link as one without."""
    base = "https://site.example/feeds/main.xml"
    if kind == "rss":
        doc = "<rss version='2.0'{}><channel><item><title>T</title><link>{}</link></item>"
        doc += "</channel></rss>"
    else:
        doc = "<feed xmlns='http://www.w3.org/2005/Atom'{}><entry><title>T</title>"
        doc += "<link href='{}'/><id>urn:x</id></entry></feed>"
    [plain] = parse_feed("f", doc.format("", link).encode(), base)
    [based] = parse_feed("f", doc.format(f" xml:base='{base}'", link).encode(), base)
    assert plain.url == based.url
