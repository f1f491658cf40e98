"""Pure normalizers for what comes out of a feed: URLs, text, HTML and dates.

Everything from a feed is untrusted. :func:`clean_html` keeps a safelist of tags and attributes
(no scripts, styles, iframes, event handlers or ``javascript:`` URLs); :func:`plain_text` keeps
only the words, with control characters removed so nothing can drive a terminal.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import nh3

from ..printable import printable

TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "_hsenc",
        "_hsmi",
    }
)
TRACKING_PREFIXES = ("utm_",)

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "em", "i", "li", "ol", "p", "pre",
        "strong", "ul", "h3", "h4", "h5", "h6", "sub", "sup", "table", "thead", "tbody",
        "tr", "th", "td", "figure", "figcaption", "img", "cite", "q", "s", "small", "hr",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "abbr": {"title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})

_SURROGATE = re.compile("[\ud800-\udfff]")
_SPACE = re.compile(r"\s+")
# Elements that end a line or a block when rendered: their tags become spaces in plain text, so
# "<td>a</td><td>b</td>" reads "a b", never "ab".
BLOCK_TAGS = (
    "address|article|aside|blockquote|br|caption|dd|details|div|dl|dt|figcaption|figure|footer"
    "|h[1-6]|header|hr|li|main|nav|ol|p|pre|section|summary|table|tbody|td|tfoot|th|thead|tr|ul"
)
_BLOCK = re.compile(rf"<(?=/?(?:{BLOCK_TAGS})[\s/>])", re.IGNORECASE)  # just the "<": fast
# Elements whose content is a fallback or code, never the entry's words.
HIDDEN_TAGS = frozenset(
    {"script", "style", "noscript", "iframe", "object", "embed", "template", "audio", "video",
     "canvas", "svg", "math", "textarea", "select", "button"}
)  # fmt: skip
# Dates before this are placeholders ("Mon, 01 Jan 0001" for an undated page, or the Unix
# epoch, 0), not publication dates: they are treated as missing. Feeds did not exist before it.
EARLIEST_DATE = datetime(1970, 1, 2, tzinfo=UTC)


def canonical_url(url: str, base: str = "", *, keep_fragment: bool = False) -> str:
    """Lowercase scheme and host, drop default ports, tracking parameters and (unless asked to
    keep it) the fragment."""
    url = literal_text(url).replace(" ", "%20")  # a URL is text: no markup to strip
    if base and not urlsplit(url).scheme:
        url = urljoin(base, url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(TRACKING_PREFIXES)
    ]
    path = parts.path or ("/" if host else "")
    fragment = parts.fragment if keep_fragment else ""
    return urlunsplit((scheme, host, path, urlencode(query), fragment))


def is_web_url(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https")


def clean_html(fragment: str, base_url: str = "") -> str:
    """Sanitize untrusted HTML to a safelist; links open safely in a new context.

    Relative ``href``/``src`` are made absolute against ``base_url`` when it is a web URL (the
    HTML will be shown far from the feed), and dropped otherwise, since they would point nowhere.
    """
    fragment = _without_surrogates(fragment)
    if not fragment:
        return ""
    base = base_url if is_web_url(base_url) else ""
    cleaned: str = nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(HIDDEN_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=lambda tag, attr, value: _absolute(attr, value, base),
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return printable(cleaned).strip()


def _absolute(attribute: str, value: str, base: str) -> str | None:
    if attribute not in ("href", "src") or urlsplit(value).scheme:
        return value
    return urljoin(base, value) if base else None


def plain_text(fragment: str) -> str:
    """The words of an HTML or text fragment: no tags, entities decoded, one line, no controls."""
    fragment = printable(fragment)  # first: a control inside "<\x1fa" hides a tag
    if not fragment:
        return ""
    if "<" in fragment:
        fragment = nh3.clean(
            _BLOCK.sub(" <", fragment), tags=set(), clean_content_tags=set(HIDDEN_TAGS)
        )
    text = html.unescape(fragment) if "&" in fragment else fragment
    return literal_text(text)


def _without_surrogates(text: str) -> str:
    """Lone surrogates removed: nh3 (Rust) and every encoder refuse them."""
    return text if text.isascii() else _SURROGATE.sub("", text)


def literal_text(text: str) -> str:
    """Plain text taken as it is (a ``<`` is a character): one line, NFC, no controls."""
    text = unicodedata.normalize("NFC", printable(text))
    return _SPACE.sub(" ", text).strip()


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` at a word boundary to at most ``limit`` characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:.-– ")
    return cut + "…"


def normalize_title(title: str) -> str:
    """A key for "the same story told twice": casefolded words only."""
    return " ".join(re.findall(r"\w+", plain_text(title).casefold()))


def plausible_date(moment: datetime | None) -> datetime | None:
    """The moment in UTC, or None for a placeholder (before :data:`EARLIEST_DATE`) or a moment
    that cannot be represented in UTC; "None" means "first seen" downstream."""
    if moment is None:
        return None
    try:
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return moment if moment >= EARLIEST_DATE and moment.year < 9000 else None


def clamp_published(published: datetime | None, first_seen: datetime) -> datetime:
    """Missing dates become first-seen; dates in the future are clamped to first-seen."""
    published = plausible_date(published)
    if published is None or published > first_seen + timedelta(minutes=5):
        return first_seen
    return published.astimezone(UTC)


def stable_id(*parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return digest[:24]
