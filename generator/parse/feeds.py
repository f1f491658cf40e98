"""Feed bytes -> :class:`~generator.models.EntryData`, with feedparser for RSS and Atom and the
standard library for JSON Feed."""

from __future__ import annotations

import calendar
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser

from ..exceptions import ParseError
from ..models import EntryData
from .normalize import canonical_url, clean_html, plain_text, stable_id

feedparser.RESOLVE_RELATIVE_URIS = True
feedparser.SANITIZE_HTML = True


def parse_feed(feed: str, data: bytes, base_url: str = "", content_type: str = "") -> list[EntryData]:
    """Parse a whole feed document; raise :class:`ParseError` when nothing usable is in it."""
    if not data.strip():
        raise ParseError(feed, "empty document")
    if _looks_like_json(data, content_type):
        return _json_feed(feed, data, base_url)
    parsed = feedparser.parse(
        data, response_headers={"content-location": base_url, "content-type": content_type}
    )
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        reason = parsed.get("bozo_exception") or "not a feed"
        raise ParseError(feed, f"not a valid RSS/Atom/JSON feed ({plain_text(str(reason))[:200]})")
    return list(_entries(feed, parsed.entries, base_url))


def _entries(feed: str, entries: Iterable[Mapping[str, Any]], base_url: str) -> Iterable[EntryData]:
    for raw in entries:
        entry = _entry(feed, raw, base_url)
        if entry is not None:
            yield entry


def _entry(feed: str, raw: Mapping[str, Any], base_url: str) -> EntryData | None:
    link = raw.get("link") or ""
    title = plain_text(raw.get("title") or "")
    summary_html = _best_html(raw)
    if not link and not title:
        return None
    url = canonical_url(link, base_url) if link else ""
    guid = plain_text(str(raw.get("id") or ""))
    return EntryData(
        feed=feed,
        id=stable_id(url) if url else stable_id(feed, guid or title),
        url=url,
        title=title or plain_text(summary_html)[:120],
        summary=plain_text(summary_html),
        summary_html=clean_html(summary_html, base_url),
        published=_entry_time(raw),
        author=plain_text(raw.get("author") or ""),
        categories=_categories(raw),
    )


def _best_html(raw: Mapping[str, Any]) -> str:
    summary = raw.get("summary") or ""
    if not summary:
        for content in raw.get("content") or ():
            if content.get("value"):
                return str(content["value"])
    return str(summary)


def _entry_time(raw: Mapping[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = raw.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, OSError):
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
    return "json" in content_type.lower() or data.lstrip()[:1] == b"{"


def _json_feed(feed: str, data: bytes, base_url: str) -> list[EntryData]:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1)."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise ParseError(feed, f"invalid JSON feed: {e}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise ParseError(feed, "invalid JSON feed: no 'items' list")
    entries: list[EntryData] = []
    for raw in doc["items"]:
        if not isinstance(raw, dict):
            continue
        html_body = str(raw.get("content_html") or raw.get("summary") or raw.get("content_text") or "")
        authors = raw.get("authors") or ([raw["author"]] if isinstance(raw.get("author"), dict) else [])
        mapped = {
            "link": raw.get("url") or raw.get("external_url") or "",
            "id": raw.get("id") or "",
            "title": raw.get("title") or "",
            "summary": html_body,
            "author": ", ".join(str(a.get("name", "")) for a in authors if isinstance(a, dict)),
            "tags": [{"term": str(t)} for t in raw.get("tags") or () if isinstance(t, str)],
            "published_parsed": _json_time(raw.get("date_published") or raw.get("date_modified")),
        }
        entry = _entry(feed, mapped, base_url)
        if entry is not None:
            entries.append(entry)
    return entries


def _json_time(value: Any) -> Any:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).timetuple()
