"""What storing a feed's entries looks up first: a few statements, whatever their number."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Text, and_, any_, func, literal, or_, select
from sqlalchemy.dialects.postgresql import ARRAY

from ..models import EntryData
from . import schema as s
from .stories import MIN_TITLE_KEY, SAME_STORY_WINDOW, Candidates, stamp, still_pruned

CHUNK = 5000  # values per IN (...) list: far below SQLite's and PostgreSQL's parameter limits


def chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start : start + CHUNK])


def among(db: Connection, column: ColumnElement[str], values: list[str]) -> ColumnElement[bool]:
    """``column IN (values)`` with the values as one parameter: a JSON array on SQLite, an
    array on PostgreSQL. SQLAlchemy renders and binds an ``IN`` list one parameter per value,
    which costs more than running the query when a batch of feeds looks up thousands; as one
    parameter, no list needs cutting into :func:`chunks` for the databases' parameter limits."""
    if db.dialect.name == "postgresql":
        return column == any_(literal(values, ARRAY(Text)))
    listed = func.json_each(literal(json.dumps(values, ensure_ascii=False))).table_valued("value")
    return column.in_(select(listed.c.value))


def known_entries(db: Connection, feeds: list[str], entry_ids: list[str]) -> set[tuple[str, str]]:
    """Which (feed, entry id) pairs of ``feeds`` and ``entry_ids`` are already stored."""
    src = s.item_sources
    query = select(src.c.feed, src.c.entry_id).where(
        among(db, src.c.feed, feeds), among(db, src.c.entry_id, entry_ids)
    )
    return {(feed, entry_id) for feed, entry_id in db.execute(query)}


def stored_item_ids(db: Connection, ids: list[str]) -> set[str]:
    return set(db.execute(select(s.items.c.id).where(among(db, s.items.c.id, ids))).scalars())


def same_title_candidates(
    db: Connection, feeds: list[str], keyed: list[tuple[EntryData, str, datetime]]
) -> tuple[Candidates, dict[str, set[str]]]:
    """Stored items that share a title key with one of the entries, and which of them each of
    ``feeds`` already gives a source (such an item is no candidate for that feed's entries).

    One query for a whole batch of feeds: the items' sources among ``feeds`` come with them.
    """
    keys = sorted({key for _, key, _ in keyed if len(key) >= MIN_TITLE_KEY})
    if not keys:
        return {}, {}
    dates = [published for _, key, published in keyed if len(key) >= MIN_TITLE_KEY]
    i, src = s.items, s.item_sources
    low, high = stamp(min(dates) - SAME_STORY_WINDOW), stamp(max(dates) + SAME_STORY_WINDOW)
    sourced = i.outerjoin(src, and_(src.c.item_id == i.c.id, among(db, src.c.feed, feeds)))
    query = (
        select(i.c.title_key, i.c.published, i.c.id, src.c.feed)
        .select_from(sourced)
        .where(among(db, i.c.title_key, keys), i.c.published.between(low, high))
        .order_by(i.c.id, src.c.feed)
    )
    candidates: Candidates = {}
    owned: dict[str, set[str]] = {}
    last = ""
    for key, published, item_id, feed in db.execute(query):
        if item_id != last:  # one row per source among ``feeds``: the item once
            candidates.setdefault(key, []).append((published, item_id))
            last = item_id
        if feed is not None:
            owned.setdefault(feed, set()).add(item_id)
    return candidates, owned


def was_pruned(db: Connection, entry: EntryData, title_key: str, published: datetime) -> bool:
    """Whether ``kb prune`` removed this story (from any feed) and it is still too old."""
    p = s.pruned
    matches: list[ColumnElement[bool]] = [
        and_(p.c.feed == entry.feed, p.c.entry_id == entry.id),
        p.c.item_id == entry.id,
    ]
    if entry.url:
        matches.append(p.c.url == entry.url)
    if len(title_key) >= MIN_TITLE_KEY:
        low, high = stamp(published - SAME_STORY_WINDOW), stamp(published + SAME_STORY_WINDOW)
        matches.append(and_(p.c.title_key == title_key, p.c.published.between(low, high)))
    rows = db.execute(select(p.c.published, p.c.cutoff).where(or_(*matches)))
    return any(
        still_pruned(
            entry.published,
            published,
            datetime.fromisoformat(stored),
            datetime.fromisoformat(cutoff),
        )
        for stored, cutoff in rows
    )
