"""Scoring: every item's evidence for one account as arrays, then candidates for what passed.

The entry point of the package (:func:`rank`) lives here; see the package docstring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, partial
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ..models import Account, Feed, Item, RankingSettings, Stakeholder, Topic
from . import gate
from .gate import Candidate, Check, Details
from .index import Corpus, Doc
from .judge import Judge
from .lexical import LexicalEvidence, evidence
from .meaning import similarity
from .needs import Profile, embedded_texts, make_profile
from .reasons import met_words, problem_reason, quotable, quote
from .semantic import item_text
from .text import terms, words


class Judging(Protocol):
    """The judge's logits for item rows, for one account; ``along``: rows to judge in the same
    go when some of ``rows`` must be judged (the look-ahead, see :data:`.judge.LOOK_AHEAD`)."""

    def __call__(self, rows: Sequence[int], along: Sequence[int] = ()) -> Floats: ...


@dataclass(frozen=True)
class Mix:
    """Which signals take part (all, normally; the ablation benchmark turns them off)."""

    lexical: bool = True
    semantic: bool = True
    judge: bool = True
    """The judge in the field question's unsure band (``ranking: judge``, on by default); off,
    the band asks for one field word."""


ALL = Mix()

Floats = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Assessment:
    """Every item's evidence for one account, as arrays in the corpus' order."""

    profile: Profile
    lexical: LexicalEvidence
    problem_sim: Floats
    """items x problems: the cosine of each item with each problem."""
    field_sim: Floats
    cares_lexical: LexicalEvidence | None
    cares_sim: Floats
    parts: Mapping[str, Floats]
    """Each additive signal's part of the relevance (see :data:`.gate.SIGNALS`)."""
    relevance: Floats
    field_sure: npt.NDArray[np.bool_]
    """Items about the account's field without asking the judge: cosine >= ``FIELD_MIN`` (or,
    with no judge, the band and one field word)."""
    unsure: npt.NDArray[np.bool_]
    """Items in the band where the judge decides the field question (none without a judge)."""
    judge: Judging | None
    """The judge's logits for item rows, for this account (see :mod:`.judge`)."""
    problem_ok: npt.NDArray[np.bool_]
    phrase_hits: Floats
    clear: npt.NDArray[np.bool_]
    """Items that speak clearly to one of the account's problems (see :data:`.gate.CLEAR_MIN`);
    every item when the account names no problem."""

    @cached_property
    def speaks(self) -> npt.NDArray[np.bool_]:
        """The items that answer the gate's second question: they speak to one of the account's
        problems, or name one of its topic phrases or keywords."""
        return self.problem_ok | (self.phrase_hits > 0)

    @cached_property
    def field_ok(self) -> npt.NDArray[np.bool_]:
        """Every item's answer to the field question, the judge asked about every item in its
        band that speaks (:func:`rank` asks it only about the candidates a digest reaches)."""
        asked = np.flatnonzero(self.unsure & self.speaks)
        if not len(asked) or self.judge is None:
            return self.field_sure
        ok = self.field_sure.copy()
        ok[asked] = self._judge_says_yes(asked)
        return ok

    @cached_property
    def worded(self) -> npt.NDArray[np.bool_]:
        """See :func:`_worded` (and :attr:`.gate.Candidate.worded`)."""
        return _worded(self.field_sim, self.lexical)

    @cached_property
    def judge_bar(self) -> Floats:
        """The logit each item needs of the judge: ``JUDGE_MIN``, or ``JUDGE_MIN_WITH_WORDS``
        when it uses one of the field's own words."""
        words = self.lexical.field_words >= 1
        return np.where(words, gate.JUDGE_MIN_WITH_WORDS, gate.JUDGE_MIN).astype(np.float32)

    def about_field(self, k: int) -> bool:
        """Item ``k``'s answer to the field question (the judge asked about it alone)."""
        if self.unsure[k] and self.judge is not None:
            return bool(self._judge_says_yes(np.array([k]))[0])
        return bool(self.field_sure[k])

    def _judge_says_yes(self, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.bool_]:
        assert self.judge is not None
        return self.judge(rows.tolist()) >= self.judge_bar[rows]

    @cached_property
    def passed(self) -> npt.NDArray[np.bool_]:
        """The items through the gate: about the field, and speaking to a problem or phrase."""
        return self.field_ok & self.speaks


