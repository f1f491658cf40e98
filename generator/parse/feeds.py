"""Feed bytes -> :class:`~generator.models.EntryData`: fastfeedparser for the well-formed RSS 2.0
and Atom 1.0 it reads exactly as feedparser does (the rule is in :mod:`.fast`), feedparser for
every other RSS and Atom document, the standard library for JSON Feed. All three hand one
normalizer (:func:`_entries`) the same vocabulary, feedparser's.

Two defences sit in front of feedparser, because the bytes come from anyone:

* the document is handed over as a stream, never as ``bytes``: feedparser treats a bare string as
  a file name or URL to open, so a body reading ``/etc/passwd`` would be read from *our* disk;
* entity declarations in the DOCTYPE are removed first. Expat stops the classic billion laughs,
  but feedparser then falls back to its loose parser, which expands "safe" text entities without
  limit (one 20 kB entity used 20,000 times grows to 400 MB). Without declarations, nothing expands.

feedparser's own sanitizer and relative-URL resolver are switched off: they are slow pure Python,
and :func:`~.normalize.clean_html` (nh3) does both, once, with a stricter safelist. For the same
reason feedparser is told the document's URL only when the document sets ``xml:base``: given a
URL, it joins it with itself at every element (a fifth of the parse); without one, links come out
as written and :func:`~.normalize.canonical_url` resolves them against the document's URL.
"""

from __future__ import annotations

import calendar
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

from ..exceptions import ParseError
from ..models import EntryData
from .fast import fast_read
from .normalize import (
    canonical_url,
    clean_html,
    is_web_url,
    literal_text,
    plain_text,
    plausible_date,
    shorten,
    stable_id,
)

TITLE_FROM_TEXT = 120  # characters of an untitled entry's text that stand for its title

# A character reference to a lone surrogate (&#xD800;) or past U+10FFFF makes feedparser raise
# while it decodes it; it stands for no character, so it becomes U+FFFD first. The pattern finds
# the candidates (cheaply: most documents have none); the callback checks the exact value.
_SUSPECT_REF = re.compile(
    rb"&#(?:[xX]0*([dD][89a-fA-F][0-9a-fA-F]{2}|[0-9a-fA-F]{6,})|0*(5[5-7]\d{3}|\d{7,}));"
)


def _no_impossible_refs(data: bytes) -> bytes:
    return _SUSPECT_REF.sub(_replace_ref, data) if b"&#" in data else data


def _replace_ref(match: re.Match[bytes]) -> bytes:
    hexadecimal, decimal = match.groups()
    value = int(hexadecimal, 16) if hexadecimal else int(decimal)
    impossible = 0xD800 <= value <= 0xDFFF or value > 0x10FFFF
    return b"&#xFFFD;" if impossible else match.group(0)


_ITEM = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s>/]")
_MAX_ENTITY_SCAN = 1024 * 1024


def parse_feed(
    feed: str, data: bytes, base_url: str = "", content_type: str = ""
) -> list[EntryData]:
    """Parse a whole feed document; raise :class:`ParseError` when nothing usable is in it."""
    if not data.strip():
        raise ParseError(feed, "empty document")
    if _looks_like_json(data, content_type):
        return _json_feed(feed, data, base_url)
    fast = fast_read(data, content_type) if is_web_url(base_url) else None
    if fast is None:
        return parse_with_feedparser(feed, data, base_url, content_type)
    return _entries(feed, fast, base_url)


