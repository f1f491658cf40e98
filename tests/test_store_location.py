"""Store URLs: which backend, where, and a password that never shows."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.store.location import has_password, parse_location, shown_url

names = st.text("abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=12)
secrets = st.text(st.characters(codec="ascii", categories=["L", "N", "P", "S"]), min_size=1)


@given(user=names, password=secrets, host=names, port=st.integers(1, 65535), database=names)
def test_a_password_never_shows_once_parsed(
    user: str, password: str, host: str, port: int, database: str
) -> None:
    secret = "PW" + password  # never a piece of the other parts
    url = f"postgresql://{user}:{quote(secret, safe='')}@{host}:{port}/{database}"
    location = parse_location(url, Path("/project"))
    assert location.backend == "postgresql" and location.url.password == secret
    assert location.shown == f"postgresql://{user}:***@{host}:{port}/{database}"
    assert secret not in location.mask(f"FATAL: password {secret} for {user} refused")
    assert has_password(url) and not has_password(url.replace(f":{quote(secret, safe='')}", ""))
    assert secret not in shown_url(url)


def test_sqlite_paths_are_relative_to_the_project() -> None:
    relative = parse_location("sqlite:///state/kb.sqlite", Path("/project"))
    assert (relative.backend, relative.path) == ("sqlite", Path("/project/state/kb.sqlite"))
    absolute = parse_location("sqlite:////var/kb/kb.sqlite", Path("/project"))
    assert absolute.path == Path("/var/kb/kb.sqlite") and absolute.shown == "/var/kb/kb.sqlite"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://db/kb", "unknown store URL scheme 'mysql'"),
        ("not a url", "not a store URL"),
        ("postgresql://db.example", "a PostgreSQL store URL names its database"),
        ("sqlite://", "a SQLite store URL names its file"),
    ],
)
def test_unusable_urls_are_refused_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_location(url, Path("/project"))
