"""The fast path for RSS 2.0 and Atom 1.0: fastfeedparser (lxml and a compiled reader) for the
documents it reads exactly as feedparser does, ``None`` for every other document.

feedparser is pure Python and takes about 0.25 ms of CPU per entry; fastfeedparser reads the
same entries some fifty times faster. It is not a drop-in replacement: it recovers broken XML
its own way, keeps no title types or languages, parses dates with dateutil (more formats than
feedparser, some differently) and fills fields feedparser leaves empty. So it is used only where
its reading cannot differ from feedparser's for anything kb keeps, and the rule is decided on
the bytes and a strict parse before it runs. A document takes the fast path only if ALL hold:

* it is UTF-8 (or ASCII): no BOM other than UTF-8's, an XML declaration that names UTF-8 (or
  none), no other charset in the HTTP content type;
* no DOCTYPE or ENTITY declaration, no ``xml:base`` (feedparser resolves links against it), no
  ``xml:lang`` and at most one ``language`` element (a content block in another language than
  its summary is skipped by :func:`~.feeds._main_html`; fastfeedparser keeps no languages), no
  character reference in 128-159 (feedparser reads those as Windows-1252);
* libxml2's strict parser reads it (well-formed: no recovery, which each library does its
  own way; libxml2's default depth and size limits; no entity resolved; no network), its root
  is ``<rss version="2.0">`` or an Atom 1.0 ``<feed>``;
* each entry holds only elements from a short list, each at most once (categories and RSS
  comments/enclosures excepted), and each only text: RSS ``title link description guid
  pubDate category comments enclosure content:encoded dc:creator wfw:commentRss
  slash:comments`` (a WordPress feed takes the fast path); Atom ``title link id
  published updated summary content author(name, uri) category``. Anything else (markup
  inside an element, ``source``, ``media:*``, Atom ``email``, RSS ``author``, a second
  ``link``...) is read differently somewhere, or was not checked;
* within those: a date in one of two strict formats both libraries read alike (RFC 822 with
  GMT/UTC/Z or a numeric offset; ISO 8601 with a time and an offset); an RSS title without
  attributes, an Atom title, summary or content in ``text`` or ``html`` and inline; an Atom
  link that is the entry's own page (``alternate``, ``text/html``); an Atom category with a
  ``term``; a guid with no attribute but ``isPermaLink="true"|"false"``; no empty link or id
  (fastfeedparser fills them in); no summary after the content (feedparser then reads the
  summary as a second content block);
* fastfeedparser finds as many entries as the strict parse (at least one: an empty or broken
  feed is feedparser's to explain);
* it was downloaded (:func:`~.feeds.parse_feed` has a web URL to resolve its links against): a
  local file's links resolve against the feed's own home page, which the two libraries find
  differently (an Atom ``alternate`` link that is not HTML, an RSS ``atom:link``).

What fastfeedparser does not keep comes from the strict parse: whether an entry has a summary
(else fastfeedparser makes one up from its content), a link and a guid of its own, whether
its guid may stand for its link, and an Atom title's type. An RSS title's type is guessed with
feedparser's own test. The differential tests (tests/test_parse_fast.py) hold kb to this:
every document under tests/data and thousands of generated ones read the same either way.

Safety. fastfeedparser's own lxml parsers set ``resolve_entities=False`` (no entity expanded;
and no DOCTYPE gets here) and ``huge_tree=True`` (libxml2's depth and text-size limits off).
The strict parse runs first with those limits on (no ``huge_tree``), so a document nested
deeper than libxml2's default depth or with a text node over 10 MB never reaches
fastfeedparser; the size of the whole is bounded by kb's download limit (``max_bytes``), and
the time by the parse time limit (:data:`~generator.ingest.PARSE_TIME_LIMIT`) as for
feedparser. fastfeedparser's compiled reader is Rust (quick-xml): memory-safe, and it only ever
sees documents libxml2 has read strictly. fastfeedparser resets its shared parsers in a forked child
(``os.register_at_fork``); kb's parse pool starts fresh interpreters, not forks, and the strict
parser here is one per thread.

kb's defences in front of feedparser (:func:`~.feeds.defuse_doctype`, impossible character
references) are not needed here: a document with a DOCTYPE never takes this path, and a
reference to a lone surrogate or past U+10FFFF is not well-formed, so libxml2 refuses it and
feedparser reads it, with those defences. fastfeedparser is always given ``bytes``: given a
``str`` that starts with ``http://``, it would fetch it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import fastfeedparser
from feedparser.mixin import _FeedParserMixin
from lxml import etree

_ATOM = "http://www.w3.org/2005/Atom"
_HEAD = 1024  # bytes in which the XML declaration is looked for

# Any of these anywhere sends the document to feedparser (see the module docstring). Plain
# substring tests: they run at memory speed, and a false alarm only costs speed.
_DOUBTFUL = (b"<!DOCTYPE", b"<!ENTITY", b"xml:base", b"xml:lang")
_CP1252_REF = re.compile(rb"&#(?:0*1(?:2[89]|[3-5]\d)|[xX]0*[89][0-9a-fA-F]);")
_DECLARED = re.compile(rb"<\?xml[^>]*encoding\s*=\s*[\"']([\w.:-]+)[\"']")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_DAY = r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?"
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_STRICT_DATE = re.compile(
    rf"\s*(?:{_DAY}\d\d? {_MONTH} \d{{4}} \d\d:\d\d(?::\d\d)? (?:GMT|UTC|UT|Z|[+-]\d{{4}})"
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?(?:Z|[+-]\d\d:\d\d))\s*"
)


def fast_read(data: bytes, content_type: str = "") -> list[dict[str, Any]] | None:
    """The entries in feedparser's vocabulary, read by fastfeedparser; ``None`` when feedparser
    must read the document."""
    facts = _shape(data) if _plain(data, content_type) else None
    if facts is None:
        return None
    try:
        parsed = fastfeedparser.parse(bytes(data))  # bytes: a str could be fetched as a URL
    except (ValueError, etree.LxmlError):
        return None
    entries = parsed.get("entries") or []
    if not entries or len(entries) != len(facts):
        return None
    return [_entry(e, f) for e, f in zip(entries, facts, strict=True)]


def _plain(data: bytes, content_type: str) -> bool:
    """Whether the bytes pass the lexical part of the rule (see the module docstring)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.startswith(b"<"):
        return False  # a BOM other than UTF-8's (UTF-16, UTF-32), or leading text
    declared = _DECLARED.match(data, 0, _HEAD)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        return False
    charset = _CHARSET.search(content_type)
    if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
        return False
    if any(marker in data for marker in _DOUBTFUL) or data.count(b"language>") > 2:
        return False
    return b"&#" not in data or _CP1252_REF.search(data) is None


