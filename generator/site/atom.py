"""Atom feeds of the site itself (the newsletter issues, each topic's recent items). Pure.

Written with :mod:`xml.etree.ElementTree`, which escapes every text and attribute; characters
XML 1.0 cannot carry at all (controls from a hostile feed) are dropped first, so a feed reader
never sees a malformed document (C1 controls go too: readers take them for Windows-1252). Dates come from the run's "now" and the items themselves.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

ATOM_NS = "http://www.w3.org/2005/Atom"
_NOT_XML = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class AtomEntry:
    key: str
    """Stable within the feed: the entry's id is derived from it."""
    title: str
    link: str
    updated: datetime
    summary: str = ""


def entry_id(namespace: str, key: str) -> str:
    """A permanent, absolute id (``urn:uuid:``) that needs no public address for the site."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace}\x1f{key}").urn


def atom_feed(
    *,
    namespace: str,
    author: str,
    title: str,
    self_link: str,
    page_link: str,
    updated: datetime,
    entries: Sequence[AtomEntry],
) -> str:
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    _text(feed, "id", entry_id(namespace, "feed"))
    _text(feed, "title", title)
    _text(feed, "updated", _stamp(updated))
    _link(feed, self_link, "self", "application/atom+xml")
    _link(feed, page_link, "alternate", "text/html")
    person = ET.SubElement(feed, f"{{{ATOM_NS}}}author")
    _text(person, "name", author)
    _text(feed, "generator", "Knowledge Broker")
    for item in entries:
        entry = ET.SubElement(feed, f"{{{ATOM_NS}}}entry")
        _text(entry, "id", entry_id(namespace, item.key))
        _text(entry, "title", item.title or item.link or "(untitled)")
        _text(entry, "updated", _stamp(item.updated))
        if item.link:
            _link(entry, item.link, "alternate", "text/html")
        if item.summary:
            _text(entry, "summary", item.summary)
    ET.indent(feed)
    body = ET.tostring(feed, encoding="unicode", xml_declaration=False)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"


def _text(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}").text = _NOT_XML.sub("", text)


def _link(parent: ET.Element, href: str, rel: str, kind: str) -> None:
    attributes = {"href": _NOT_XML.sub("", href), "rel": rel, "type": kind}
    ET.SubElement(parent, f"{{{ATOM_NS}}}link", attributes)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
