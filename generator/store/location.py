"""Where the store is: a URL, shown to people only with its password masked.

``postgresql://user@host:port/db`` is a team's shared PostgreSQL store; ``sqlite:///path`` (or
no setting at all: ``<state_dir>/kb.sqlite``) is the embedded one. A PostgreSQL password comes
from the environment (``PGPASSWORD``) or ``~/.pgpass``, which libpq reads itself; a URL written
in a committed file (kb.yml) or typed on a command line (visible to ``ps``) must not carry one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
SCHEMES = "postgresql://user@host:port/database or sqlite:///path/to/kb.sqlite"
MASK = "***"


@dataclass(frozen=True)
class StoreLocation:
    """A parsed store URL. ``url`` may hold a password: print :attr:`shown`, never ``url``."""

    backend: str  # "sqlite" or "postgresql"
    url: URL

    @property
    def shown(self) -> str:
        """The URL as people may see it: the password, if any, masked."""
        if self.backend == "sqlite":
            return str(self.path)
        return self.url.set(drivername="postgresql").render_as_string(hide_password=True)

    @property
    def path(self) -> Path:
        """The SQLite file (``:memory:`` for a store that lives only as long as its process)."""
        return Path(self.url.database or ":memory:")

    def mask(self, text: str) -> str:
        """``text`` (a driver's message, say) with this URL's password masked wherever it is."""
        password = self.url.password
        return text.replace(str(password), MASK) if password else text


def sqlite_location(path: Path) -> StoreLocation:
    return StoreLocation("sqlite", URL.create("sqlite", database=str(path)))


def parse_location(text: str, base: Path) -> StoreLocation:
    """Parse a store URL; a relative SQLite path is relative to ``base`` (the project folder).

    Raises ValueError with a message that never contains the password.
    """
    try:
        url = make_url(text.strip())
    except ArgumentError:
        raise ValueError(f"not a store URL (expected {SCHEMES})") from None
    if url.drivername in POSTGRES_SCHEMES:
        if not url.database:
            raise ValueError("a PostgreSQL store URL names its database: postgresql://host/db")
        return StoreLocation("postgresql", url.set(drivername="postgresql+psycopg"))
    if url.drivername == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ValueError("a SQLite store URL names its file: sqlite:///path/to/kb.sqlite")
        return sqlite_location(base / url.database)
    raise ValueError(f"unknown store URL scheme '{url.drivername}' (expected {SCHEMES})")


def shown_url(text: str) -> str:
    """A URL that may not parse, as people may see it: never with its password."""
    try:
        return make_url(text.strip()).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unreadable URL)" if "@" in text else text.strip()


def has_password(text: str) -> bool:
    """Whether a store URL carries a password (``user:secret@host``)."""
    try:
        return make_url(text.strip()).password is not None
    except ArgumentError:
        return False
