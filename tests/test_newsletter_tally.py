"""The newsletter folded one account at a time (NewsTally) is the issue made from every
account's candidates at once, whatever the accounts' news and however it is split into calls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from generator.config import load_project
from generator.models import Account, Item, Project
from generator.newsletter import (
    PER_TOPIC,
    NewsCandidate,
    NewsTally,
    Section,
    Story,
    make_newsletter,
    newsworthy,
    week_bounds,
)
from generator.relevance import Candidate

REPO = Path(__file__).resolve().parent.parent
PROJECT = load_project(REPO)
WEEK = "2026-W47"
START, END = week_bounds(WEEK)
TOPICS = ["", *(t.id for t in PROJECT.topics), "no-such-topic"]


def item(n: int, when: datetime) -> Item:
    return Item(f"i{n:02d}", f"https://news.example/{n}", f"Story {n}", "", "", when, when, ("w",))


# Twenty items of the issue's week, then one just before it and one at its (exclusive) end.
ITEMS = [
    *(item(n, START + timedelta(hours=8 * n)) for n in range(20)),
    item(20, START - timedelta(seconds=1)),
    item(21, END),
]

news_of_one = st.lists(
    st.builds(
        NewsCandidate,
        st.sampled_from(ITEMS),
        st.floats(0.0, 3.0, allow_nan=False).map(lambda x: round(x, 3) + 1e-7 * x),
        st.sampled_from(TOPICS),
    ),
    max_size=12,
    unique_by=lambda c: c.item.id,
)


def said(account: Account, item: Item) -> tuple[str, ...]:
    """Reasons that tell which account and item they were asked for."""
    return (f"{item.id} matters to {account.slug}",)


def reference(
    project: Project, news: Mapping[str, Sequence[NewsCandidate]], earlier: frozenset[str]
) -> tuple[Section, ...]:
    """The issue's sections as ``make_newsletter`` made them before the tally (every account's
    candidates in hand at once)."""
    stories: dict[str, Story] = {}
    topic_of: dict[str, str] = {}
    for account in project.accounts:
        for c in news.get(account.slug, ()):
            if not START <= c.item.published < END or c.item.url in earlier:
                continue
            old = stories.get(c.item.id)
            accounts = (old.accounts if old else ()) + (account,)
            why = old.why if old else said(account, c.item)
            stories[c.item.id] = Story(c.item, accounts, why, (old.score if old else 0) + c.score)
            if c.topic:
                topic_of.setdefault(c.item.id, c.topic)
    sections = []
    for topic in [*project.topics, None]:
        key = topic.id if topic else ""
        chosen = sorted(
            (s for s in stories.values() if topic_of.get(s.item.id, "") == key),
            key=lambda s: (-len(s.accounts), -s.score, s.item.id),
        )[:PER_TOPIC]
        if chosen:
            sections.append(Section(topic, tuple(chosen)))
    return tuple(sections)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(news_of_one, min_size=len(PROJECT.accounts), max_size=len(PROJECT.accounts)),
    st.sets(st.sampled_from([i.url for i in ITEMS[:20]]), max_size=4),
    st.lists(st.integers(0, 12), max_size=len(PROJECT.accounts)),
)
def test_the_tally_makes_the_issue_every_account_at_once_makes(
    news: list[list[NewsCandidate]], earlier: set[str], splits: list[int]
) -> None:
    by_slug = {a.slug: tuple(n) for a, n in zip(PROJECT.accounts, news, strict=True)}
    expected = reference(PROJECT, by_slug, frozenset(earlier))
    made = make_newsletter(PROJECT, by_slug, WEEK, said, earlier=frozenset(earlier))
    assert made.sections == expected
    # Fed account by account, each account's news in several calls: the same issue, same bytes.
    tally = NewsTally(WEEK, frozenset(earlier))
    for account, n, cut in zip(PROJECT.accounts, news, [*splits, *[0] * len(news)], strict=False):
        tally.add(account, n[:cut])
        tally.add(account, n[cut:])
    folded = tally.newsletter(PROJECT, said, START)
    assert folded.sections == expected
    assert [repr(s.score) for s in folded.stories] == [repr(s.score) for s in made.stories]
    assert folded.notes == made.notes and (folded.start, folded.end) == (START, END)


def test_stories_are_ordered_by_accounts_then_summed_score_and_capped_per_topic() -> None:
    accounts = PROJECT.accounts
    topic = PROJECT.topics[0].id
    tally = NewsTally(WEEK)
    for k, account in enumerate(accounts):
        # Item i00 matters to every account, i01 to all but the first, ... ; all one topic.
        tally.add(account, [NewsCandidate(ITEMS[n], 1.0, topic) for n in range(k + 1)])
    [section] = tally.newsletter(PROJECT, said).sections
    assert section.topic is not None and section.topic.id == topic
    assert [s.item.id for s in section.stories] == [f"i{n:02d}" for n in range(PER_TOPIC)]
    assert [len(s.accounts) for s in section.stories] == list(
        range(len(accounts), len(accounts) - PER_TOPIC, -1)
    )
    assert section.stories[0].accounts == tuple(accounts)


def test_the_first_accounts_reasons_and_the_first_topic_named_are_kept() -> None:
    first, second = PROJECT.accounts[:2]
    topic = PROJECT.topics[-1].id
    tally = NewsTally(WEEK)
    tally.add(first, [NewsCandidate(ITEMS[3], 0.5, "")])
    tally.add(second, [NewsCandidate(ITEMS[3], 0.25, topic)])
    [section] = tally.newsletter(PROJECT, said, datetime(2026, 11, 16, tzinfo=UTC)).sections
    [story] = section.stories
    assert section.topic is not None and section.topic.id == topic
    assert story.why == said(first, ITEMS[3]) and story.score == 0.75
    assert story.accounts == (first, second)


def test_reasons_are_asked_only_for_the_stories_the_issue_prints() -> None:
    asked: list[tuple[str, str]] = []

    def counting(account: Account, item: Item) -> tuple[str, ...]:
        asked.append((account.slug, item.id))
        return said(account, item)

    topic = PROJECT.topics[0].id
    tally = NewsTally(WEEK)
    for account in PROJECT.accounts:  # every account, all twenty stories of the week
        tally.add(account, [NewsCandidate(i, 1.0, topic) for i in ITEMS[:20]])
    [section] = tally.newsletter(PROJECT, counting).sections
    first = PROJECT.accounts[0].slug
    assert asked == [(first, s.item.id) for s in section.stories]
    assert len(asked) == PER_TOPIC


def test_an_account_whose_week_holds_nothing_clear_adds_no_story() -> None:
    def cand(n: int, clear: bool, when: datetime = START) -> Candidate:
        return Candidate(item(n, when), 1.0, relevance=1.0, clear=clear, topic_ids=())

    borderline = [cand(1, False), cand(2, False)]
    assert newsworthy(borderline, 0.35, START, END) == ()
    # a clear story outside the week does not carry the week's borderline ones either
    assert newsworthy([*borderline, cand(3, True, END)], 0.35, START, END) == ()
    week = newsworthy([*borderline, cand(3, True)], 0.35, START, END)
    assert [c.item.id for c in week] == ["i01", "i02", "i03"]
