"""The team's weekly newsletter: the week's stories that matter to our accounts, by topic.

An issue is named by ISO week (``2026-W47``). It is meant to go out on that week's Monday, so it
covers the seven days before it (the whole previous ISO week), which makes an issue complete and
the same whenever it is built.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from .config import YEARS
from .exceptions import UsageError
from .models import Account, Item, Note, Project, Topic
from .rank import Candidate

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


@dataclass(frozen=True)
class NewsCandidate:
    """What the newsletter keeps of one account's candidate: enough to pick and order stories,
    small enough to travel from a worker process or a shard's summary."""

    item: Item
    score: float
    why: tuple[str, ...]
    topic: str = ""


def newsworthy(
    candidates: Sequence[Candidate], threshold: float, start: datetime, end: datetime
) -> tuple[NewsCandidate, ...]:
    """The candidates of one account that can make a story of the week ``start``..``end``."""
    return tuple(
        NewsCandidate(c.item, c.score, c.why, c.topics[0] if c.topics else "")
        for c in candidates
        if start <= c.item.published < end
        and c.relevance >= threshold
        and c.why
        and not c.excluded_by
    )


def week_bounds(week: str) -> tuple[datetime, datetime]:
    """The issue's seven days: from the Monday before the week's Monday, to that Monday."""
    end = datetime.combine(week_monday(week), time(0), UTC)
    return end - timedelta(days=7), end


def make_newsletter(
    project: Project, candidates: Mapping[str, Sequence[NewsCandidate]], week: str
) -> Newsletter:
    """The issue of ``week`` from each account's newsworthy candidates (by account slug), as the
    run ranked them once for the digests (see :func:`newsworthy`)."""
    start, end = week_bounds(week)
    stories: dict[str, Story] = {}
    topic_of: dict[str, str] = {}
    for account in project.accounts:
        for c in candidates.get(account.slug, ()):
            if not start <= c.item.published < end:
                continue
            old = stories.get(c.item.id)
            accounts = (old.accounts if old else ()) + (account,)
            why = old.why if old else c.why
            stories[c.item.id] = Story(c.item, accounts, why, (old.score if old else 0) + c.score)
            if c.topic:
                topic_of.setdefault(c.item.id, c.topic)
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
