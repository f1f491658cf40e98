"""The team's notes for one digest: a few, the most relevant, none sent before. Pure.

A note is eligible when it is live and written for the account or shares one of its topics (the
team tagged it for that). Of those, a digest carries at most ``MAX_NOTES`` notes and at most
``MAX_PRODUCT_NOTES`` product note (no vendor pitch), and none the account was sent before
(notes go into the sent history like items, as ``note:<slug>``). The account's own notes come
first, then the notes closest to its problems (the same evidence as items: words and meaning),
then the newest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

import numpy as np

from ..models import Account, Item, Note, NotePick, RankingSettings, Topic
from .gate import PROBLEM_MIN
from .index import Corpus
from .needs import make_profile
from .score import Assessment, Mix, assess, candidate
from .semantic import item_text
from .text import terms

MAX_NOTES = 3
MAX_PRODUCT_NOTES = 1


def note_id(note: Note) -> str:
    """The id a note is recorded under in the sent history."""
    return f"note:{note.slug}"


def note_item(note: Note) -> Item:
    moment = datetime.combine(note.date, datetime.min.time(), UTC)
    return Item(note_id(note), "", note.title, note.body, "", moment, moment, ())


def note_text(note: Note) -> str:
    """What is embedded for a note (as for an item: its title, then its body)."""
    return item_text(note_item(note))


def notes_corpus(notes: Sequence[Note], corpus: Corpus) -> Corpus:
    """All the team's notes as a corpus of their own, built once per run and kept on ``corpus``
    (every account ranks the same notes), embedded through the run's encoder."""
    cached = corpus.extras.get(notes_key(notes))
    if isinstance(cached, Corpus):
        return cached
    built = Corpus([note_item(n) for n in notes], corpus.lexicon, alongside=corpus)
    corpus.extras[notes_key(notes)] = built
    return built


def notes_key(notes: Sequence[Note]) -> tuple[str, tuple[str, ...]]:
    """Where :func:`notes_corpus` keeps the notes' corpus on the run's corpus (a caller that
    restored it from a snapshot puts it there)."""
    return ("notes", tuple(n.slug for n in notes))


def pick_notes(
    account: Account,
    notes: Sequence[Note],
    topics: Mapping[str, Topic],
    today: date,
    corpus: Corpus | None = None,
    sent: Mapping[str, datetime] | None = None,
) -> tuple[NotePick, ...]:
    """The notes for this account's digest, best first, product note last."""
    already = sent or {}
    eligible = [
        k
        for k, n in enumerate(notes)
        if n.is_live(today)
        and note_id(n) not in already
        and (account.slug in n.accounts or set(n.topics) & set(account.topics))
    ]
    if not eligible:
        return ()
    corpus = corpus or Corpus([])
    among = notes_corpus(notes, corpus)
    profile = make_profile(account, topics, None, among.lexicon)
    a = assess(profile, among, {}, Mix(judge=False))  # ordered by relevance; no gate to judge
    # Ordered first, worded after: only the notes the digest carries need their reasons.
    ranked = sorted(
        eligible,
        key=lambda k: (
            0 if account.slug in notes[k].accounts else 1,
            -float(a.relevance[k]),
            -notes[k].date.toordinal(),
            notes[k].slug,
        ),
    )
    others = [k for k in ranked if notes[k].kind != "product"][:MAX_NOTES]
    products = [k for k in ranked if notes[k].kind == "product"][:MAX_PRODUCT_NOTES]
    moment = datetime.combine(today, datetime.min.time(), UTC)
    return tuple(_pick(account, notes[k], topics, a, among, k, moment) for k in others + products)


def _pick(
    account: Account,
    note: Note,
    topics: Mapping[str, Topic],
    a: Assessment,
    among: Corpus,
    k: int,
    moment: datetime,
) -> NotePick:
    """Note ``k`` for the account, with why (its problem and the topics it shares)."""
    why: list[str] = []
    if account.slug in note.accounts:
        why.append(f"Written for {account.name}")
    shared = [t for t in note.topics if t in account.topics]
    if shared:
        titles = ", ".join(f"“{topics[t].title}”" for t in shared if t in topics)
        why.append(f"Shares your topic {titles}")
    found = candidate(a, among, k, {}, moment, RankingSettings())
    problem = ""
    if found.problem and a.problem_ok[k]:
        problem = found.problem
        why.insert(0, found.why[0].replace("the item says", "the note says"))
    problem = problem or _closest_problem(account, note, a.problem_sim[k])
    return NotePick(note, tuple(why), problem)


def _closest_problem(account: Account, note: Note, sims: np.ndarray) -> str:
    """The problem the note is closest to in meaning (or sharing most words), if any."""
    if len(sims) and float(sims.max()) >= PROBLEM_MIN:
        return account.problems[int(np.argmax(sims))]
    note_terms = set(terms(f"{note.title} {note.body}"))
    best, best_overlap = "", 0
    for problem in account.problems:
        overlap = len(set(terms(problem)) & note_terms)
        if overlap > best_overlap:
            best, best_overlap = problem, overlap
    return best
