"""The team's notes for one digest: a few, the most relevant, none sent before. Pure.

A note is eligible when it is live and written for the account or shares one of its topics (the
team tagged it for that). Of those, a digest carries at most ``MAX_NOTES`` notes and at most
``MAX_PRODUCT_NOTES`` product note (no vendor pitch), and none the account was sent before
(notes go into the sent history like items, as ``note:<slug>``). The account's own notes come
first, then the notes closest to its problems (the same evidence as items: words and meaning),
then the newest. A note is filed under the problem it speaks to, weighing the topics it was
tagged with (see :func:`_problem`), or under none when it speaks to none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

import numpy as np

from ..models import Account, Item, Note, NotePick, RankingSettings, Topic
from .index import Corpus, Floats
from .meaning import similarity
from .needs import make_profile, topic_text
from .reasons import problem_reason
from .score import Assessment, Mix, assess, candidate
from .semantic import item_text

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
    shared = [topics[t] for t in note.topics if t in account.topics and t in topics]
    if shared:
        titles = ", ".join(f"“{t.title}”" for t in shared)
        why.append(f"Shares your topic {titles}")
    problem, reason = _problem(a, among, k, shared, moment)
    if reason:
        why.insert(0, reason)
    return NotePick(note, tuple(why), problem)


def _problem(
    a: Assessment, among: Corpus, k: int, tagged: Sequence[Topic], moment: datetime
) -> tuple[str, str]:
    """The problem note ``k`` speaks to and the reason that says so ("", "" when it speaks to
    none, by the gate's measure for items).

    Met in words, it is the problem its words meet, as for an item. Met in meaning only, a
    note's two sentences often sit about as close to several of an account's problems (0.43 and
    0.43 for relief vets' day rates, beside burnout and unaffordable bills; 0.47 for payment
    plans beside consolidators' buying, 0.35 beside unaffordable bills), so the topics the team
    tagged it with decide too: each problem's cosine to the note plus its mean cosine to those
    topics.
    """
    if not a.problem_ok[k]:
        return "", ""
    if a.lexical.best_need[k] >= 0:
        found = candidate(a, among, k, {}, moment, RankingSettings())
        return found.problem, found.why[0].replace("the item says", "the note says")
    problems, sims = a.profile.problems, a.problem_sim[k]
    at = int(np.argmax(sims + _closeness_to(tagged, problems, among)))
    return problems[at], problem_reason(problems[at], [], float(sims[at]))


def _closeness_to(topics: Sequence[Topic], problems: Sequence[str], among: Corpus) -> Floats:
    """Each problem's mean cosine to ``topics`` (none: zeros)."""
    if not topics:
        return np.zeros(len(problems), np.float32)
    embeddings = among.embeddings
    sims = similarity(embeddings.texts([topic_text(t) for t in topics]), embeddings.texts(problems))
    return np.asarray(sims.mean(axis=0), np.float32)
