"""The fast path (fastfeedparser) against feedparser: for any document, kb reads the same
entries whichever path takes it, and well-formed ordinary feeds do take the fast one."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.exceptions import ParseError
from generator.models import EntryData
from generator.parse import parse_feed
from generator.parse.fast import fast_read
from generator.parse.feeds import parse_with_feedparser

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
BASE = "https://base.example/feed.xml"
DOCUMENTS = sorted(  # every feed document but the blank ones (kb stops at those first)
    p
    for p in DATA.rglob("*")
    if p.is_file() and p.suffix in (".xml", ".rss", ".atom") and p.read_bytes().strip()
)


def both_ways(data: bytes, base: str = BASE, content_type: str = "") -> tuple[object, object]:
    """What kb reads (its own choice of path) and what feedparser alone reads."""
    return _outcome(parse_feed, data, base, content_type), _outcome(
        parse_with_feedparser, data, base, content_type
    )


def _outcome(
    parse: Callable[[str, bytes, str, str], list[EntryData]],
    data: bytes,
    base: str,
    content_type: str,
) -> list[EntryData] | tuple[str, str]:
    """The entries, or the error a user would see."""
    try:
        return parse("feed", data, base, content_type)
    except ParseError as e:
        return ("error", e.reason)


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(DATA)))
def test_every_document_in_tests_data_reads_the_same_either_way(path: Path) -> None:
    data = path.read_bytes()
    chosen, feedparser_only = both_ways(data)
    assert chosen == feedparser_only


def test_ordinary_documents_take_the_fast_path_and_doubtful_ones_do_not() -> None:
    fast = {p.relative_to(DATA).as_posix() for p in DOCUMENTS if fast_read(p.read_bytes())}
    assert {"feeds/rss.xml", "feeds/atom.xml", "feeds/titles.xml", "feeds/wordpress.xml"} <= fast
    assert len(fast) >= 60  # of the 538 documents, 93 when this was written
    slow = {
        "feeds/billion-laughs.xml",  # a DOCTYPE
        "feeds/broken-xml.xml",  # not well-formed: feedparser's recovery, not libxml2's
        "feeds/relative.xml",  # xml:base
        "feeds/wrong-encoding.xml",  # declared in one encoding, written in another
        "feeds/caption.xml",  # content blocks in other languages
    }
    assert not slow & fast


def test_a_wordpress_feed_takes_the_fast_path_and_reads_as_it_always_did() -> None:
    data = (DATA / "feeds" / "wordpress.xml").read_bytes()
    assert fast_read(data, "application/rss+xml; charset=UTF-8") is not None
    first, second = parse_feed("f", data, "https://dockdoor.example/feed/")
    assert first.title == "Cross-docking \u2013 when it pays and when it doesn\u2019t"
    assert first.url == "https://dockdoor.example/2026/11/10/cross-docking/"
    assert (first.author, first.categories) == ("Priya Natarajan", ("Operations", "Cross-docking"))
    assert first.published == datetime(2026, 11, 10, 16, 0, tzinfo=UTC)
    # the full article (content:encoded), not the teaser; its script gone, its image absolute
    assert "We visited three regional hubs & compared" in first.summary
    assert "trackView" not in first.summary_html
    assert 'src="https://dockdoor.example/wp-content/uploads/2026/11/dock.jpg"' in (
        first.summary_html
    )
    assert second.title == "Five questions to ask a 3PL <before> you sign"  # plain text


@pytest.fixture(scope="module")
def bench_feeds(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The benchmark's generated feeds (bench/make_project.py --size S), as served."""
    project = tmp_path_factory.mktemp("bench") / "project"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "make_project.py"), "--size", "S", str(project)],
        check=True,
        capture_output=True,
    )
    return sorted((project / "served").glob("*.xml"))


