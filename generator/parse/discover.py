"""Feed autodiscovery: an HTML page that points at its feed with ``<link rel="alternate">``."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

# Feed types by preference; within a rank, the page's own order wins (it lists its main feed
# first). Plain JSON comes last: it is as often a comments API as a JSON Feed.
FEED_TYPES = {
    "application/atom+xml": 0,
    "application/rss+xml": 0,
    "application/feed+json": 0,
    "application/rdf+xml": 1,
    "application/xml": 1,
    "text/xml": 1,
    "application/json": 2,
}
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<title")


def looks_like_html(data: bytes, content_type: str = "") -> bool:
    """An HTML page rather than a feed: by its content type, else by how it starts."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in ("text/html", "application/xhtml+xml"):
        return True
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(_HTML_STARTS)


def feed_links(data: bytes, base_url: str) -> list[str]:
    """Absolute URLs of the feeds an HTML page advertises, the most specific type first."""
    finder = _LinkFinder()
    try:
        finder.feed(data[: 512 * 1024].decode("utf-8", "replace"))
        finder.close()
    except AssertionError:  # HTMLParser's way of giving up on hopeless markup
        pass
    ranked = sorted(
        (FEED_TYPES[kind], order, href) for order, (kind, href) in enumerate(finder.links)
    )
    seen: dict[str, None] = {}
    for _, _, href in ranked:
        url = urljoin(finder.base or base_url, href)
        if url.startswith(("http://", "https://")):
            seen.setdefault(url, None)
    return list(seen)


class _LinkFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self.base = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "").strip() for k, v in attrs}
        if tag == "base" and values.get("href") and not self.base:
            self.base = values["href"]
        if tag not in ("link", "a"):
            return
        rels = values.get("rel", "").lower().split()
        kind = values.get("type", "").lower().split(";", 1)[0].strip()
        if "alternate" in rels and kind in FEED_TYPES and values.get("href"):
            self.links.append((kind, values["href"]))