def _worded(field_sim: Floats, lex: LexicalEvidence) -> npt.NDArray[np.bool_]:
    """Items in the band the gate decides without a judge (``FIELD_MIN_WITH_WORDS`` up), with
    one of the field's own words."""
    return (field_sim >= gate.FIELD_MIN_WITH_WORDS) & (lex.field_words >= 1)


def _best(sims: Floats, n: int) -> Floats:
    return sims.max(axis=1) if sims.shape[1] else np.zeros(n, np.float32)


def assess(
    profile: Profile, corpus: Corpus, feeds: Mapping[str, Feed], mix: Mix = ALL
) -> Assessment:
    """Gate and relevance of every item for the account: arrays, no loop over items."""
    n = len(corpus)
    lex = evidence(profile, corpus)
    if not mix.lexical:
        nothing = np.zeros(n, np.float32)
        lex = LexicalEvidence(
            lex.needs, nothing, np.full(n, -1), np.zeros(n, np.int64), lex.phrases
        )
    if mix.semantic and n:
        texts = embedded_texts(
            profile.problems,
            profile.field_text,
            profile.industry_text,
            [c.text for c in profile.cares],
        )
        sims = similarity(corpus.embeddings.items, corpus.embeddings.texts(texts))
        p = len(profile.problems)
        problem_sim, cares_sim = sims[:, :p], sims[:, p + 2 :]
        field_sim = np.maximum(sims[:, p], sims[:, p + 1])  # the closer: see needs.industry_text
    else:
        problem_sim = np.zeros((n, len(profile.needs)), np.float32)
        field_sim = np.zeros(n, np.float32)
        cares_sim = np.zeros((n, len(profile.cares)), np.float32)
    best_sim = _best(problem_sim, n)
    judge = judging(profile, corpus) if mix.semantic and mix.judge else None
    unsure = np.zeros(n, bool)
    if mix.semantic:
        field_sure = field_sim >= gate.FIELD_MIN
        if judge is None:
            field_sure |= _worded(field_sim, lex)
        else:  # the judge's band reaches below the field words' bar (see gate.JUDGE_FROM)
            unsure = (field_sim >= gate.JUDGE_FROM) & ~field_sure
        problem_ok = (best_sim >= gate.PROBLEM_MIN) | (lex.best > 0)
    else:  # words only: the field in the item's words, the problem met in words
        field_sure = lex.field_words >= 1 if profile.domain else np.ones(n, bool)
        problem_ok = lex.best > 0
    topic_hits = np.zeros(n, np.float32)
    keyword_hits = np.zeros(n, np.float32)
    for rule, where in lex.phrases:
        if rule.topic:
            topic_hits += where
        else:
            keyword_hits += where
    phrase_hits = np.minimum(2, topic_hits) + np.minimum(2, keyword_hits)
    cares_lex = evidence(profile, corpus, profile.cares) if profile.cares else None
    cares = np.zeros(n, np.float32)
    if cares_lex is not None:
        close = _best(cares_sim, n)
        cares = np.maximum(cares_lex.best, np.where(close >= gate.PROBLEM_MIN, close, 0))
    parts = {
        "lexical": gate.LEXICAL_WEIGHT * lex.best,
        "semantic problem": np.maximum(best_sim, 0),
        "semantic field": gate.FIELD_WEIGHT * np.maximum(field_sim, 0),
        "topic/keyword": gate.PHRASE_WEIGHT * phrase_hits,
        "stakeholder": gate.STAKEHOLDER_WEIGHT * cares,
    }
    relevance = np.sum(list(parts.values()), axis=0).astype(np.float32)
    if profile.needs and mix.semantic:
        clear = (best_sim >= gate.CLEAR_MIN) | (lex.best >= gate.CLEAR_WORDS)
    else:  # nothing to be clear about, or no meaning to measure it by
        clear = np.ones(n, bool)
    return Assessment(
        profile, lex, problem_sim, field_sim, cares_lex, cares_sim, parts, relevance, field_sure,
        unsure, judge, problem_ok, phrase_hits, clear,
    )  # fmt: skip


