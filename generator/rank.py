"""Pure ranking: (account, items, now) -> picks with reasons. No I/O.

Signals, combined into one score per item:

- the account's ``problems`` (the main signal): IDF-weighted overlap of the problem's content
  words with the item, title counting double, plus a bonus for each two-word phrase of the
  problem found intact in the item;
- taxonomy phrases of the account's ``topics`` and the account's own ``keywords``, matched as
  whole phrases;
- the feed's ``topics`` shared with the account, and the feed's ``weight``;
- recency, halving every ``half_life_days``.

An ``exclude`` phrase disqualifies an item outright. Only items scoring at least ``threshold``
enter a digest: when none does, the digest says so instead of padding.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from .models import Account, Feed, Item, Note, NotePick, Pick, RankingSettings, Stakeholder, Topic
from .text import phrase_in, terms, words

TITLE_WEIGHT = 2.0
PHRASE_BONUS = 0.35
TOPIC_WEIGHT = 0.3
KEYWORD_WEIGHT = 0.25
FEED_TOPIC_BONUS = 0.1


@dataclass(frozen=True)
class Candidate:
    """An item's score for one account, before the value gate and diversity rules."""

    item: Item
    score: float
    why: tuple[str, ...]
    problem: str
    topics: tuple[str, ...]
    excluded_by: str = ""


@dataclass(frozen=True)
class _Doc:
    title: list[str]
    body: list[str]

    @property
    def all(self) -> list[str]:
        return self.title + self.body


def _doc(item: Item) -> _Doc:
    return _Doc(terms(item.title), terms(item.summary + " " + " ".join(item.categories)))


def _idf(docs: Sequence[_Doc]) -> Mapping[str, float]:
    frequency: Counter[str] = Counter()
    for doc in docs:
        frequency.update(set(doc.all))
    n = len(docs) or 1
    return {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in frequency.items()}


def _problem_match(
    problem: str, doc: _Doc, idf: Mapping[str, float], default_idf: float
) -> tuple[float, list[str]]:
    wanted = list(dict.fromkeys(terms(problem)))
    if not wanted:
        return 0.0, []
    total = sum(idf.get(t, default_idf) for t in wanted)
    got = 0.0
    met: list[str] = []
    title, text = set(doc.title), set(doc.all)
    for term in wanted:
        if term in text:
            weight = idf.get(term, default_idf)
            got += weight * (TITLE_WEIGHT if term in title else 1.0)
            met.append(term)
    score = got / (total * TITLE_WEIGHT)
    pairs = {tuple(wanted[i : i + 2]) for i in range(len(wanted) - 1)}
    score += PHRASE_BONUS * sum(phrase_in(p, doc.all) for p in pairs)
    if len(met) < 2 and len(wanted) > 1:
        score *= 0.3
    return score, met


def _matching_phrases(phrases: Iterable[str], doc: _Doc) -> list[str]:
    return [p for p in phrases if phrase_in(tuple(terms(p)), doc.all)]


def _recency(published: datetime, now: datetime, half_life_days: float) -> float:
    age_days = max(0.0, (now - published).total_seconds() / 86400)
    return float(0.5 ** (age_days / half_life_days))


def _excluded_by(account: Account, item: Item) -> str:
    text = " ".join(words(f"{item.title} {item.summary}"))
    for phrase in account.exclude:
        if " ".join(words(phrase)) and f" {' '.join(words(phrase))} " in f" {text} ":
            return phrase
    return ""


def score_items(
    account: Account,
    items: Sequence[Item],
    *,
    topics: Mapping[str, Topic],
    feeds: Mapping[str, Feed],
    now: datetime,
    settings: RankingSettings,
    stakeholder: Stakeholder | None = None,
) -> list[Candidate]:
    """Score every item for ``account``, best first; items published after ``now`` are ignored."""
    pool = [i for i in items if i.published <= now]
    docs = [_doc(i) for i in pool]
    idf = _idf(docs)
    default_idf = math.log(1 + len(docs) + 0.5)
    problems = list(account.problems) + (list(stakeholder.cares_about) if stakeholder else [])
    candidates = [
        _score(account, item, doc, problems, topics, feeds, idf, default_idf, now, settings)
        for item, doc in zip(pool, docs, strict=True)
    ]
    return sorted(candidates, key=lambda c: (-c.score, c.item.id))


