"""The pure parts of newsletter delivery: who is sent what, and the message's headers."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from generator.delivery import build_message, message_id, outgoing, to_send
from generator.models import ArchivedIssue, NewsletterSettings

NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)
addresses = st.sampled_from(
    ["ana@customer.example", "Ana@Customer.example", "ben@customer.example", "cara@x.example"]
)


@given(st.lists(addresses, max_size=8), st.sets(addresses), st.booleans())
def test_to_send_never_repeats_and_skips_the_served(
    recipients: list[str], sent: set[str], resend: bool
) -> None:
    served = {s.casefold() for s in sent}
    chosen = to_send(recipients, served, resend)
    assert len(chosen) == len(set(chosen))
    assert set(chosen) <= {r.casefold() for r in recipients}
    if resend:
        assert set(chosen) == {r.casefold() for r in recipients}
    else:
        assert not set(chosen) & served
        assert set(chosen) | served >= {r.casefold() for r in recipients}


def test_message_id_is_stable_per_recipient_and_new_for_a_resend() -> None:
    sender = "Northbeam <insights@northbeam.example>"
    first = message_id("2026-W47", "ana@customer.example", sender)
    assert first == message_id("2026-W47", "ANA@customer.example", sender)
    assert first != message_id("2026-W47", "ben@customer.example", sender)
    assert first != message_id("2026-W48", "ana@customer.example", sender)
    assert "ana" not in first  # the address itself is not in a header every relay keeps
    assert first.endswith("@northbeam.example>")
    assert message_id("2026-W47", "ana@customer.example", sender, NOW) != first


def test_a_mailto_unsubscribe_gets_no_one_click_header() -> None:
    issue = ArchivedIssue("2026-W47", NOW, "Weekly", (), (), "# Weekly\n\nHello.\n", Path("x"))
    settings = NewsletterSettings(
        sender="insights@northbeam.example",
        recipients=("ana@customer.example",),
        unsubscribe="mailto:leave@northbeam.example?subject=unsubscribe",
    )
    msg_id = message_id("2026-W47", "ana@customer.example", settings.sender)
    message = build_message(
        issue=issue, html="<html><body><h1>Weekly</h1></body></html>", settings=settings,
        team="Northbeam", recipient="ana@customer.example", msg_id=msg_id, now=NOW,
    )  # fmt: skip
    data = outgoing(message, "insights@northbeam.example", "ana@customer.example", msg_id).data
    parsed = message_from_bytes(data, policy=policy.default)
    assert parsed["List-Unsubscribe"] == "<mailto:leave@northbeam.example?subject=unsubscribe>"
    assert parsed["List-Unsubscribe-Post"] is None
    assert parsed["From"] == "Northbeam <insights@northbeam.example>"
    assert parsed["Date"].datetime == NOW
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