def judging(profile: Profile, corpus: Corpus) -> Judging | None:
    """The judge's logits for the account and item rows, each pair judged once: the corpus
    keeps them for the run, and its cache of judgements (the store's, in a run) across runs,
    read on the first question; None when the run's vectors are not the packaged encoder's,
    whose cosines the band was chosen for."""
    judge = corpus.embeddings.judge
    if judge is None:
        return None
    said = judge.text_of(profile.account.industry, profile.account.problems)
    if not said:
        return None
    cache = corpus.judgements
    known = corpus.extras.setdefault(("judge", said), {})
    assert isinstance(known, dict)

    def earlier() -> Mapping[str, float]:
        """What the cache holds for the account (item id -> logit), read once per run."""
        stored = corpus.extras.get(("judged", said))
        if stored is None:
            stored = cache.known(judge.model_id, said) if cache is not None else {}
            corpus.extras["judged", said] = stored
        assert isinstance(stored, Mapping)
        return stored

    def taken(found: Mapping[str, float], rows: Sequence[int]) -> list[int]:
        """Take what ``found`` (item id -> logit) holds of ``rows``; the rows still unjudged."""
        known.update((k, found[i]) for k in rows if (i := corpus.items[k].id) in found)
        return [k for k in rows if k not in known]

    def logits(rows: Sequence[int], along: Sequence[int] = ()) -> Floats:
        if any(k not in known for k in rows):
            wanted = [k for k in dict.fromkeys([*rows, *along]) if k not in known]
            missing = taken(earlier(), wanted)
            if cache is not None and any(k in missing for k in rows):
                asked = [corpus.items[k].id for k in missing]
                missing = taken(cache.since(judge.model_id, said, asked), missing)
            if any(k in missing for k in rows):
                stories = [item_text(corpus.items[k]) for k in missing]
                judged = judge.logits(said, stories).tolist()
                known.update(zip(missing, judged, strict=True))
                if cache is not None:
                    ids = (corpus.items[k].id for k in missing)
                    cache.keep(judge.model_id, said, dict(zip(ids, judged, strict=True)))
        return np.asarray([known[k] for k in rows], np.float32)

    return logits


def rank(
    profile: Profile,
    corpus: Corpus,
    *,
    feeds: Mapping[str, Feed],
    now: datetime,
    settings: RankingSettings,
    oldest: datetime | None = None,
    mix: Mix = ALL,
) -> list[Candidate]:
    """Every item that passed the gate for the account, scored, best first; those in the field
    question's unsure band pass on the judge's word, asked when a digest first reads them.

    Items published after ``now`` or before ``oldest`` are left out; so is an item an
    ``exclude`` phrase names. Each candidate's reasons and shares are worded when first read
    (a broad account passes hundreds of items; a digest reads the reasons of a few).
    """
    a = assess(profile, corpus, feeds, mix)
    among = a.speaks & _in_window(corpus, now, oldest) & ~_excluded(profile.account, corpus)
    unsure = a.unsure & among
    passing = np.flatnonzero((a.field_sure & among) | unsure)
    at = passing.tolist()
    weights, bonuses = _feed_arrays(corpus, at, profile.account, feeds)
    # The same double-precision operations as candidate(), so the same scores to the last bit.
    gated = ((a.relevance[passing].astype(np.float64) + bonuses) * weights).tolist()
    fresh = _recency(corpus, at, now, settings.half_life_days)
    topics = _topic_ids(a, profile.account, passing)
    # The columns found the stemmed phrases; the words as written are checked on what is left.
    account = profile.account
    found = []
    row: dict[str, int] = {}  # item id -> its row, for the judge's look-ahead
    ahead: list[int] = []  # the unsure candidates' rows, best first (filled once sorted)
    place: dict[int, int] = {}

    def judged(k: int) -> bool:
        """The judge's answer for row ``k``, asked together with the unsure candidates a digest
        reads next (a pass each, run side by side: see :data:`.judge.LOOK_AHEAD`)."""
        assert a.judge is not None
        together = Judge.look_ahead
        start = place[k] - place[k] % together
        a.judge([k], ahead[start : start + together])
        return a.about_field(k)

    for j, k in enumerate(at):
        item = corpus.items[k]  # an item's words are analyzed only for its reasons
        if account.exclude and excluded_by(account, corpus.docs[k]):
            continue
        found.append(
            Candidate(
                item=item,
                score=round(gated[j] * fresh[j], 6),
                relevance=round(gated[j], 6),
                clear=bool(a.clear[k]),
                details=partial(
                    _details, a, corpus, k, float(weights[j]), fresh[j], float(bonuses[j])
                ),
                topic_ids=topics[j],
                judge=partial(judged, k) if unsure[k] else None,
                worded=bool(a.field_sure[k] or a.worded[k]),
            )
        )
        row[item.id] = k
    found.sort(key=lambda c: (-c.score, c.item.id))
    ahead += [row[c.item.id] for c in found if c.judge is not None]
    place.update((k, i) for i, k in enumerate(ahead))
    return found


