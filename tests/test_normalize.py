"""The pure normalizers: URLs, text, HTML and dates."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.parse.normalize import (
    canonical_url,
    clamp_published,
    clean_html,
    literal_text,
    normalize_title,
    plain_text,
    plausible_date,
)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        (
            "HTTPS://News.Example.COM:443/a/b?utm_source=x&id=3#frag",
            "https://news.example.com/a/b?id=3",
        ),
        ("http://x.example:80", "http://x.example/"),
        ("http://x.example:8080/p?fbclid=1&gclid=2&msclkid=3", "http://x.example:8080/p"),
        ("https://x.example/p?UTM_Campaign=a&q=kb", "https://x.example/p?q=kb"),
        ("/relative?utm_medium=m", "https://base.example/relative"),
    ],
)
def test_canonical_url(raw: str, canonical: str) -> None:
    assert canonical_url(raw, "https://base.example/feed") == canonical


_url = st.builds(
    lambda scheme, host, path, params, frag: f"{scheme}://{host}/{path}?{params}#{frag}",
    st.sampled_from(["http", "HTTP", "https", "HtTpS"]),
    st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,10}\.[a-z]{2,4}", fullmatch=True),
    st.from_regex(r"[a-z0-9/_-]{0,20}", fullmatch=True),
    st.lists(
        st.tuples(
            st.sampled_from(["utm_source", "utm_x", "fbclid", "gclid", "id", "page", "q"]),
            st.from_regex(r"[a-z0-9]{0,5}", fullmatch=True),
        ),
        max_size=5,
    ).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)),
    st.text(max_size=5),
)


@given(_url)
def test_canonical_urls_are_idempotent_and_clean(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once
    parts = urlsplit(once)
    assert parts.fragment == ""
    assert parts.scheme == parts.scheme.lower() and parts.netloc == parts.netloc.lower()
    keys = {k for k, _ in parse_qsl(parts.query, keep_blank_values=True)}
    assert not keys & {"fbclid", "gclid"} and not any(k.startswith("utm_") for k in keys)


def test_clean_html_keeps_a_safelist_only() -> None:
    hostile = (
        '<p onclick="x()" style="color:red">Hi<script>alert(1)</script>'
        '<iframe src="https://e.example"></iframe><a href="javascript:alert(1)">j</a>'
        '<a href="/rel">r</a><img src="data:image/png;base64,xx" onerror="x()"></p>'
    )
    assert clean_html(hostile, "https://site.example/post/") == (
        '<p>Hi<a rel="noopener noreferrer nofollow">j</a>'
        '<a href="https://site.example/rel" rel="noopener noreferrer nofollow">r</a><img></p>'
    )
    assert clean_html('<a href="/rel">r</a>', "feeds/local.xml") == (
        '<a rel="noopener noreferrer nofollow">r</a>'
    )


@given(st.text())
def test_plain_text_has_no_controls_or_tags(text: str) -> None:
    out = plain_text(text)
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in out)
    assert out == out.strip() and "  " not in out


def test_plain_text_decodes_entities_and_drops_tags() -> None:
    assert plain_text("<p>Fish &amp; chips</p><p>\x1b[2Jnext</p>") == "Fish & chips next"


def test_titles_compare_by_their_words() -> None:
    assert normalize_title("Diesel Prices Fall for a Third Week!") == normalize_title(
        "diesel prices  fall for a third week"
    )


def test_dates_missing_or_in_the_future_become_first_seen() -> None:
    seen = datetime(2026, 11, 16, 9, tzinfo=UTC)
    assert clamp_published(None, seen) == seen
    assert clamp_published(seen + timedelta(days=2), seen) == seen
    assert clamp_published(seen + timedelta(minutes=1), seen) == seen + timedelta(minutes=1)
    earlier = datetime(2026, 11, 1, tzinfo=UTC)
    assert clamp_published(earlier, seen) == earlier


# --- hardening: whatever a feed sends, the normalizers answer, and the answer is clean -------

CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_SNIPPETS = [
    *("<p>", "</p>", "<td>", "</td>", "<br>", "<br/>", "<blockquote>", "</blockquote>"),
    *("<noscript>", "</noscript>", "<iframe>", "</iframe>", "&amp;", "&lt;", "&#0;", "&#xd800;"),
    *("\ud800", "\x1b[31m", "\ufeff", "<![CDATA[", "]]>", "<!--", "-->"),
]
_markup = st.lists(
    st.one_of(
        st.text(),
        st.sampled_from(_SNIPPETS),
    ),
    max_size=12,
).map("".join)


@given(_markup)
def test_plain_text_never_raises_and_is_idempotent_and_clean(text: str) -> None:
    out = plain_text(text)
    assert not CONTROLS.search(out)
    out.encode("utf-8")  # nothing left that an encoder refuses
    assert literal_text(out) == out
    assert literal_text(literal_text(text)) == literal_text(text)


@given(_markup)
def test_clean_html_never_raises_and_is_stable(text: str) -> None:
    out = clean_html(text, "https://base.example/")
    assert not CONTROLS.search(out)
    assert clean_html(out, "https://base.example/") == out


@given(st.text(max_size=60), st.booleans())
def test_canonical_url_never_raises_on_anything(url: str, keep_fragment: bool) -> None:
    once = canonical_url(url, "https://base.example/feed", keep_fragment=keep_fragment)
    assert not CONTROLS.search(once)
    if once.startswith(("http://", "https://")):
        assert canonical_url(once, keep_fragment=keep_fragment) == once


@given(_url)
def test_a_kept_fragment_is_the_only_difference(url: str) -> None:
    kept = canonical_url(url, keep_fragment=True)
    assert kept.split("#", 1)[0] == canonical_url(url)


@given(st.datetimes(timezones=st.timezones() | st.none()), st.datetimes(timezones=st.just(UTC)))
def test_any_date_is_plausible_or_missing_and_clamps_without_overflow(
    moment: datetime, seen: datetime
) -> None:
    plausible = plausible_date(moment)
    assert plausible is None or (plausible.tzinfo == UTC and plausible.year >= 1970)
    seen = min(max(seen, datetime(1971, 1, 1, tzinfo=UTC)), datetime(8999, 1, 1, tzinfo=UTC))
    clamped = clamp_published(moment, seen)
    assert clamped - timedelta(days=3) < clamped + timedelta(days=3)  # what the store computes


def test_placeholder_dates_are_missing() -> None:
    assert plausible_date(datetime(1, 1, 1, tzinfo=UTC)) is None
    assert plausible_date(datetime(1970, 1, 1, tzinfo=UTC)) is None
    assert plausible_date(datetime(1999, 12, 31, tzinfo=UTC)) == datetime(1999, 12, 31, tzinfo=UTC)


def test_block_elements_separate_words() -> None:
    assert plain_text("<blockquote>quoted</blockquote><p>next</p>") == "quoted next"
    assert plain_text("<table><tr><th>a</th><td>b</td></tr></table>c<br/>d") == "a b c d"
    assert plain_text("<h2>Head</h2><ul><li>one</li><li>two</li></ul>") == "Head one two"
    assert plain_text("<b>bold</b><i>italic</i>") == "bolditalic"  # inline: no space added
    assert plain_text("<noscript>&lt;img src=x&gt; enable JS</noscript>words") == "words"