def _score(
    account: Account,
    item: Item,
    doc: _Doc,
    problems: list[str],
    topics: Mapping[str, Topic],
    feeds: Mapping[str, Feed],
    idf: Mapping[str, float],
    default_idf: float,
    now: datetime,
    settings: RankingSettings,
) -> Candidate:
    excluded = _excluded_by(account, item)
    why: list[str] = []
    best_problem, best = "", 0.0
    for problem in problems:
        score, met = _problem_match(problem, doc, idf, default_idf)
        if score > best:
            best_problem, best = problem, score
            met_words = ", ".join(f"'{m}'" for m in met)
            problem_reason = f"Speaks to your problem “{problem}” (matched {met_words})"
    if best > 0.15:
        why.append(problem_reason)
    relevance = best
    matched_topics: list[str] = []
    for topic_id in account.topics:
        topic = topics.get(topic_id)
        if topic is None:
            continue
        hits = _matching_phrases(topic.keywords, doc)
        if hits:
            matched_topics.append(topic_id)
            relevance += TOPIC_WEIGHT * min(2, len(hits))
            why.append(f"Topic “{topic.title}”: mentions {', '.join(repr(h) for h in hits[:3])}")
    keyword_hits = _matching_phrases(account.keywords, doc)
    if keyword_hits:
        relevance += KEYWORD_WEIGHT * min(2, len(keyword_hits))
        why.append(f"Your keywords: {', '.join(repr(k) for k in keyword_hits[:3])}")
    feed_weight, feed_topics = 1.0, 0
    for source in item.sources:
        feed = feeds.get(source)
        if feed is not None:
            feed_weight = max(feed_weight if feed_topics else 0.0, feed.weight)
            feed_topics = max(feed_topics, len(set(feed.topics) & set(account.topics)))
    if relevance > 0 and feed_topics:
        relevance += FEED_TOPIC_BONUS
    score = relevance * (feed_weight or 1.0) * _recency(item.published, now, settings.half_life_days)
    if excluded:
        score = 0.0
    return Candidate(
        item=item,
        score=round(score, 6),
        why=tuple(why),
        problem=best_problem if best > 0.15 else "",
        topics=tuple(matched_topics),
        excluded_by=excluded,
    )


def select(
    candidates: Sequence[Candidate], settings: RankingSettings, sent: Iterable[str] = ()
) -> tuple[Pick, ...]:
    """Apply the value gate, skip what was sent, and cap the share of one source or topic."""
    already = set(sent)
    chosen: list[Pick] = []
    per_source: Counter[str] = Counter()
    per_topic: Counter[str] = Counter()
    max_source = max(1, math.floor(settings.max_items * settings.max_share_per_source))
    max_topic = max(1, math.floor(settings.max_items * settings.max_share_per_topic))
    for c in candidates:
        if len(chosen) >= settings.max_items or c.score < settings.threshold:
            break
        if c.item.id in already or c.excluded_by or not c.why:
            continue
        topic = c.topics[0] if c.topics else ""
        if per_source[c.item.source] >= max_source or (topic and per_topic[topic] >= max_topic):
            continue
        per_source[c.item.source] += 1
        if topic:
            per_topic[topic] += 1
        chosen.append(Pick(c.item, c.score, c.why, c.problem, c.topics))
    return tuple(chosen)


def pick_notes(
    account: Account, notes: Sequence[Note], topics: Mapping[str, Topic], today: date
) -> tuple[NotePick, ...]:
    """Live notes written for this account or sharing one of its topics; the account's own first."""
    picked: list[tuple[int, NotePick]] = []
    for note in notes:
        if not note.is_live(today):
            continue
        why: list[str] = []
        if account.slug in note.accounts:
            why.append(f"Written for {account.name}")
        shared = [t for t in note.topics if t in account.topics]
        if shared:
            titles = ", ".join(f"“{topics[t].title}”" for t in shared if t in topics)
            why.append(f"Shares your topic {titles}")
        if why:
            problem = _closest_problem(account, note)
            rank = 0 if account.slug in note.accounts else 1
            picked.append((rank, NotePick(note, tuple(why), problem)))
    picked.sort(key=lambda p: (p[0], p[1].note.kind == "product", -p[1].note.date.toordinal(), p[1].note.slug))
    return tuple(p for _, p in picked)


def _closest_problem(account: Account, note: Note) -> str:
    note_terms = set(terms(f"{note.title} {note.body}"))
    best, best_overlap = "", 0
    for problem in account.problems:
        overlap = len(set(terms(problem)) & note_terms)
        if overlap > best_overlap:
            best, best_overlap = problem, overlap
    return best
