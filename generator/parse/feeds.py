"""Feed bytes -> :class:`~generator.models.EntryData`, with feedparser for RSS and Atom and the
standard library for JSON Feed.

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
from datetime import UTC, datetime
from typing import Any

import feedparser

from ..exceptions import ParseError
from ..models import EntryData
from .normalize import canonical_url, clean_html, is_web_url, plain_text, stable_id

_ROOT = re.compile(rb"<[A-Za-z_]")
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_MAX_ENTITY_SCAN = 1024 * 1024


def parse_feed(
    feed: str, data: bytes, base_url: str = "", content_type: str = ""
) -> list[EntryData]:
    """Parse a whole feed document; raise :class:`ParseError` when nothing usable is in it."""
    if not data.strip():
        raise ParseError(feed, "empty document")
    if _looks_like_json(data, content_type):
        return _json_feed(feed, data, base_url)
    # No content type (a local file, a terse server): say it is XML, so feedparser reads the
    # encoding from the document. Told "", it calls every such document bozo; told nothing
    # while told the URL, it decodes it as Latin-1 as HTTP once did.
    headers = {"content-type": content_type or "application/xml"}
    if b"base=" in data:  # only xml:base needs feedparser to know the document's URL
        headers["content-location"] = base_url
    parsed = feedparser.parse(
        io.BytesIO(defuse_doctype(data)),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    if not parsed.entries and not parsed.get("version"):
        # A feed root with no items is a quiet feed, not a broken one (even if bozo).
        reason = parsed.get("bozo_exception") or "not a feed"
        raise ParseError(feed, f"not a valid RSS/Atom/JSON feed ({plain_text(str(reason))[:200]})")
    if not is_web_url(base_url):  # a local file: resolve relative links against the site
        base_url = str(parsed.feed.get("link") or "")
    return list(_entries(feed, parsed.entries, base_url))


def defuse_doctype(data: bytes) -> bytes:
    """Drop the DOCTYPE (and so any ``<!ENTITY`` declarations) from the document's prolog.

    The prolog ends where the first element starts; a DOCTYPE there is only useful to declare
    entities, which is exactly what must not reach a parser. Undeclared HTML entities such as
    ``&nbsp;`` are still understood by feedparser's fallback parser.
    """
    head = data[:_MAX_ENTITY_SCAN]
    doctype = _DOCTYPE.search(head)
    if doctype is None:
        return data
    root = _ROOT.search(head, doctype.end())
    if root is None:
        return data[: doctype.start()]
    body = data[root.start() :]
    if b"<!ENTITY" in body[:_MAX_ENTITY_SCAN].upper():
        body = re.sub(rb"(?i)<!ENTITY", b"<!-- -->", body)  # declarations after a broken DOCTYPE
    return data[: doctype.start()] + body


def _entries(feed: str, entries: Iterable[Mapping[str, Any]], base_url: str) -> Iterable[EntryData]:
    for raw in entries:
        entry = _entry(feed, raw, base_url)
        if entry is not None:
            yield entry


def _entry(feed: str, raw: Mapping[str, Any], base_url: str) -> EntryData | None:
    link = _link(raw)
    title = plain_text(str(raw.get("title") or ""))
    summary_html = _best_html(raw)
    if not link and not title:
        return None
    url = canonical_url(link, base_url) if link else ""
    if not is_web_url(url):
        url = ""  # javascript:, data:, file: or a relative link with no page to resolve it
    guid = plain_text(str(raw.get("id") or ""))
    return EntryData(
        feed=feed,
        id=stable_id(url) if url else stable_id(feed, guid or title),
        url=url,
        title=title or plain_text(summary_html)[:120],
        summary=plain_text(summary_html),
        summary_html=clean_html(summary_html, url or base_url),
        published=_entry_time(raw),
        author=plain_text(str(raw.get("author") or "")),
        categories=_categories(raw),
    )


def _link(raw: Mapping[str, Any]) -> str:
    link = str(raw.get("link") or "").strip()
    if link:
        return link
    guid = str(raw.get("id") or "").strip()
    return guid if raw.get("guidislink") and guid.startswith(("http://", "https://")) else ""


def _best_html(raw: Mapping[str, Any]) -> str:
    """The entry's richest HTML: full content when the summary is missing or a teaser of it."""
    summary = str(raw.get("summary") or "")
    for content in raw.get("content") or ():
        value = str(content.get("value") or "")
        if value and len(value) > len(summary):
            return value
    return summary


def _entry_time(raw: Mapping[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get: FeedParserDict.get warns when it maps one missing key onto another
        value = dict.get(raw, key) if isinstance(raw, dict) else raw.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, OSError, TypeError):
                continue
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
    entries: list[EntryData] = []
    for raw in doc["items"]:
        if isinstance(raw, dict):
            entry = _entry(feed, _json_item(raw, doc), base)
            if entry is not None:
                entries.append(entry)
    return entries


def _json_item(raw: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """A JSON Feed item in feedparser's vocabulary, so both formats share one normalizer."""
    body = raw.get("content_html") or raw.get("summary") or raw.get("content_text") or ""
    if not raw.get("content_html") and raw.get("content_text"):
        body = _escape_text(str(raw["content_text"]))
    authors = raw.get("authors") or doc.get("authors") or []
    if isinstance(raw.get("author"), dict):  # JSON Feed 1.0
        authors = [raw["author"]]
    return {
        "link": _text(raw.get("url")) or _text(raw.get("external_url")),
        "id": _text(raw.get("id")),
        "title": _escape_text(_text(raw.get("title"))),
        "summary": str(body) if isinstance(body, str) else "",
        "author": ", ".join(
            str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name")
        ),
        "tags": [{"term": t} for t in raw.get("tags") or () if isinstance(t, str)],
        "published_parsed": _json_time(raw.get("date_published") or raw.get("date_modified")),
    }


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else str(value) if isinstance(value, int) else ""


def _escape_text(text: str) -> str:
    """JSON Feed titles and ``content_text`` are plain text: a ``<`` in them is a character."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _json_time(value: Any) -> Any:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).utctimetuple()