class _StrictParser(threading.local):
    """One strict parser per thread: lxml lets one parse at a time use a parser."""

    def __init__(self) -> None:
        self.parser = etree.XMLParser(
            recover=False, resolve_entities=False, no_network=True, collect_ids=False
        )


_STRICT = _StrictParser()

_CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
_DC_CREATOR = "{http://purl.org/dc/elements/1.1/}creator"
_RSS_ONCE = frozenset({"title", "link", "description", "guid", "pubDate", _CONTENT, _DC_CREATOR})
_DATES = frozenset({"pubDate", f"{{{_ATOM}}}published", f"{{{_ATOM}}}updated"})
# WordPress's comment links: no field of kb's, read by neither library into one
_COMMENT_LINKS = frozenset(
    {
        "{http://wellformedweb.org/CommentAPI/}commentRss",
        "{http://purl.org/rss/1.0/modules/slash/}comments",
    }
)
_RSS_MANY = frozenset({"category", "comments", "enclosure"}) | _COMMENT_LINKS
_A = f"{{{_ATOM}}}"
_ATOM_ONCE = frozenset(_A + n for n in ("title", "link", "id", "updated", "published", "summary"))
_ATOM_ONCE |= {_A + "content", _A + "author"}
_ATOM_AUTHOR = frozenset({_A + "name", _A + "uri"})


@dataclass(frozen=True)
class _Facts:
    """What the strict reading knows of one entry and fastfeedparser does not keep."""

    has_summary: bool  # an RSS description or Atom summary of its own
    has_link: bool  # a link element (fastfeedparser puts any guid in its place)
    has_guid: bool  # an RSS guid or Atom id (fastfeedparser puts any link in its place)
    guid_is_link: bool  # feedparser's guidislink: an id without isPermaLink="false"
    title_type: str  # "html", "text", or "" when feedparser guesses (RSS)


def _shape(data: bytes) -> list[_Facts] | None:
    """Each entry's facts when libxml2 reads the document strictly, its root is RSS 2.0 or Atom
    1.0 and every entry holds only the elements both readers agree on; ``None`` otherwise."""
    try:
        root = etree.fromstring(data, parser=_STRICT.parser)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root is None:
        return None
    if root.tag == "rss" and str(root.get("version") or "").strip() == "2.0":
        return _entry_facts(root.iter("item"), _RSS)
    if root.tag == _A + "feed":
        return _entry_facts(root.iter(_A + "entry"), _ATOM_FORMAT)
    return None


@dataclass(frozen=True)
class _Format:
    """The entry elements of one format that both readers read alike."""

    once: frozenset[str]  # at most once per entry
    many: frozenset[str]
    title: str
    link: str
    summary: str
    content: str
    guid: str