def parse_with_feedparser(
    feed: str, data: bytes, base_url: str = "", content_type: str = ""
) -> list[EntryData]:
    """An RSS or Atom document read by feedparser, whatever it is (see :mod:`.fast`)."""
    # No content type (a local file, a terse server): say it is XML, so feedparser reads the
    # encoding from the document. Told "", it calls every such document bozo; told nothing
    # while told the URL, it decodes it as Latin-1 as HTTP once did.
    headers = {"content-type": content_type or "application/xml"}
    if b"base=" in data:  # only xml:base needs feedparser to know the document's URL
        headers["content-location"] = base_url
    parsed = feedparser.parse(
        io.BytesIO(_no_impossible_refs(defuse_doctype(data))),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    if not parsed.entries:
        _check_empty(feed, parsed, data)
    if not is_web_url(base_url):  # a local file: resolve relative links against the site
        base_url = str(parsed.feed.get("link") or "")
    return _entries(feed, parsed.entries, base_url)


def _check_empty(feed: str, parsed: Any, data: bytes) -> None:
    """A feed root with no items is a quiet feed, not a broken one, even if bozo. But a broken
    document with ``<item>``/``<entry>`` elements that the parser lost is a failed feed: it
    must never read as "ok, 0 items"."""
    reason = _bozo_reason(parsed.get("bozo_exception"))
    if not parsed.get("version"):
        raise ParseError(feed, f"not a valid RSS/Atom/JSON feed ({reason})")
    if parsed.get("bozo"):
        items = len(_ITEM.findall(data))
        if items:
            plural = "s" if items > 1 else ""
            raise ParseError(
                feed, f"invalid XML ({reason}): none of its {items} item{plural} could be read"
            )


def _bozo_reason(error: object) -> str:
    """What feedparser found wrong, as "line N: message" for an XML error."""
    if error is None:
        return "not a feed"
    text = str(error)
    if hasattr(error, "getLineNumber") and hasattr(error, "getMessage"):
        text = f"line {error.getLineNumber()}: {error.getMessage()}"
    return literal_text(text)[:200]


def defuse_doctype(data: bytes) -> bytes:
    """Drop the DOCTYPE (and so any ``<!ENTITY`` declarations) from the document's prolog.

    Only the real prolog is read: the XML declaration, comments, processing instructions and
    the DOCTYPE before the first element. A ``<!DOCTYPE`` further on (in a CDATA section, a
    comment, an escaped article about HTML) is text, and cutting there would lose the document.
    A DOCTYPE is only useful to declare entities, which is exactly what must not reach a parser;
    undeclared HTML entities such as ``&nbsp;`` are still understood by feedparser's fallback.
    """
    doctype = _prolog_doctype(data[:_MAX_ENTITY_SCAN])
    if doctype is None:
        return data
    start, end = doctype
    body = data[end:]
    if b"<!ENTITY" in body[:_MAX_ENTITY_SCAN].upper():
        body = re.sub(rb"(?i)<!ENTITY", b"<!-- -->", body)  # declarations after a broken DOCTYPE
    return data[:start] + body


def _prolog_doctype(head: bytes) -> tuple[int, int] | None:
    """Where the prolog's DOCTYPE starts and ends (end of ``head`` if it never closes)."""
    position = 0
    while True:
        position = head.find(b"<", position)
        if position < 0:
            return None
        if head.startswith(b"<?", position):
            position = _after(head, b"?>", position + 2)
        elif head.startswith(b"<!--", position):
            position = _after(head, b"-->", position + 4)
        elif head[position : position + 9].upper() == b"<!DOCTYPE":
            return position, _doctype_end(head, position + 9)
        else:
            return None  # the root element (or text that is no prolog): no DOCTYPE


def _after(head: bytes, token: bytes, start: int) -> int:
    found = head.find(token, start)
    return len(head) if found < 0 else found + len(token)


def _doctype_end(head: bytes, start: int) -> int:
    """Past the ``>`` that closes a DOCTYPE, skipping its quoted ids and internal subset."""
    depth = 0
    quote = 0
    for index in range(start, len(head)):
        char = head[index]
        if quote:
            quote = 0 if char == quote else quote
        elif char in b"\"'":
            quote = char
        elif char == ord("["):
            depth += 1
        elif char == ord("]"):
            depth = max(0, depth - 1)
        elif char == ord(">") and depth == 0:
            return index + 1
    return len(head)


def _entries(feed: str, entries: Iterable[Mapping[str, Any]], base_url: str) -> list[EntryData]:
    """The feed's entries, each once, with the URLs and ids that keep distinct entries apart.

    Within one document an entry is known by its id (``guid``/``id``) first: two entries with
    the same id are one (the first is kept). A URL loses its ``#fragment`` (so ``page`` and
    ``page#comments`` in two feeds are one story), except where the feed itself uses fragments
    to tell entries apart: when two entries with different ids link to the same page, their
    fragments are kept. Entries with different ids that still share a URL get an item id that
    includes their own id, so they are stored as distinct items.
    """
    drafts: dict[str, _Draft] = {}
    for raw in entries:
        draft = _draft(raw, base_url)
        if draft is not None:
            drafts.setdefault(draft.key, draft)
    per_page: dict[str, int] = {}
    for draft in drafts.values():
        per_page[draft.page] = per_page.get(draft.page, 0) + 1
    urls = [d.full if d.page and per_page[d.page] > 1 else d.page for d in drafts.values()]
    per_url: dict[str, int] = {}
    for url in urls:
        per_url[url] = per_url.get(url, 0) + 1
    return [
        _entry(feed, draft, url, base_url, shared=bool(url) and per_url[url] > 1)
        for draft, url in zip(drafts.values(), urls, strict=True)
    ]


@dataclass(frozen=True)
class _Draft:
    """One raw entry, read: what deciding its URL and id needs, and the rest of its fields."""

    raw: Mapping[str, Any]
    key: str  # the entry's identity within the document: its id, else its link, else its text
    page: str  # the canonical URL without its fragment ("" when there is no web link)
    full: str  # the canonical URL with its fragment
    title: str
    summary_html: str
    summary: str


def _draft(raw: Mapping[str, Any], base_url: str) -> _Draft | None:
    link = _link(raw)
    full = canonical_url(link, base_url, keep_fragment=True) if link else ""
    if not is_web_url(full):
        full = ""  # javascript:, data:, file: or a relative link with no page to resolve it
    page = full.split("#", 1)[0]
    title = _title(raw)
    summary_html, summary = _main_html(raw)
    if not (page or title or summary):
        return None  # nothing to show and nothing to link to
    guid = plain_text(str(raw.get("id") or ""))
    key = guid or full or title or summary
    return _Draft(raw, key, page, full, title, summary_html, summary)


def _entry(feed: str, draft: _Draft, url: str, base_url: str, shared: bool) -> EntryData:
    raw = draft.raw
    if not url:
        item_id = stable_id(feed, draft.key)
    else:
        item_id = stable_id(url, draft.key) if shared else stable_id(url)
    return EntryData(
        feed=feed,
        id=item_id,
        url=url,
        title=draft.title or shorten(draft.summary, TITLE_FROM_TEXT) or url,
        summary=draft.summary,
        summary_html=clean_html(draft.summary_html, url or base_url),
        published=_entry_time(raw),
        author=plain_text(str(raw.get("author") or "")),
        categories=_categories(raw),
    )


def _title(raw: Mapping[str, Any]) -> str:
    """The title as words: markup removed when the feed says it is HTML, kept when plain text
    ("History of the <blink> tag" has five words)."""
    title = str(raw.get("title") or "")
    detail = raw.get("title_detail") or {}
    if detail.get("type") == "text/plain":
        return literal_text(title)
    return plain_text(title)


def _link(raw: Mapping[str, Any]) -> str:
    link = str(raw.get("link") or "").strip()
    if link:
        return link
    guid = str(raw.get("id") or "").strip()
    return guid if raw.get("guidislink") and guid.startswith(("http://", "https://")) else ""


def _main_html(raw: Mapping[str, Any]) -> tuple[str, str]:
    """The entry's main text, as (HTML, words).

    The summary (RSS ``description``, Atom ``summary``) is replaced by a content block only when
    that block is the same entry told in full: in the summary's language (a block in another
    language is a caption or a translation) and with more words than the summary (a teaser is
    shorter than its article; an image with a caption may be longer in markup, not in words).
    Among such blocks, the one with the most words.
    """
    summary = str(raw.get("summary") or "")
    language = _language((raw.get("summary_detail") or {}).get("language")) if summary else ""
    best, best_text = "", ""
    for content in raw.get("content") or ():
        value = str(content.get("value") or "")
        if not value:
            continue
        if language and _language(content.get("language")) not in ("", language):
            continue
        text = plain_text(value)
        if len(text) > len(best_text):
            best, best_text = value, text
    if best_text and len(best_text) >= len(summary):  # longer than the summary's very markup
        return best, best_text
    summary_text = plain_text(summary)
    return (best, best_text) if len(best_text) > len(summary_text) else (summary, summary_text)


def _language(tag: object) -> str:
    """The primary language of a language tag ("en-GB" -> "en")."""
    return str(tag or "").strip().lower().replace("_", "-").split("-", 1)[0]


def _entry_time(raw: Mapping[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get: FeedParserDict.get warns when it maps one missing key onto another
        value = dict.get(raw, key) if isinstance(raw, dict) else raw.get(key)
        if value:
            try:
                moment = plausible_date(datetime.fromtimestamp(calendar.timegm(value), UTC))
            except (OverflowError, ValueError, OSError, TypeError):
                continue
            if moment is not None:  # else a placeholder: try the next date
                return moment
    return None


def _categories(raw: Mapping[str, Any]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for tag in raw.get("tags") or ():
        term = plain_text(str(tag.get("term") or tag.get("label") or ""))
        if term:
            seen.setdefault(term, None)
    return tuple(seen)


def _looks_like_json(data: bytes, content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind.endswith("json") or data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _json_feed(feed: str, data: bytes, base_url: str) -> list[EntryData]:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1)."""
    try:
        doc = json.loads(data.decode("utf-8-sig", "replace"))
    except (ValueError, RecursionError) as e:
        raise ParseError(feed, f"invalid JSON feed: {e}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise ParseError(feed, "invalid JSON feed: no 'items' list")
    base = str(doc.get("home_page_url") or doc.get("feed_url") or base_url)
    return _entries(
        feed, (_json_item(raw, doc) for raw in doc["items"] if isinstance(raw, dict)), base
    )


def _json_item(raw: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """A JSON Feed item in feedparser's vocabulary, so both formats share one normalizer.

    Every field is checked for its type: a value of the wrong type is as good as missing.
    """
    html_body, text_body = _text(raw.get("content_html")), _text(raw.get("content_text"))
    body = html_body or (_escape_text(text_body) if text_body else _text(raw.get("summary")))
    authors = _list(raw.get("authors")) or _list(doc.get("authors"))
    if isinstance(raw.get("author"), dict):  # JSON Feed 1.0
        authors = [raw["author"]]
    names = (_text(a.get("name")) for a in authors if isinstance(a, dict))
    return {
        "link": _text(raw.get("url")) or _text(raw.get("external_url")),
        "id": _text(raw.get("id")),
        "title": _text(raw.get("title")),
        "title_detail": {"type": "text/plain"},
        "summary": body,
        "author": ", ".join(name for name in names if name),
        "tags": [{"term": t} for t in _list(raw.get("tags")) if isinstance(t, str)],
        "published_parsed": _json_time(raw.get("date_published")),
        "updated_parsed": _json_time(raw.get("date_modified")),
    }


def _text(value: Any) -> str:
    """A string field as text; an integer id as its digits; anything else is missing."""
    if isinstance(value, str):
        return value.strip()
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _escape_text(text: str) -> str:
    """JSON Feed's ``content_text`` is plain text: a ``<`` in it is a character."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _json_time(value: Any) -> Any:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    plausible = plausible_date(moment)
    return plausible.utctimetuple() if plausible else None
