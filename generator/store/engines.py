"""Connecting to the store's database: engine options, SQLite's pragmas and WAL switch."""

from __future__ import annotations

import sqlite3
import time

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine.interfaces import BindTyping
from sqlalchemy.pool import NullPool, StaticPool

from .location import StoreLocation


def make_engine(location: StoreLocation) -> Engine:
    """An engine in autocommit mode: the store says BEGIN itself (see :mod:`.sql`)."""
    make = postgresql_engine if location.backend == "postgresql" else sqlite_engine
    return make(location)


def sqlite_engine(location: StoreLocation) -> Engine:
    path = location.path
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        location.url,
        isolation_level="AUTOCOMMIT",  # we say BEGIN IMMEDIATE ourselves
        connect_args={"timeout": 60},
        poolclass=StaticPool if str(path) == ":memory:" else NullPool,
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi: sqlite3.Connection, _record: object) -> None:
    dbapi.execute("PRAGMA foreign_keys = ON")
    dbapi.execute("PRAGMA synchronous = NORMAL")
    _use_wal(dbapi)


def _use_wal(dbapi: sqlite3.Connection, attempts: int = 600) -> None:
    """Switch to WAL. Two runs creating the same new store at once both try; the loser is told
    "locked" at once (no busy timeout applies to this switch), so it waits and retries."""
    for attempt in range(attempts):
        try:
            dbapi.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or attempt == attempts - 1:
                raise
            time.sleep(0.1)


def postgresql_engine(location: StoreLocation) -> Engine:
    engine = create_engine(
        location.url,
        isolation_level="AUTOCOMMIT",  # we say BEGIN ourselves
        # No server-side prepared statements: psycopg prepares a statement run 5 times, and the
        # server then may keep one generic plan for every list of ids or title keys, planned
        # without their values (storing 100,000 items: 230 items per second instead of 2,000+).
        connect_args={"connect_timeout": 10, "application_name": "kb", "prepare_threshold": None},
        poolclass=NullPool,
    )
    # No "::VARCHAR" casts on parameters: with the columns' "C" collation they would render as
    # "::VARCHAR COLLATE "C"", a syntax error; every parameter here is text, integer or bytes,
    # which the server types from the column compared with.
    engine.dialect.bind_typing = BindTyping.NONE
    return engine
