"""Assemble one account's digest from ranked items and curated notes. Pure: values in, values out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from .models import Account, Digest, Item, Project, SentRecord, Stakeholder
from .rank import Candidate, pick_notes, score_items, select

NOTHING_TO_SEND = "Nothing worth sending this week: no new item cleared the relevance bar."


def candidates_for(
    project: Project,
    account: Account,
    items: Sequence[Item],
    now: datetime,
    stakeholder: Stakeholder | None = None,
) -> list[Candidate]:
    settings = project.settings.ranking
    oldest = now - timedelta(days=settings.max_age_days)
    return score_items(
        account,
        [i for i in items if i.published >= oldest],
        topics={t.id: t for t in project.topics},
        feeds={f.name: f for f in project.feeds},
        now=now,
        settings=settings,
        stakeholder=stakeholder,
    )


def make_digest(
    project: Project,
    account: Account,
    items: Sequence[Item],
    now: datetime,
    *,
    history: Iterable[SentRecord] = (),
    stakeholder: Stakeholder | None = None,
) -> Digest:
    """Rank ``items`` for ``account``; items sent before ``now`` are left out.

    Records made at exactly ``now`` do not count, so re-running a digest with the same ``--now``
    (after a crash, or to get another format) gives the same result.
    """
    history = tuple(history)
    sent = {r.item_id for r in history if r.sent_at < now}
    picks = select(candidates_for(project, account, items, now, stakeholder), project.settings.ranking, sent)
    notes = pick_notes(account, project.notes, {t.id: t for t in project.topics}, now.date())
    return Digest(
        account=account,
        generated_at=now,
        picks=picks,
        notes=notes,
        stakeholder=stakeholder,
        reason="" if picks else NOTHING_TO_SEND,
        history=tuple(r for r in history if r.sent_at < now),
    )
