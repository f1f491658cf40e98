"""The team's weekly newsletter: the week's stories that matter to our accounts, by topic.

An issue is named by ISO week (``2026-W47``). It is meant to go out on that week's Monday, so it
covers the seven days before it (the whole previous ISO week), which makes an issue complete.

Pure: :func:`make_newsletter` takes the per-account candidates the run already ranked (the same
ones the digests are made from, so ``kb build`` ranks each account once) and the URLs earlier
issues carried (read from the archive, :mod:`generator.archive`), and returns the issue. Stories
are ordered by how many accounts they matter to, then by summed score; recency decays every score
by the same factor for a given "now", so the order does not depend on when in the week the issue
is built. The value gate (:attr:`Newsletter.is_empty`) is the caller's to apply.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from .archive import WEEK as WEEK  # re-exported: the week pattern lived here first
from .config import YEARS
from .exceptions import UsageError
from .models import Account, Item, Note, Project, Topic
from .relevance import Candidate, anything_clear

PER_TOPIC = 5


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
    generated_at: datetime | None = None

    @property
    def is_empty(self) -> bool:
        """Nothing worth sending: no story cleared the bar and the team wrote no note."""
        return not self.sections and not self.notes

    @property
    def stories(self) -> tuple[Story, ...]:
        return tuple(s for section in self.sections for s in section.stories)


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
    small enough to travel from a worker process or a shard's summary. Its reasons are not
    among it: see :data:`Reasons`."""

    item: Item
    score: float
    topic: str = ""


Reasons = Callable[[Account, Item], tuple[str, ...]]
"""Why an item matters to an account, in words: asked only for the stories an issue prints, of
their first account. An account passes hundreds of candidates a week and an issue prints a few
dozen stories, so wording every candidate's reasons cost a quarter of a build's ranking."""


def newsworthy(
    candidates: Sequence[Candidate], threshold: float, start: datetime, end: datetime
) -> tuple[NewsCandidate, ...]:
    """The candidates of one account that can make a story of the week ``start``..``end``:
    relevant enough and not excluded. (Each has a reason: a ranked candidate passed the gate by
    meeting a problem or naming a topic phrase or keyword, and each of those is a reason.)
    Nothing when none of them speaks clearly to one of the account's problems, as in its digest.

    The judge is not asked here: a story in the field question's unsure band counts when it uses
    one of the field's words (:attr:`~generator.relevance.Candidate.worded`). Asking it about
    every account's every story of the week cost about 100 passes an account at 1,000 accounts
    (bench/RESULTS.md, "Twelfth session"); a digest asks it about the few it reaches."""
    week = [
        c
        for c in candidates
        if start <= c.item.published < end
        and c.relevance >= threshold
        and not c.excluded_by
        and c.worded
    ]
    if not anything_clear(week):
        return ()
    return tuple(NewsCandidate(c.item, c.score, c.topics[0] if c.topics else "") for c in week)


def week_bounds(week: str) -> tuple[datetime, datetime]:
    """The issue's seven days: from the Monday before the week's Monday, to that Monday."""
    end = datetime.combine(week_monday(week), time(0), UTC)
    return end - timedelta(days=7), end


def ranking_moment(week: str, now: datetime) -> datetime:
    """When to rank a week's issue: at ``now`` for this week's (the moment the run's digests are
    ranked at, so one ranking serves both), at the week's Monday for any other week (an older
    week would otherwise lose stories to the ranking's age limit)."""
    return now if week_of(now) == week else week_bounds(week)[1]


class NewsTally:
    """The week's stories, folded one account at a time: what :func:`make_newsletter` needs of
    every account's newsworthy candidates, without keeping them.

    Fed in project-account order (:meth:`add`), it keeps per item of the week only the accounts
    it matters to, its summed score (float addition in account order, so the same accounts give
    the same bytes however they were ranked) and the first topic; a printed story's reasons are
    its first account's, asked for when the issue is made.
    ``kb build`` feeds it as the workers hand accounts back, so a run holds the week's stories,
    not every account's candidates.
    """

    def __init__(self, week: str, earlier: Collection[str] = ()) -> None:
        self.week = week
        self.start, self.end = week_bounds(week)
        self.earlier = earlier
        self._stories: dict[str, _Tally] = {}

    def add(self, account: Account, news: Iterable[NewsCandidate]) -> None:
        """Fold in one account's candidates (call in project-account order)."""
        start, end = self.start, self.end
        for c in news:
            if not start <= c.item.published < end or c.item.url in self.earlier:
                continue
            tally = self._stories.get(c.item.id)
            if tally is None:
                self._stories[c.item.id] = _Tally(c.item, [account], 0.0 + c.score, c.topic)
                continue
            tally.accounts.append(account)
            tally.score += c.score
            tally.topic = tally.topic or c.topic

    def newsletter(
        self, project: Project, reasons: Reasons, generated_at: datetime | None = None
    ) -> Newsletter:
        """The issue: up to :data:`PER_TOPIC` stories per topic (then the stories of no topic),
        by how many accounts they matter to, then summed score, then item id; each with its
        first account's ``reasons``."""
        sections: list[Section] = []
        for topic in [*project.topics, None]:
            key = topic.id if topic else ""
            chosen = sorted(
                (t for t in self._stories.values() if t.topic == key),
                key=lambda t: (-len(t.accounts), -t.score, t.item.id),
            )[:PER_TOPIC]
            if chosen:
                stories = (
                    Story(t.item, tuple(t.accounts), reasons(t.accounts[0], t.item), t.score)
                    for t in chosen
                )
                sections.append(Section(topic, tuple(stories)))
        notes = _notes_of(project.notes, self.start.date(), self.end.date())
        return Newsletter(self.week, self.start, self.end, tuple(sections), notes, generated_at)


@dataclass
class _Tally:
    """One story being folded (mutable: appending an account must not copy the others)."""

    item: Item
    accounts: list[Account]
    score: float
    topic: str


def make_newsletter(
    project: Project,
    candidates: Mapping[str, Sequence[NewsCandidate]],
    week: str,
    reasons: Reasons,
    *,
    earlier: Collection[str] = (),
    generated_at: datetime | None = None,
) -> Newsletter:
    """The issue of ``week`` from each account's newsworthy candidates (by account slug; see
    :func:`newsworthy`), folded through a :class:`NewsTally` in project-account order, with
    the printed stories' ``reasons``.

    ``earlier`` holds the URLs that earlier issues carried: none of them appears again.
    """
    tally = NewsTally(week, earlier)
    for account in project.accounts:
        tally.add(account, candidates.get(account.slug, ()))
    return tally.newsletter(project, reasons, generated_at)


def _notes_of(notes: Sequence[Note], start: date, end: date) -> tuple[Note, ...]:
    """The team's notes dated in the issue's week and still live on its last day."""
    last_day = end - timedelta(days=1)
    return tuple(
        sorted(
            (n for n in notes if start <= n.date < end and n.is_live(last_day)),
            key=lambda n: (n.date, n.slug),
        )
    )


def earlier_urls(project: Project, week: str) -> frozenset[str]:
    """The URLs of every story in an archived issue of a week before ``week``."""
    return frozenset(
        i.url for issue in project.newsletters if issue.week < week for i in issue.items
    )
