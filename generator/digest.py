"""Assemble one account's digest from ranked items and curated notes. Pure: values in, values out.

Also the decisions around a digest that a rep asks about: why an item was or was not chosen
(:func:`explain`), which accounts are due a message (:func:`due_accounts`), and a digest for a
caller who has no account file yet (:func:`adhoc_account`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .models import ADHOC_SLUG, Account, Digest, Item, Pick, Project, SentRecord, Stakeholder
from .relevance import Candidate, Corpus, Share, decide, pick_notes, select
from .relevance.lexicon import lexicon
from .relevance.meaning import Matrix, TextVectors
from .relevance.needs import make_profile
from .relevance.score import Assessment, Mix, assess, candidate, reasons, score_items

NOTHING_TO_SEND = "Nothing worth sending this week: no new item cleared the relevance bar."


def adhoc_account(problems: Sequence[str], industry: str = "") -> Account:
    """A transient account for a caller described in a few sentences (``kb digest --problem``)."""
    return Account(
        slug=ADHOC_SLUG,
        name="New caller",
        industry=industry,
        problems=tuple(p.strip() for p in problems if p.strip()),
    )


def candidates_for(
    project: Project,
    account: Account,
    items: Sequence[Item],
    now: datetime,
    stakeholder: Stakeholder | None = None,
    *,
    corpus: Corpus | None = None,
) -> list[Candidate]:
    """Every item that passed the account's gate, scored, best first (see
    :func:`generator.relevance.rank`)."""
    settings = project.settings.ranking
    corpus = corpus or corpus_of(project, items)
    return score_items(
        account,
        items,
        topics={t.id: t for t in project.topics},
        feeds={f.name: f for f in project.feeds},
        now=now,
        settings=settings,
        stakeholder=stakeholder,
        corpus=corpus,
        oldest=now - timedelta(days=settings.max_age_days),
        mix=Mix(judge=settings.judge),
    )


def corpus_of(
    project: Project,
    items: Sequence[Item],
    vectors: Matrix | None = None,
    texts: TextVectors | None = None,
) -> Corpus:
    """The run's corpus of ``items`` with the project's vocabulary (and the items' stored
    vectors, in the same order, and the store's cache of account and note texts' vectors, when
    the caller has them)."""
    return Corpus(items, lexicon(project.vocabulary), vectors=vectors, text_vectors=texts)


ASSESSED_KEPT = 16
"""Accounts whose assessment :func:`story_reasons` keeps (an issue's stories have a few first
accounts, and each assessment holds arrays the size of the corpus)."""


def story_reasons(project: Project, corpus: Corpus) -> Callable[[Account, Item], tuple[str, ...]]:
    """Why an item matters to an account, worded as the account's digest words it, each account
    assessed once (see :data:`generator.newsletter.Reasons`)."""
    topics = {t.id: t for t in project.topics}
    feeds = {f.name: f for f in project.feeds}
    assessed: dict[str, Assessment] = {}

    def why(account: Account, item: Item) -> tuple[str, ...]:
        a = assessed.get(account.slug)
        if a is None:
            if len(assessed) >= ASSESSED_KEPT:
                assessed.clear()
            profile = make_profile(account, topics, None, corpus.lexicon)
            a = assessed[account.slug] = assess(profile, corpus, feeds, Mix(judge=False))
        return reasons(a, corpus, corpus.position[item.id])

    return why


def _sent_before(history: Iterable[SentRecord], now: datetime) -> dict[str, datetime]:
    """Item id -> when it was first sent, counting only records made before ``now``."""
    sent: dict[str, datetime] = {}
    for r in sorted(history, key=lambda r: r.sent_at):
        if r.sent_at < now:
            sent.setdefault(r.item_id, r.sent_at)
    return sent


def make_digest(
    project: Project,
    account: Account,
    items: Sequence[Item],
    now: datetime,
    *,
    history: Iterable[SentRecord] = (),
    stakeholder: Stakeholder | None = None,
    corpus: Corpus | None = None,
    candidates: Sequence[Candidate] | None = None,
) -> Digest:
    """Rank ``items`` for ``account``; items sent before ``now`` are left out.

    Records made at exactly ``now`` do not count, so re-running a digest with the same ``--now``
    (after a crash, or to get another format) gives the same result. Pass ``candidates`` (from
    :func:`candidates_for` with the same arguments) when the run ranked the account already.
    """
    history = tuple(history)
    corpus = corpus or corpus_of(project, items)
    if candidates is None:
        candidates = candidates_for(project, account, items, now, stakeholder, corpus=corpus)
    sent = _sent_before(history, now)
    picks = select(candidates, project.settings.ranking, sent)
    topics = {t.id: t for t in project.topics}
    notes = pick_notes(account, project.notes, topics, now.date(), corpus, sent)
    return Digest(
        account=account,
        generated_at=now,
        picks=picks,
        notes=notes,
        stakeholder=stakeholder,
        reason="" if picks else NOTHING_TO_SEND,
        history=tuple(r for r in history if r.sent_at < now),
    )


# --- why was this chosen (or not)? --------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    url: str
    title: str
    chosen: bool
    verdict: str
    score: float
    relevance: float
    why: tuple[str, ...]
    shares: tuple[Share, ...] = ()
    """Each signal's part in the decision."""
    gates: tuple[tuple[str, bool, str], ...] = ()
    """Each gate question: (name, passed, what was measured)."""


