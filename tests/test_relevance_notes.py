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


VET_TOPICS = {
    "vet-workforce": Topic(
        "vet-workforce", "Veterinary staffing & burnout",
        ("veterinarian shortage", "vet techs", "veterinary technician", "compassion fatigue",
         "relief veterinarians"),
    ),
    "pet-care-affordability": Topic(
        "pet-care-affordability", "Cost of pet care",
        ("pet insurance", "cost of care", "payment plans", "economic euthanasia",
         "spectrum of care"),
    ),
    "vet-consolidation": Topic(
        "vet-consolidation", "Veterinary clinic consolidation",
        ("corporate consolidators", "practice acquisitions", "independent veterinary practices"),
    ),
}  # fmt: skip
VET = Account(
    "harbor-paws-vet", "Harbor Paws Veterinary Group", industry="Veterinary Clinics",
    problems=(
        "Pet owners declining treatment because they can't afford the bill",
        "Veterinarians and vet techs burning out and leaving the profession",
        "Private-equity consolidators buying up nearby clinics and outbidding us for staff",
    ),
    topics=tuple(VET_TOPICS),
)  # fmt: skip


def vet_note(slug: str, title: str, body: str, topic: str, kind: str = "insight") -> Note:
    return Note(slug, title, date(2026, 3, 1), body, (topic,), (), kind)


VET_NOTES = [
    vet_note(
        "relief-vet-costs", "Relief-doctor day rates have doubled since 2022",
        "Clinics filling gaps with relief veterinarians now pay $1,200-1,600 a day in the "
        "Northeast. Two relief days a week costs more than a full-time associate's salary.",
        "vet-workforce",
    ),
    vet_note(
        "vet-payment-plans", "Third-party payment plans lift treatment acceptance by a quarter",
        "Clinics that offered a financing option at the moment of the estimate saw 26% more "
        "treatment plans accepted, with no added collections work for the front desk.",
        "pet-care-affordability",
    ),
    vet_note(
        "compassion-fatigue-programs", "Compassion-fatigue programs that clinics say work",
        "Monthly debriefs after euthanasia cases and a rotation off the emergency floor were the "
        "two measures staff rated highest in a survey of 60 clinics.",
        "vet-workforce",
    ),
    vet_note(
        "product-shiftboard", "Shiftboard: scheduling that keeps seasonal and clinical staff",
        "Shiftboard lets staff swap shifts, see their hours a month ahead and get paid for call "
        "time automatically. Customers report 20% lower first-year turnover.",
        "vet-workforce", "product",
    ),
]  # fmt: skip


def test_a_note_sits_under_the_problem_it_speaks_to_or_under_none() -> None:
    """A note's two sentences sit about as close in meaning to several problems (relief vets'
    day rates: 0.43 to burnout and to unaffordable bills); the topic the team tagged it with
    decides. The product note speaks to no problem and is filed under none."""
    picks = pick_notes(VET, VET_NOTES, VET_TOPICS, TODAY, Corpus([]))
    bills, burnout, _ = VET.problems
    assert {p.note.slug: p.problem for p in picks} == {
        "relief-vet-costs": burnout,
        "vet-payment-plans": bills,
        "compassion-fatigue-programs": burnout,
        "product-shiftboard": "",
    }
    plans = next(p for p in picks if p.note.slug == "vet-payment-plans")
    assert plans.why == (
        f"Speaks to your problem “{bills}” in other words (similarity 0.35)",
        "Shares your topic “Cost of pet care”",
    )
