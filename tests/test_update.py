"""Pure fetch decisions: due or not, back-off, what a failure records."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.exceptions import FetchError, Gone, ParseError, RetryLater
from generator.models import EntryData, FeedState
from generator.sources import Fetched
from generator.sources.http import retry_after
from generator.update import backoff, failure, is_due, skip_reason, success

NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)


def test_due() -> None:
    assert is_due(None, NOW)
    assert is_due(FeedState("a", "u", next_fetch=NOW), NOW)
    assert not is_due(FeedState("a", "u", next_fetch=NOW + timedelta(seconds=1)), NOW)
    assert not is_due(FeedState("a", "u", status="gone"), NOW + timedelta(days=999))


@pytest.mark.parametrize(
    ("failures", "wait"),
    [(0, timedelta(0)), (1, timedelta(minutes=30)), (2, timedelta(hours=1)),
     (4, timedelta(hours=4)), (7, timedelta(hours=24)), (500, timedelta(hours=24))],
)  # fmt: skip
def test_backoff_doubles_up_to_the_cap(failures: int, wait: timedelta) -> None:
    assert backoff(failures, 24) == wait


@given(st.integers(min_value=1, max_value=10_000), st.floats(min_value=0, max_value=720))
def test_backoff_never_shrinks_and_respects_the_cap(failures: int, cap: float) -> None:
    assert backoff(failures, cap) <= timedelta(hours=cap)
    assert backoff(failures + 1, cap) >= backoff(failures, cap)


def test_failures_count_up_and_schedule_the_next_try() -> None:
    state = FeedState("a", "u", failures=2)
    recorded = failure("a", "u", ParseError("a", "empty document"), state, NOW, 24)
    assert (recorded.status, recorded.failures, recorded.error) == ("error", 3, "empty document")
    assert recorded.next_fetch == NOW + timedelta(hours=2)


def test_retry_after_wins_when_longer_but_stays_capped() -> None:
    asked = failure("a", "u", RetryLater("a", "HTTP 429", 7200), None, NOW, 24)
    assert asked.next_fetch == NOW + timedelta(hours=2)
    greedy = failure("a", "u", RetryLater("a", "HTTP 429", 10**9), None, NOW, 24)
    assert greedy.next_fetch == NOW + timedelta(hours=24)


def test_gone_is_final() -> None:
    recorded = failure("a", "u", Gone("a", "HTTP 410 Gone"), None, NOW, 24)
    assert (recorded.status, recorded.next_fetch) == ("gone", None)
    assert skip_reason(FeedState("a", "u", status="gone")).startswith("gone (HTTP 410)")


def test_skip_reason_says_until_when() -> None:
    state = FeedState("a", "u", status="error", failures=3, next_fetch=NOW)
    assert skip_reason(state) == "backing off after 3 failures, until 2026-11-16T09:00:00+00:00"


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120.0), (" 5 ", 5.0), ("Mon, 16 Nov 2026 10:00:00 GMT", 3600.0),
     ("Sun, 15 Nov 2026 10:00:00 GMT", 0.0), ("soon", None), ("", None), (None, None),
     ("-5", None)],
)  # fmt: skip
def test_retry_after_header(header: str | None, seconds: float | None) -> None:
    assert retry_after(header, NOW.timestamp()) == seconds


def test_a_fetch_error_is_a_feed_error_with_its_name() -> None:
    assert str(FetchError("acme", "HTTP 500")) == "feed acme: HTTP 500"


def test_the_updater_does_not_need_the_http_client() -> None:
    code = "import sys, generator.update; print('httpx' in sys.modules)"
    answer = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert answer.stdout == "False\n"


def test_the_store_gets_each_entrys_title_key_and_clamped_date() -> None:
    seen = NOW
    entries = [
        EntryData("a", "1", "https://a.example/1", "Port Strike ENDS!", "", "", None),
        EntryData("a", "2", "", "Later", "", "", NOW + timedelta(days=3)),
        EntryData("a", "3", "", "Earlier", "", "", NOW - timedelta(days=3)),
    ]
    update = success("a", Fetched(url="u", data=b"x"), entries, seen)
    assert [(e.title_key, e.published_at) for e in update.entries] == [
        ("port strike ends", seen),
        ("later", seen),
        ("earlier", NOW - timedelta(days=3)),
    ]