def _recency(
    corpus: Corpus, passing: Sequence[int], now: datetime, half_life_days: float
) -> list[float]:
    """The recency factor at ``now`` of each passing item, each worked out once per run by
    :func:`.gate.recency` itself (the same for every account)."""
    key = ("recency", now, half_life_days)
    known = corpus.extras.setdefault(key, {})
    assert isinstance(known, dict)
    for k in passing:
        if k not in known:
            known[k] = gate.recency(corpus.items[k].published, now, half_life_days)
    return [known[k] for k in passing]


def _feed_arrays(
    corpus: Corpus, passing: Sequence[int], account: Account, feeds: Mapping[str, Feed]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Each passing item's feed weight and feed topic bonus for the account (what
    :func:`_feed_factors` says), the feeds looked up once per run per distinct list of feeds."""
    key = ("feeds", tuple(feeds.items()))
    table = corpus.extras.setdefault(key, {})
    assert isinstance(table, dict)
    topics = set(account.topics)
    weight, bonus = [], []
    for k in passing:
        sources = corpus.items[k].sources
        if sources not in table:
            table[sources] = _feeds_of(sources, feeds)
        w, feed_topics = table[sources]
        weight.append(w)
        bonus.append(gate.FEED_TOPIC_BONUS if feed_topics & topics else 0.0)
    return np.asarray(weight, np.float64), np.asarray(bonus, np.float64)


def _topic_ids(
    a: Assessment, account: Account, passing: npt.NDArray[np.int64]
) -> list[tuple[str, ...]]:
    """The account's topics each of the ``passing`` items mentions a phrase of, in the
    account's order (what :func:`_details` words as ``topics``), from the phrase-hit arrays."""
    masks = []
    for topic_id in account.topics:
        where = [w[passing] != 0 for rule, w in a.lexical.phrases if rule.topic == topic_id]
        if where:
            masks.append((topic_id, np.logical_or.reduce(where).tolist()))
    return [tuple(t for t, hit in masks if hit[j]) for j in range(len(passing))]


def _in_window(corpus: Corpus, now: datetime, oldest: datetime | None) -> npt.NDArray[np.bool_]:
    ok = corpus.published <= now.timestamp()
    if oldest is not None:
        ok &= corpus.published >= oldest.timestamp()
    return ok


def _excluded(account: Account, corpus: Corpus) -> npt.NDArray[np.bool_]:
    """Items that use one of the account's ``exclude`` phrases (stemmed, words in order)."""
    out = np.zeros(len(corpus), bool)
    for phrase in account.exclude:
        stemmed = tuple(terms(phrase))
        if stemmed:
            out |= corpus.holding(stemmed)
    return out