def test_the_benchmark_feeds_take_the_fast_path_and_read_the_same(
    bench_feeds: list[Path],
) -> None:
    assert len(bench_feeds) == 20
    for path in bench_feeds:
        data = path.read_bytes()
        assert fast_read(data, "application/rss+xml") is not None, path.name
        chosen, feedparser_only = both_ways(data, "http://127.0.0.1:8000/x.xml")
        assert chosen == feedparser_only, path.name
        assert isinstance(chosen, list) and len(chosen) == 50


def test_fast_path_is_given_bytes_never_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """fastfeedparser fetches a str that starts with http://; kb must never hand it one."""
    import fastfeedparser

    seen: list[type] = []
    real = fastfeedparser.parse

    def spy(source: object, **options: bool) -> object:
        seen.append(type(source))
        return real(source, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(fastfeedparser, "parse", spy)
    parse_feed("f", (DATA / "feeds" / "rss.xml").read_bytes(), BASE)
    assert seen == [bytes]


@pytest.mark.parametrize(
    "content_type",
    ["", "text/xml", "text/html", "application/rss+xml; charset=UTF-8", "application/octet-stream"],
)
@pytest.mark.parametrize("declaration", [b"", b'<?xml version="1.0"?>\n'])
def test_utf8_text_reads_the_same_whatever_the_server_says(
    content_type: str, declaration: bytes
) -> None:
    data = (
        declaration
        + (
            "<rss version='2.0'><channel><item><title>caf\u00e9 \u2019s &amp; \u00fcber</title>"
            "<link>https://a.example/1</link><description>na\u00efve</description></item>"
            "</channel></rss>"
        ).encode()
    )
    assert fast_read(data, content_type) is not None
    chosen, feedparser_only = both_ways(data, BASE, content_type)
    assert chosen == feedparser_only
    assert isinstance(chosen, list) and chosen[0].title == "caf\u00e9 \u2019s & \u00fcber"


def test_deep_nesting_never_reaches_fastfeedparser() -> None:
    """fastfeedparser turns libxml2's depth limit off (huge_tree); kb's strict parse keeps it
    on, so a document nested past it goes to feedparser, which reads it as before."""
    nested = "<b>" * 300 + "x" + "</b>" * 300
    data = (
        "<rss version='2.0'><channel><item><title>Deep</title><link>https://a.example/1</link>"
        f"<comments>{nested}</comments></item></channel></rss>"
    ).encode()
    assert fast_read(data) is None
    (entry,) = parse_feed("f", data, BASE)
    assert (entry.title, entry.url) == ("Deep", "https://a.example/1")


def test_a_local_file_goes_to_feedparser() -> None:
    """A local file's relative links resolve against the feed's home page, which the two
    libraries find differently: here an Atom alternate link that is not HTML."""
    data = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><link rel="alternate" '
        b'type="application/rss+xml" href="https://x.example/rss"/><link '
        b'href="https://site.example/"/><entry><title>t</title><link href="/a"/></entry></feed>'
    )
    assert fast_read(data) is not None
    (entry,) = parse_feed("f", data, "")
    assert entry.url == "https://site.example/a"


def test_a_charset_other_than_utf8_goes_to_feedparser() -> None:
    data = (DATA / "feeds" / "rss.xml").read_bytes()
    assert fast_read(data, "application/rss+xml; charset=utf-8") is not None
    assert fast_read(data, "application/rss+xml; charset=iso-8859-1") is None
    latin = data.replace(b'encoding="utf-8"', b'encoding="iso-8859-1"', 1)
    assert latin != data and fast_read(latin) is None


# --- generated documents ---------------------------------------------------------------------

