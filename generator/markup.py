"""Text made safe and tidy for each channel: Markdown escaping, links, wrapping. Pure."""

from __future__ import annotations

import re
import textwrap
import threading
from collections.abc import Mapping
from functools import lru_cache
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import markdown
import nh3

from .parse.normalize import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, URL_SCHEMES, clean_html
from .printable import printable

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]{}#|~"} | {"<": "&lt;", ">": "&gt;"})
_ENTITY = re.compile(r"&(?=#?\w+;)")
_LINE_START = re.compile(r"^(\s*)([-+=]|\d+[.)])")


def md_escape(text: str) -> str:
    """Plain text made inert in Markdown: no markup, links, entities, raw HTML or attribute
    lists (``{: onclick=...}``, which ``attr_list`` would make a live attribute) survive.

    The one escaping function for untrusted text entering Markdown: feed titles and summaries,
    names, roles, industries and note titles all go through it (the ``md`` template filter).
    """
    one_line = " ".join(printable(text).split())  # a line break or an indent could start a block
    escaped = _ENTITY.sub("&amp;", one_line).translate(_MD_SPECIAL)
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), escaped)


def md_url(url: str) -> str:
    """A URL that cannot end a Markdown link early: brackets, spaces and quotes are encoded."""
    return quote(str(url), safe=":/?#@!$&'*+,;=%-._~")


def md_link(text: str, href: str) -> str:
    """A Markdown link to ``href`` (already a safe web link), or just the text if there is none."""
    return f"[{md_escape(text)}]({md_url(href)})" if href else md_escape(text)


def lcfirst(text: str) -> str:
    """Lower-case the first letter unless the first word is an acronym ("ED boarding")."""
    text = str(text)
    first = text.split(" ", 1)[0]
    if len(first) > 1 and first[:2].isupper():
        return text
    return text[:1].lower() + text[1:]


def wrap(text: str, width: int = 72, indent: str = "") -> str:
    """Word-wrap plain text for a text email; long words (URLs) are never broken."""
    return "\n".join(
        textwrap.wrap(
            str(text),
            width=width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
    )


@lru_cache(maxsize=4096)
def note_html(text: str) -> str:
    """A note's Markdown as safe HTML (notes are the team's own, but are sanitized all the same).

    Cached: the same notes go to many accounts, and Markdown is the costliest step of a digest.
    """
    return clean_html(_note_markdown().reset().convert(text))


_markdown = threading.local()


def _note_markdown() -> markdown.Markdown:
    """One converter per thread, reset between notes (``Markdown.reset``): building one loads
    its extensions, which costs more than converting a note."""
    converter: markdown.Markdown | None = getattr(_markdown, "notes", None)
    if converter is None:
        converter = _markdown.notes = markdown.Markdown(extensions=["extra", "sane_lists"])
    return converter


def note_block(text: str) -> str:
    """A note's Markdown for a Markdown page (the site, the newsletter, a Markdown digest): its
    sanitized HTML, in a ``<div>`` so Markdown leaves it whole.

    Notes are written by the whole team and may hold raw HTML, ``javascript:`` links or a
    snippet include (``--8<-- "/etc/passwd"``); once sanitized and wrapped, nothing in them is
    Markdown any more, so neither ``attr_list`` nor ``pymdownx.snippets`` can act on them.
    """
    html = note_html(text).strip()
    return f'<div class="kb-note">\n{html}\n</div>' if html else ""


def with_utm(url: str, utm: Mapping[str, str]) -> str:
    if not utm or not url.startswith(("http://", "https://")):
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in utm]
    query.extend(sorted(utm.items()))
    return urlunsplit(parts._replace(query=urlencode(query)))


def safe_link(url: str, utm: Mapping[str, str]) -> str:
    """The link to print, or "" when the feed's URL is not a plain web address."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    if any(c.isspace() or c in "<>\"'`" for c in url):
        return ""
    return with_utm(url, utm)


def markdown_page(text: str) -> str:
    """A whole Markdown document (headings included) as sanitized HTML, for the newsletter."""
    return str(
        nh3.clean(
            markdown.markdown(text, extensions=["extra"]),
            tags=set(ALLOWED_TAGS) | {"h1", "h2", "hr"},
            clean_content_tags={"script", "style"},
            attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
            url_schemes=set(URL_SCHEMES),
            link_rel="noopener noreferrer nofollow",
        )
    )