_RSS = _Format(_RSS_ONCE, _RSS_MANY, "title", "link", "description", _CONTENT, "guid")
_ATOM_FORMAT = _Format(
    _ATOM_ONCE,
    frozenset({_A + "category"}),
    _A + "title",
    _A + "link",
    _A + "summary",
    _A + "content",
    _A + "id",
)


def _entry_facts(entries: Iterable[Any], form: _Format) -> list[_Facts] | None:
    facts = []
    for entry in entries:
        seen: set[str] = set()
        for child in entry:
            tag = child.tag
            if not isinstance(tag, str):
                continue  # a comment or processing instruction
            if tag in seen or not (tag in form.once or tag in form.many):
                return None
            if not _plain_element(child):
                return None
            if tag == form.content and _summary_follows(entry, form, seen):
                return None
            if tag in form.once:
                seen.add(tag)
        title = entry.find(form.title)
        guid = entry.find(form.guid)
        facts.append(
            _Facts(
                has_summary=form.summary in seen,
                has_link=form.link in seen,
                has_guid=guid is not None,
                guid_is_link=guid is None or guid.get("isPermaLink", "true") == "true",
                title_type="" if form is _RSS else _atom_type(title),
            )
        )
    return facts


def _summary_follows(entry: Any, form: _Format, seen: set[str]) -> bool:
    """A summary after the content: feedparser reads it as a second content block."""
    return form.summary not in seen and entry.find(form.summary) is not None


def _atom_type(element: Any) -> str:
    return "text" if element is None else str(element.get("type", "text"))


def _plain_element(element: Any) -> bool:
    """An element both readers read the same way: text only (an Atom author: name and uri);
    RSS titles without attributes, Atom titles in text or HTML; links and ids that are not
    empty; a date in a strict format; a guid with nothing but ``isPermaLink`` (exactly "true"
    or "false"); an Atom link to the entry's own page; an Atom category with a term; Atom
    content inline, in text or HTML."""
    tag = element.tag
    if tag == _A + "author":
        return all(child.tag in _ATOM_AUTHOR and len(child) == 0 for child in element)
    if len(element):
        return False  # markup inside: feedparser keeps it, fastfeedparser keeps the text
    if tag in _DATES:
        return _STRICT_DATE.fullmatch(element.text or "") is not None
    if tag == "title":
        return not element.attrib
    if tag in ("link", _A + "id", "guid") and not (element.text or "").strip():
        return False  # empty: fastfeedparser fills it in from the link or guid
    if tag == "link":
        return not element.attrib
    if tag == "guid":
        return set(element.attrib) <= {"isPermaLink"} and element.get("isPermaLink", "true") in (
            "true",
            "false",
        )
    if tag == _A + "link":
        rel = element.get("rel", "alternate")
        html = element.get("type", "text/html") == "text/html"
        return rel == "alternate" and html and bool(element.get("href", "").strip())
    if tag == _A + "category":  # without a term: feedparser reads the label, fastfeedparser not
        return bool(element.get("term", "").strip())
    if tag in (_A + "content", _A + "summary", _A + "title"):
        return element.get("src") is None and element.get("type", "text") in ("text", "html")
    return True


def _entry(raw: Mapping[str, Any], facts: _Facts) -> dict[str, Any]:
    """One fastfeedparser entry in the vocabulary :func:`~.feeds._entries` reads.

    An RSS title's type is guessed as feedparser guesses it (with its own test). An entry's id
    stands for its link when it has none and may (feedparser's ``guidislink``). An entry
    without a summary has its first content block as summary, as in feedparser: fastfeedparser
    would make one up from the content's first 512 characters of text.
    """
    title = str(raw.get("title") or "")
    if facts.title_type:
        looks_html = facts.title_type == "html"
    else:  # without "<" or "&" it cannot look like HTML: skip the test
        markup = "<" in title or "&" in title
        looks_html = markup and bool(_FeedParserMixin.looks_like_html(title))
    content = [{"value": str(c.get("value") or "")} for c in raw.get("content") or ()]
    summary = str(raw.get("description") or "") if facts.has_summary else ""
    if not facts.has_summary and content:
        summary = content[0]["value"]
    guid = str(raw.get("id") or "") if facts.has_guid else ""
    return {
        "link": str(raw.get("link") or "") if facts.has_link else guid * facts.guid_is_link,
        "id": guid,
        "title": title,
        "title_detail": {"type": "text/html" if looks_html else "text/plain"},
        "summary": summary,
        "content": content,
        "author": str(raw.get("author") or ""),
        "tags": [dict(tag) for tag in raw.get("tags") or ()],
        "published_parsed": _time(raw.get("published")),
        "updated_parsed": _time(raw.get("updated")),
    }


def _time(value: object) -> Any:
    """fastfeedparser's ISO 8601 date as the UTC time tuple feedparser gives."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value).utctimetuple()
    except ValueError:
        return None