def explain(
    project: Project,
    account: Account,
    items: Sequence[Item],
    url: str,
    now: datetime,
    *,
    history: Iterable[SentRecord] = (),
    stakeholder: Stakeholder | None = None,
    corpus: Corpus | None = None,
) -> Explanation:
    """Why the item at ``url`` was or was not chosen for ``account`` at ``now``."""
    settings = project.settings.ranking
    item = next((i for i in items if i.url == url), None)
    if item is None:
        return Explanation(url, "", False, "not chosen: no stored item has this URL", 0.0, 0.0, ())
    if item.published > now:
        verdict = f"not chosen: published {item.published:%Y-%m-%d}, after {now:%Y-%m-%d}"
        return Explanation(url, item.title, False, verdict, 0.0, 0.0, ())
    if item.published < now - timedelta(days=settings.max_age_days):
        verdict = f"not chosen: older than {settings.max_age_days} days"
        return Explanation(url, item.title, False, verdict, 0.0, 0.0, ())
    corpus = corpus or corpus_of(project, items)
    candidates = candidates_for(project, account, items, now, stakeholder, corpus=corpus)
    decisions = decide(candidates, settings, _sent_before(history, now))
    found = next((d for d in decisions if d.candidate.item.url == url), None)
    if found is None:
        # It did not pass the gate (or an exclude phrase names it): assess it alone to say why.
        profile = make_profile(
            account, {t.id: t for t in project.topics}, stakeholder, corpus.lexicon
        )
        feeds = {f.name: f for f in project.feeds}
        at = corpus.position[item.id]
        assessed = assess(profile, corpus, feeds, Mix(judge=settings.judge))
        c = candidate(assessed, corpus, at, feeds, now, settings)
        failed = [x.detail for x in c.checks if not x.passed]
        if c.excluded_by:
            verdict = (
                f"not chosen: excluded: it mentions '{c.excluded_by}', which the account excludes"
            )
        else:
            verdict = f"not chosen: it did not pass the gate: {'; '.join(failed)}"
        return Explanation(url, item.title, False, verdict, 0.0, 0.0, c.why, c.shares, _gates(c))
    c = found.candidate
    verdict = found.reason if found.chosen else f"not chosen: {found.reason}"
    return Explanation(
        url, item.title, found.chosen, verdict, c.score, c.relevance, c.why, c.shares, _gates(c)
    )


def _gates(c: Candidate) -> tuple[tuple[str, bool, str], ...]:
    return tuple((x.name, x.passed, x.detail) for x in c.checks)


# --- who to contact today -------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """An account with something worth sending that heard nothing from us lately."""

    account: Account
    last_sent: datetime | None
    top: Pick
    waiting: int


def due_accounts(
    digests: Sequence[Digest],
    histories: Mapping[str, Sequence[SentRecord]],
    now: datetime,
    days: int = 14,
) -> list[Due]:
    """Accounts with picks that were sent nothing in the last ``days``, best first."""
    since = now - timedelta(days=days)
    due: list[Due] = []
    for digest in digests:
        if not digest.picks:
            continue
        sent = [r.sent_at for r in histories.get(digest.account.slug, ()) if r.sent_at < now]
        last = max(sent) if sent else None
        if last is not None and last > since:
            continue
        due.append(Due(digest.account, last, digest.picks[0], len(digest.picks)))
    return sorted(due, key=lambda d: (-d.top.score, d.account.slug))