_WORDS = st.sampled_from(
    ["plant", "Cold", "chain", "  spaced  ", "caf\u00e9", "\u00fcber", "10 %", "a-b", "x"]
)
_WILD_BITS = ["&#150;", "&#xD800;", "&nbsp;", "<b>naked</b>"]  # feedparser's: never well-formed
_TEXT_BITS = st.sampled_from(
    [
        "&amp;",
        "&lt;b&gt;bold&lt;/b&gt;",
        "&lt;blink&gt;",
        "&amp;lt;em&amp;gt;",
        "&#233;",
        "&#x2019;",
        "&quot;",
        "<![CDATA[<p>in <i>cdata</i> & raw</p>]]>",
        "<![CDATA[a < b]]>",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&lt;p&gt;para&lt;/p&gt;",
        "\n",
    ]
)
_TEXT = st.lists(st.one_of(_WORDS, _TEXT_BITS), max_size=8).map(" ".join)
# text with a bit only feedparser reads, in one document of two (the others stay well-formed)
_WILD_TEXT = st.tuples(_TEXT, st.sampled_from(_WILD_BITS), _TEXT).map(" ".join)
_LINKS = st.sampled_from(
    [
        "https://news.example/a",
        "https://news.example/a#comments",
        "HTTPS://News.Example:443/b?utm_source=x&amp;id=2",
        "/relative/c",
        "d.html",
        "javascript:alert(1)",
        "",
        "  https://news.example/spaced  ",
    ]
)
_GUIDS = st.sampled_from(
    ["g1", "g2", "https://news.example/a", "urn:uuid:1", "/rel/g", "", "tag:x,2026:1"]
)
_DATES_RSS = st.sampled_from(
    [
        "Mon, 09 Nov 2026 19:30:00 GMT",
        "Mon, 09 Nov 2026 19:30:00 +0100",
        "9 Nov 2026 19:30 -0500",
        "Mon, 09 Nov 2026 19:30:00 EST",
        "2026-11-09T19:30:00Z",
        "2026-11-09",
        "Mon, 31 Feb 2026 19:30:00 GMT",
        "Sun, 01 Jan 1970 00:00:00 GMT",
        "next tuesday",
        "",
    ]
)
_DATES_ATOM = st.sampled_from(
    [
        "2026-11-09T19:30:00Z",
        "2026-11-09T19:30:00.123+02:00",
        "2026-11-09T19:30:00",
        "2026-11-09",
        "Mon, 09 Nov 2026 19:30:00 GMT",
        "0001-01-01T00:00:00Z",
        "garbage",
    ]
)
# a document with xml:lang goes to feedparser whole: rare, so that most documents do not
_LANGS = st.sampled_from([""] * 9 + [' xml:lang="en"', ' xml:lang="fr"', ' xml:lang="en-GB"'])


@st.composite
def rss_items(draw: st.DrawFn, text: st.SearchStrategy[str]) -> str:
    parts = []
    if draw(st.booleans()):
        parts.append(f"<title>{draw(text)}</title>")
    if draw(st.booleans()):
        parts.append(f"<link>{draw(_LINKS)}</link>")
    if draw(st.booleans()):
        permalink = draw(st.sampled_from(["", ' isPermaLink="false"', ' isPermaLink="true"']))
        parts.append(f"<guid{permalink}>{draw(_GUIDS)}</guid>")
    if draw(st.booleans()):
        parts.append(f"<pubDate>{draw(_DATES_RSS)}</pubDate>")
    if draw(st.booleans()):
        parts.append(f"<dc:creator>{draw(text)}</dc:creator>")
    if draw(st.booleans()):
        parts.append("<wfw:commentRss>https://news.example/c/feed</wfw:commentRss>")
        parts.append(f"<slash:comments>{draw(st.integers(0, 9))}</slash:comments>")
    for term in draw(st.lists(_WORDS, max_size=3)):
        domain = draw(st.sampled_from(["", ' domain="https://tags.example/"']))
        parts.append(f"<category{domain}>{term}</category>")
    blocks = [f"<description>{draw(text)}</description>"] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 2))):
        blocks.append(f"<content:encoded{draw(_LANGS)}>{draw(text)}</content:encoded>")
    parts.extend(draw(st.permutations(blocks)))
    return "<item>" + "".join(draw(st.permutations(parts))) + "</item>"


