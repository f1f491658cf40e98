"""Notes for a digest: bounded, the most relevant first, none sent before."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fake_encoder import FakeEncoder

from generator.models import Account, Note, Topic
from generator.relevance import Corpus, pick_notes
from generator.relevance.notes import note_id

TODAY = date(2026, 3, 16)
TOPICS = {"drivers": Topic("drivers", "Driver retention", ("driver turnover",))}
ACCOUNT = Account(
    "blue", "Blue Mesa", industry="Trucking",
    problems=("Keeping qualified truck drivers",), topics=("drivers",),
)  # fmt: skip


def note(slug: str, title: str, kind: str = "insight", accounts: tuple[str, ...] = ()) -> Note:
    return Note(slug, title, date(2026, 3, 1), f"{title}.", ("drivers",), accounts, kind)


NOTES = [
    note("n1", "Bike lanes downtown"),
    note("n2", "Why qualified truck drivers quit in their first year"),
    note("n3", "Keeping truck drivers: home time matters"),
    note("n4", "Office plants"),
    note("n5", "A call we had with Blue Mesa", accounts=("blue",)),
    note("p1", "Our scheduling product", "product"),
    note("p2", "Our retention product for truck drivers", "product"),
    note("old", "Expired", kind="insight"),
]


def picked(sent: dict[str, datetime] | None = None) -> list[str]:
    corpus = Corpus([], encoder=FakeEncoder())
    return [p.note.slug for p in pick_notes(ACCOUNT, NOTES, TOPICS, TODAY, corpus, sent)]


def test_at_most_three_notes_and_one_product_note_the_accounts_own_first() -> None:
    assert picked() == ["n5", "n2", "n3", "p2"]


def test_a_note_sent_before_gives_its_place_to_the_next() -> None:
    sent = {note_id(NOTES[1]): datetime(2026, 3, 9, tzinfo=UTC)}
    # the notes left tie on relevance and date: the slug decides
    assert picked(sent) == ["n5", "n3", "n1", "p2"]
