"""The team's weekly newsletter: the week's stories that matter to our accounts, by topic.

An issue is named by ISO week (``2026-W47``). It is meant to go out on that week's Monday, so it
covers the seven days before it (the whole previous ISO week), which makes an issue complete and
the same whenever it is built.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from .config import YEARS
from .digest import candidates_for, corpus_of
from .exceptions import UsageError
from .models import Account, Item, Note, Project, Topic
from .relevance.meaning import Matrix

PER_TOPIC = 5
WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True)
class Story:
    item: Item
    accounts: tuple[Account, ...]
    why: tuple[str, ...]
    score: float


@dataclass(frozen=True)
class Section:
    topic: Topic | None
    stories: tuple[Story, ...]


@dataclass(frozen=True)
class Newsletter:
    week: str
    start: datetime
    end: datetime
    sections: tuple[Section, ...]
    notes: tuple[Note, ...]

    @property
    def is_empty(self) -> bool:
        return not self.sections and not self.notes


def week_of(moment: datetime) -> str:
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return f"{year:04d}-W{week:02d}"


def week_monday(week: str) -> date:
    match = WEEK.match(week)
    if not match:
        raise UsageError(f"week must look like 2026-W47, got '{week}'")
    year = int(match.group(1))
    if not YEARS[0] <= year <= YEARS[1]:
        raise UsageError(f"the week's year must be between {YEARS[0]} and {YEARS[1]}: {week}")
    try:
        return date.fromisocalendar(year, int(match.group(2)), 1)
    except ValueError as e:
        raise UsageError(f"no such week: {week}") from e


def make_newsletter(
    project: Project,
    items: Sequence[Item],
    week: str,
    *,
    vectors_of: Callable[[Sequence[Item]], Matrix] | None = None,
) -> Newsletter:
    """The week's issue. ``vectors_of`` gives items' stored sentence vectors (the pipeline
    reads them from the store); without it the week's items are embedded here."""
    end = datetime.combine(week_monday(week), time(0), UTC)
    start = end - timedelta(days=7)
    in_week = [i for i in items if start <= i.published < end]
    stories: dict[str, Story] = {}
    topic_of: dict[str, str] = {}
    threshold = project.settings.ranking.threshold
    corpus = corpus_of(project, in_week, vectors_of(in_week) if vectors_of and in_week else None)
    for account in project.accounts:
        for c in candidates_for(project, account, in_week, end, corpus=corpus):
            if c.relevance < threshold or not c.why or c.excluded_by:
                continue
            old = stories.get(c.item.id)
            accounts = (old.accounts if old else ()) + (account,)
            why = old.why if old else c.why
            stories[c.item.id] = Story(c.item, accounts, why, (old.score if old else 0) + c.score)
            if c.topics:
                topic_of.setdefault(c.item.id, c.topics[0])
    sections: list[Section] = []
    for topic in [*project.topics, None]:
        key = topic.id if topic else ""
        chosen = sorted(
            (s for s in stories.values() if topic_of.get(s.item.id, "") == key),
            key=lambda s: (-len(s.accounts), -s.score, s.item.id),
        )[:PER_TOPIC]
        if chosen:
            sections.append(Section(topic, tuple(chosen)))
    last_day = end.date() - timedelta(days=1)
    notes = tuple(
        sorted(
            (
                n
                for n in project.notes
                if start.date() <= n.date < end.date() and n.is_live(last_day)
            ),
            key=lambda n: (n.date, n.slug),
        )
    )
    return Newsletter(week, start, end, tuple(sections), notes)