@st.composite
def rss_documents(draw: st.DrawFn) -> bytes:
    language = draw(st.sampled_from(["", "<language>en-us</language>"]))
    text = st.one_of(_TEXT, _WILD_TEXT) if draw(st.booleans()) else _TEXT
    items = "".join(draw(st.lists(rss_items(text), min_size=1, max_size=4)))
    doc = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:wfw="http://wellformedweb.org/CommentAPI/" '
        'xmlns:slash="http://purl.org/rss/1.0/modules/slash/">'
        f"<channel><title>T</title><link>https://news.example/</link>{language}{items}"
        "</channel></rss>"
    )
    return doc.encode()


@st.composite
def atom_entries(draw: st.DrawFn, text: st.SearchStrategy[str]) -> str:
    parts = []
    if draw(st.booleans()):
        kind = draw(st.sampled_from(["", ' type="text"', ' type="html"']))
        parts.append(f"<title{kind}>{draw(text)}</title>")
    for _ in range(draw(st.integers(0, 2))):
        rel = draw(st.sampled_from(["", ' rel="alternate"', ' rel="enclosure"', ' rel="self"']))
        parts.append(f'<link{rel} href="{draw(_LINKS)}"/>')
    if draw(st.booleans()):
        parts.append(f"<id>{draw(_GUIDS)}</id>")
    for name in ("published", "updated"):
        if draw(st.booleans()):
            parts.append(f"<{name}>{draw(_DATES_ATOM)}</{name}>")
    if draw(st.booleans()):
        email = draw(st.sampled_from(["", "<email>a@b.example</email>"]))
        parts.append(f"<author><name>{draw(text)}</name>{email}</author>")
    for term in draw(st.lists(_WORDS, max_size=2)):
        label = draw(st.sampled_from(["", f' label="{term} label"', ' label="&lt;b&gt;"']))
        parts.append(f"<category{draw(st.sampled_from(['', f' term={term!r}']))}{label}/>")
    blocks = []
    if draw(st.booleans()):
        kind = draw(st.sampled_from(["", ' type="text"', ' type="html"']))
        blocks.append(f"<summary{kind}{draw(_LANGS)}>{draw(text)}</summary>")
    if draw(st.booleans()):
        kind = draw(st.sampled_from(["", ' type="html"', ' type="text"']))
        blocks.append(f"<content{kind}{draw(_LANGS)}>{draw(text)}</content>")
    parts.extend(draw(st.permutations(blocks)))
    return "<entry>" + "".join(draw(st.permutations(parts))) + "</entry>"


@st.composite
def atom_documents(draw: st.DrawFn) -> bytes:
    text = st.one_of(_TEXT, _WILD_TEXT) if draw(st.booleans()) else _TEXT
    entries = "".join(draw(st.lists(atom_entries(text), min_size=1, max_size=4)))
    doc = (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f'<title>T</title><id>urn:x</id><link href="https://news.example/"/>{entries}</feed>'
    )
    return doc.encode()


_PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_PROPERTY
@given(rss_documents())
def test_generated_rss_reads_the_same_either_way(data: bytes) -> None:
    chosen, feedparser_only = both_ways(data)
    assert chosen == feedparser_only


@_PROPERTY
@given(atom_documents())
def test_generated_atom_reads_the_same_either_way(data: bytes) -> None:
    chosen, feedparser_only = both_ways(data)
    assert chosen == feedparser_only


def test_the_generated_documents_reach_the_fast_path() -> None:
    """The property tests above mean something only if many generated documents take the
    fast path: a rule that sent everything to feedparser would pass them trivially."""
    fast = 0

    @settings(max_examples=400, deadline=None, database=None)
    @given(st.one_of(rss_documents(), atom_documents()))
    def count(data: bytes) -> None:
        nonlocal fast
        fast += fast_read(data) is not None

    count()
    assert fast >= 15  # about 45 expected (18 % of RSS, 4 % of Atom documents take it)