def excluded_by(account: Account, doc: Doc) -> str:
    """The account's ``exclude`` phrase found in the item (as written, or stemmed), if any."""
    text = f" {' '.join(words(f'{doc.item.title} {doc.item.summary}'))} "
    for phrase in account.exclude:
        plain = " ".join(words(phrase))
        stemmed = tuple(terms(phrase))
        if (plain and f" {plain} " in text) or (stemmed and doc.has(stemmed)):
            return phrase
    return ""


def _feed_factors(item: Item, account: Account, feeds: Mapping[str, Feed]) -> tuple[float, bool]:
    """The best weight among the item's feeds, and whether one shares a topic with the account."""
    weight, topics = _feeds_of(item.sources, feeds)
    return weight, bool(topics & set(account.topics))


def _feeds_of(sources: Sequence[str], feeds: Mapping[str, Feed]) -> tuple[float, frozenset[str]]:
    """The best weight among these feeds (1 when none is configured), and all their topics."""
    known = [feeds[s] for s in sources if s in feeds]
    topics = frozenset(t for f in known for t in f.topics)
    return max((f.weight for f in known), default=1.0), topics


def candidate(
    a: Assessment,
    corpus: Corpus,
    k: int,
    feeds: Mapping[str, Feed],
    now: datetime,
    settings: RankingSettings,
) -> Candidate:
    """Item ``k``'s candidate alone (``--explain``, a note): its score now, its reasons and
    shares when first read. :func:`rank` makes the same for every passing item from arrays."""
    profile, item = a.profile, corpus.items[k]
    weight, shares_topic = _feed_factors(item, profile.account, feeds)
    bonus = gate.FEED_TOPIC_BONUS if shares_topic else 0.0
    why_not = excluded_by(profile.account, corpus.docs[k])
    gated = 0.0 if why_not else (float(a.relevance[k]) + bonus) * weight
    fresh = gate.recency(item.published, now, settings.half_life_days)
    return Candidate(
        item=item,
        score=round(gated * fresh, 6),
        excluded_by=why_not,
        relevance=round(gated, 6),
        passed_gate=a.about_field(k) and bool(a.speaks[k]),
        clear=bool(a.clear[k]),
        details=lambda: _details(a, corpus, k, weight, fresh, bonus),
    )


def reasons(a: Assessment, corpus: Corpus, k: int) -> tuple[str, ...]:
    """Item ``k``'s reasons for the assessed account: what its candidate's ``why`` says (the
    reasons depend on neither the feed's weight nor the moment)."""
    return _details(a, corpus, k, 1.0, 1.0, 0.0).why


def _details(
    a: Assessment, corpus: Corpus, k: int, weight: float, fresh: float, bonus: float
) -> Details:
    """Item ``k``'s reasons, problem, topics, shares and gate checks, in words."""
    profile, doc = a.profile, corpus.docs[k]
    why: list[str] = []
    problem, about = "", list[str]()
    sims = a.problem_sim[k]
    lex_need = int(a.lexical.best_need[k])
    sem_need = int(np.argmax(sims)) if len(sims) and sims.max() >= gate.PROBLEM_MIN else -1
    need_at = lex_need if lex_need >= 0 else sem_need
    if need_at >= 0 and a.problem_ok[k]:
        need = profile.needs[need_at]
        said = met_words(need, a.lexical.needs[need_at].credit[k], doc, corpus)
        said = said if lex_need >= 0 else []
        problem = need.text
        about = [w for w, _ in said]
        why.append(problem_reason(need.text, said, float(sims[need_at]) if len(sims) else 0.0))
    hits = [rule for rule, where in a.lexical.phrases if where[k]]
    topics: list[str] = []
    for topic_id in profile.account.topics:
        mentioned = [r.text for r in hits if r.topic == topic_id]
        if mentioned:
            topics.append(topic_id)
            title = profile.topic_titles.get(topic_id, topic_id)
            why.append(f"Your topic “{title}”: mentions {', '.join(map(repr, mentioned[:3]))}")
    keywords = [r.text for r in hits if not r.topic]
    if keywords:
        why.append(f"Your keywords: {', '.join(map(repr, keywords[:3]))}")
    cared = _cared(a, corpus, k)
    if cared:
        why.insert(0, cared)
    parts = {signal: float(values[k]) for signal, values in a.parts.items()}
    parts["topic/keyword"] += bonus
    return Details(
        why=tuple(why),
        problem=problem,
        topics=tuple(topics),
        phrases=_distinct([*(r.text for r in hits), *(w for w in about if quotable(w))]),
        shares=gate.shares(parts, weight, fresh),
        checks=_checks(a, k),
    )


