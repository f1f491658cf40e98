"""Between rows and the models: how the store writes and reads each value."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Column, LargeBinary, bindparam
from sqlalchemy import update as sql_update
from sqlalchemy.engine import RowMapping

from ..models import EntryData, FeedState, FeedUpdate
from . import schema as s
from .stories import stamp


def iso(moment: datetime | None) -> str | None:
    return stamp(moment) if moment else None


def time_of(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def categories(text: str) -> tuple[str, ...]:
    """Most items have none: they skip the JSON parser."""
    return () if text == "[]" else tuple(json.loads(text))


def exported(column: Column[Any], value: Any) -> Any:
    if isinstance(column.type, LargeBinary) and value is not None:
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def imported(column: Column[Any], value: Any) -> Any:
    if isinstance(column.type, LargeBinary) and value is not None:
        return base64.b64decode(value, validate=True)
    return value


def feed_state(row: RowMapping) -> FeedState:
    return FeedState(
        name=row["name"],
        url=row["url"],
        status=row["status"],
        last_fetch=time_of(row["last_fetch"]),
        last_success=time_of(row["last_success"]),
        failures=row["failures"],
        next_fetch=time_of(row["next_fetch"]),
        last_error=row["last_error"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        item_count=row["n"],
        moved_to=row["moved_to"],
        discovered=row["discovered"],
    )


def feed_values(update: FeedUpdate) -> dict[str, Any]:
    """The columns of the feed's row that a fetch result writes, and their values."""
    ok = update.status == "ok"
    values: dict[str, Any] = {
        "status": update.status,
        "last_fetch": iso(update.fetched_at),
        "failures": update.failures,
        "next_fetch": iso(update.next_fetch),
        "last_error": update.error,
        "moved_to": update.moved_to,
    }
    if update.succeeded:
        values |= {"discovered": update.discovered, "last_success": iso(update.fetched_at)}
    if ok:
        values |= {"etag": update.etag, "last_modified": update.last_modified}
    return values


def feed_updates(updates: Iterable[FeedUpdate]) -> list[tuple[Any, list[dict[str, Any]]]]:
    """The UPDATEs of the feeds' rows, as (statement, parameter sets): one statement per set of
    columns written (an ``executemany``), so a run's bookkeeping is three statements at most,
    whatever the number of feeds, and each statement is built once per process."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for update in updates:
        values = feed_values(update)
        row = {"_name": update.name} | {f"_{column}": value for column, value in values.items()}
        groups.setdefault(tuple(values), []).append(row)
    return [(_feed_update(columns), rows) for columns, rows in groups.items()]


@cache
def _feed_update(columns: tuple[str, ...]) -> Any:
    """``UPDATE feeds SET column = :_column ... WHERE name = :_name`` (a bound parameter may
    not share a column's name in SQLAlchemy's SET clause, hence the underscores)."""
    f = s.feeds
    return (
        sql_update(f)
        .where(f.c.name == bindparam("_name"))
        .values({column: bindparam(f"_{column}") for column in columns})
    )


def item_row(entry: EntryData, title_key: str, published: datetime, seen: str) -> dict[str, str]:
    return {
        "id": entry.id,
        "url": entry.url,
        "title": entry.title,
        "title_key": title_key,
        "summary": entry.summary,
        "summary_html": entry.summary_html,
        "published": stamp(published),
        "first_seen": seen,
        "author": entry.author,
        "categories": _as_json(list(entry.categories)),
    }


# ``json.dumps`` with an option builds a new encoder each call: a first fetch stores 10,000 items
_as_json = json.JSONEncoder(ensure_ascii=False).encode