def _cared(a: Assessment, corpus: Corpus, k: int) -> str:
    """The reason naming the stakeholder's concern the item meets (in words, or in meaning)."""
    lex = a.cares_lexical
    if lex is None:
        return ""
    name = a.profile.stakeholder.name if a.profile.stakeholder else "your stakeholder"
    at = int(lex.best_need[k])
    sims = a.cares_sim[k]
    if at >= 0:
        need = lex.needs[at].need
        said = met_words(need, lex.needs[at].credit[k], corpus.docs[k], corpus)
        return f"For {name}, who cares about “{need.text}”: the item says {quote(said)}"
    if len(sims) and sims.max() >= gate.PROBLEM_MIN:
        return f"For {name}, who cares about “{a.profile.cares[int(np.argmax(sims))].text}”"
    return ""


def _checks(a: Assessment, k: int) -> tuple[Check, ...]:
    sims = a.problem_sim[k]
    best = float(sims.max()) if len(sims) else 0.0
    if a.judge is None:
        also = (
            f"or {gate.FIELD_MIN_WITH_WORDS:.2f} with one of its words: "
            f"{int(a.lexical.field_words[k])} found"
        )
    elif a.unsure[k]:
        also = (
            f"or {gate.JUDGE_FROM:.2f} and the judge's yes: "
            f"{float(a.judge([k])[0]):+.1f}, needs {float(a.judge_bar[k]):+.1f} "
            f"({int(a.lexical.field_words[k])} of the field's words found)"
        )
    else:
        also = f"or {gate.JUDGE_FROM:.2f} and the judge's yes"
    field = f"similarity {a.field_sim[k]:.2f} (needs {gate.FIELD_MIN:.2f}, {also})"
    speaks = (
        f"closest similarity {best:.2f} (needs {gate.PROBLEM_MIN:.2f}), "
        f"met in words: {'yes' if a.lexical.best[k] > 0 else 'no'}; "
        f"topic phrases or keywords: {int(a.phrase_hits[k])}"
    )
    return (
        Check("field", a.about_field(k), field),
        Check("problem", bool(a.speaks[k]), speaks),
    )


def _distinct(texts: Sequence[str]) -> tuple[str, ...]:
    """Each text once, in the order first met: "Fixed grip chairs" is "fixed-grip chair"."""
    seen: dict[tuple[str, ...] | str, str] = {}
    for text in texts:
        seen.setdefault(tuple(terms(text)) or text.casefold(), text)
    return tuple(seen.values())


def score_items(
    account: Account,
    items: Sequence[Item],
    *,
    topics: Mapping[str, Topic],
    feeds: Mapping[str, Feed],
    now: datetime,
    settings: RankingSettings,
    stakeholder: Stakeholder | None = None,
    corpus: Corpus | None = None,
    oldest: datetime | None = None,
    mix: Mix = ALL,
) -> list[Candidate]:
    """:func:`rank` for ``account`` over ``items`` (a corpus of them is built when none is
    given; pass the run's corpus when ranking many accounts)."""
    corpus = corpus or Corpus(items)
    profile = make_profile(account, topics, stakeholder, corpus.lexicon)
    found = rank(profile, corpus, feeds=feeds, now=now, settings=settings, oldest=oldest, mix=mix)
    if len(corpus) == len(items):
        return found
    wanted = {i.id for i in items}
    return [c for c in found if c.item.id in wanted]
