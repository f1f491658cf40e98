"""Pure ranking: (account, corpus, now) -> scored candidates with reasons. No I/O.

The account's ``problems`` are the main signal. Each problem is a small set of concepts (its
content words); an item meets a concept when it uses the word itself, or a word of the same
related group from the lexicon ("quit" for "keeping", "truckers" for "truck drivers") at a
discount. Concepts are weighted by their rarity in the stored items (IDF), and a word in the
title counts more than one in the summary. A problem counts as met only when the item covers
at least two of its concepts and a fair share of its weight: one shared word is how keyword
traps happen.

Ambiguous words ("driver", "recall", "nurse", "elevator"...) count only when the item carries
a cue of the sense the account means (see ``data/lexicon.yml``). Taxonomy phrases of the
account's ``topics`` and its own ``keywords`` add support; a feed's ``topics`` shared with the
account add a little; a feed's ``weight`` scales everything. An ``exclude`` phrase disqualifies
an item outright.

General words (money, time, people at work: "turnover", "bills", "climb"; the lexicon's
``general`` list) still meet a problem, but a problem with words of its own is not met by its
general words alone, and an item must show the account's field in words that are not general.

The value gate is on relevance (what the item says, times the feed's weight); recency, halving
every ``half_life_days``, only orders what passed. The corpus (each item's terms, and an
inverted index from terms and related groups to items) is built once per run and shared by
every account; an account scores only the items that can clear zero (see :meth:`Corpus.meeting`).

A semantic signal was measured and is not used. WordLlama 0.4.0.post1 (static embeddings, 256
dimensions, offline) blended into relevance as ``w * max(0, cosine(problem, item) - floor)``
for w in 0.25 / 0.5 / 1.0 and floor 0.3 / 0.4 left every figure of the evaluation set
unchanged or lower (nDCG@5 0.983 -> 0.981 at floor 0.3; no recall gained; see
``bench/RESULTS.md``): the lexicon's related words already meet the paraphrases it finds, and
it cannot give a reason a rep could check. It would also cost a model download or bundle and
scoring every item, not just those the index reaches.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from .corpus import (
    MAX_CONCEPTS,
    MIN_COVERAGE,
    Concept,
    Corpus,
    Doc,
    Need,
    analyze,
    item_surface,
    make_need,
)
from .lexicon import Lexicon, Phrase, lexicon
from .models import Account, Feed, Item, Note, NotePick, Pick, RankingSettings, Stakeholder, Topic
from .text import phrase_in, terms, words

TITLE_CREDIT = 1.0
BODY_CREDIT = 0.7
RELATED_CREDIT = 0.6
PHRASE_BONUS = 0.1
TOPIC_WEIGHT = 0.15
KEYWORD_WEIGHT = 0.15
FEED_TOPIC_BONUS = 0.05
STAKEHOLDER_WEIGHT = 0.5


# --- what an account needs, analyzed once per account ---------------------------------------


@dataclass(frozen=True)
class PhraseRule:
    """A taxonomy or keyword phrase to find intact, with where it came from."""

    text: str
    terms: Phrase
    topic: str = ""


@dataclass(frozen=True)
class Profile:
    account: Account
    needs: tuple[Need, ...]
    cares: tuple[Need, ...]
    phrases: tuple[PhraseRule, ...]
    keywords: tuple[PhraseRule, ...]
    senses: Mapping[Phrase, tuple[Phrase, ...]]
    topic_titles: Mapping[str, str]
    stakeholder: Stakeholder | None = None
    domain: frozenset[str] = frozenset()
    """Terms of the account's industry, topic phrases and keywords, general words left out: an
    item meeting a problem must touch one of them, so "3D printing" for a dental lab never
    matches a rocket engine, and "turnover" never makes a nurse story a food plant's."""
    general: frozenset[str] = frozenset()

    def in_domain(self, doc: Doc, blocked: frozenset[Phrase], met: NeedMatch) -> bool:
        """Whether the item is about the account's field, not only about the same worry.

        It must use one of the field's words (industry, topic phrases, keywords), and two
        distinct words that are not general between those and the words that met the problem:
        "keep the shifts staffed" met by a nurse story says nothing of a food plant, and one
        passing "plants" in a trucking story is not enough either.
        """
        if not self.domain:
            return True
        field = {t for t in self.domain & doc.all_set if not (blocked and _uses((t,), blocked))}
        if not field:
            return False
        said = {t for m in met.met for t in m.found if t not in self.general}
        return len(field | said) >= 2


def make_profile(
    account: Account,
    topics: Mapping[str, Topic],
    stakeholder: Stakeholder | None = None,
    lex: Lexicon | None = None,
) -> Profile:
    lex = lex or lexicon()
    phrases = [
        PhraseRule(k, tuple(terms(k)), topic_id)
        for topic_id in account.topics
        if (topic := topics.get(topic_id))
        for k in topic.keywords
    ]
    keywords = [PhraseRule(k, tuple(terms(k))) for k in account.keywords]
    context = terms(
        " ".join(
            [account.industry, *account.problems, *account.keywords, *(p.text for p in phrases)]
        )
    )
    cares = stakeholder.cares_about if stakeholder else ()
    return Profile(
        account=account,
        needs=tuple(make_need(p, lex) for p in account.problems),
        cares=tuple(make_need(c, lex) for c in cares),
        phrases=tuple(p for p in phrases if p.terms),
        keywords=tuple(k for k in keywords if k.terms),
        senses=lex.chosen_senses(context),
        topic_titles={t: topics[t].title for t in account.topics if t in topics},
        stakeholder=stakeholder,
        domain=frozenset(
            terms(" ".join([account.industry, *account.keywords, *(p.text for p in phrases)]))
        )
        - lex.general,
        general=lex.general,
    )


# --- matching one need against one doc ----------------------------------------------------


@dataclass(frozen=True)
class Met:
    concept: Concept
    found: Phrase
    related: bool


@dataclass(frozen=True)
class NeedMatch:
    need: Need
    score: float
    coverage: float
    met: tuple[Met, ...]
    specific: bool = True
    """Whether the item met the need with at least one word that is not a general one."""

    @property
    def counts(self) -> bool:
        wanted = min(2, len(self.need.concepts))
        return self.specific and len(self.met) >= wanted and self.coverage >= MIN_COVERAGE


def blocked_words(doc: Doc, senses: Mapping[Phrase, tuple[Phrase, ...]]) -> frozenset[Phrase]:
    """Ambiguous words in ``doc`` used in a sense other than the account's (no cue present)."""
    return frozenset(
        word for word, cues in senses.items() if doc.has(word) and not any(doc.has(c) for c in cues)
    )


def _uses(phrase: Phrase, blocked: frozenset[Phrase]) -> bool:
    return any(phrase_in(word, phrase) for word in blocked)


@dataclass(frozen=True)
class Weighed:
    """A need with its concepts' weights in one corpus, worked out once per account."""

    need: Need
    weights: tuple[float, ...]
    heaviest: float
    """A long problem is met by its main words: the weight to cover is that of its heaviest few."""


def weigh(needs: Iterable[Need], idf: Callable[[str], float]) -> tuple[Weighed, ...]:
    weighed = []
    for need in needs:
        weights = tuple(idf(c.term) for c in need.concepts)
        weighed.append(Weighed(need, weights, sum(sorted(weights, reverse=True)[:MAX_CONCEPTS])))
    return tuple(weighed)


def _match(
    weighed: Weighed, doc: Doc, blocked: frozenset[Phrase], general: frozenset[str]
) -> NeedMatch:
    need = weighed.need
    got = 0.0
    met: list[Met] = []
    for concept, weight in zip(need.concepts, weighed.weights, strict=True):
        if concept.term in doc.all_set and not (blocked and _uses((concept.term,), blocked)):
            field_credit = TITLE_CREDIT if concept.term in doc.title_set else BODY_CREDIT
            got += weight * field_credit
            met.append(Met(concept, (concept.term,), False))
            continue
        for group in concept.groups:
            hit = doc.groups.get(group)
            if hit and not (blocked and _uses(hit[0], blocked)):
                got += weight * RELATED_CREDIT * (TITLE_CREDIT if hit[1] else BODY_CREDIT)
                met.append(Met(concept, hit[0], True))
                break
    if len(met) < min(2, len(need.concepts)):
        return NeedMatch(need, 0.0, 0.0, tuple(met))  # cannot count: spare the phrase search
    coverage = min(1.0, got / weighed.heaviest) if weighed.weights else 0.0
    met_terms = {m.concept.term for m in met}
    pairs = sum(
        1
        for pair in need.pairs
        if set(pair) <= met_terms and (phrase_in(pair, doc.title) or phrase_in(pair, doc.body))
    )
    score = coverage + PHRASE_BONUS * min(2, pairs)
    # "bill rates climb" is not "power bills keep climbing": a problem that has words of its
    # own is not met by its general words alone.
    specific = all(c.term in general for c in need.concepts) or any(
        not general.issuperset(m.found) for m in met
    )
    return NeedMatch(need, score, coverage, tuple(met), specific)


def _best(
    needs: Sequence[Weighed],
    doc: Doc,
    blocked: frozenset[Phrase],
    general: frozenset[str],
    profile: Profile | None = None,
) -> NeedMatch | None:
    best: NeedMatch | None = None
    for need in needs:
        m = _match(need, doc, blocked, general)
        if profile is not None and m.counts and not profile.in_domain(doc, blocked, m):
            continue
        if m.counts and (best is None or m.score > best.score):
            best = m
    return best


# --- candidates ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """An item's score for one account, before the value gate and diversity rules."""

    item: Item
    score: float
    why: tuple[str, ...]
    problem: str
    topics: tuple[str, ...]
    excluded_by: str = ""
    relevance: float = 0.0
    """What the item says, times the feed's weight: the value gate's measure."""
    phrases: tuple[str, ...] = ()
    """The account's topic phrases and keywords the item mentions, as the team wrote them."""


def _distinct(texts: Iterable[str]) -> tuple[str, ...]:
    """Each text once, ignoring case, in the order first met."""
    seen: dict[str, str] = {}
    for text in texts:
        seen.setdefault(text.casefold(), text)
    return tuple(seen.values())


def _recency(published: datetime, now: datetime, half_life_days: float) -> float:
    age_days = max(0.0, (now - published).total_seconds() / 86400)
    return float(0.5 ** (age_days / half_life_days))


def excluded_by(account: Account, doc: Doc) -> str:
    """The account's ``exclude`` phrase found in the item (as written, or stemmed), if any."""
    text = f" {' '.join(words(f'{doc.item.title} {doc.item.summary}'))} "
    for phrase in account.exclude:
        plain = " ".join(words(phrase))
        stemmed = tuple(terms(phrase))
        if (plain and f" {plain} " in text) or (stemmed and doc.has(stemmed)):
            return phrase
    return ""


def _quote_words(m: NeedMatch, doc: Doc, shown: Mapping[str, str] | None = None) -> str:
    """The item's own words that met the need, as written (not stems).

    Words standing for one word of the problem are quoted together: 'emergency departments'
    (for 'ER').
    """
    shown = item_surface(doc.item) if shown is None else shown
    runs: list[list[Met]] = []
    for met in m.met:
        last = runs[-1][-1] if runs else None
        if last and not met.related and not last.related and met.concept.word == last.concept.word:
            runs[-1].append(met)
        else:
            runs.append([met])
    parts: list[str] = []
    for run in runs:
        said = " ".join(dict.fromkeys(shown.get(t, t) for met in run for t in met.found))
        word = run[0].concept.word
        if run[0].related or (len(run) > 1 and said.casefold() != word.casefold()):
            parts.append(f"'{said}' (for '{word}')")
        else:
            parts.append(f"'{said}'")
    return ", ".join(dict.fromkeys(parts))


def problem_reason(m: NeedMatch, doc: Doc, shown: Mapping[str, str] | None = None) -> str:
    said = _quote_words(m, doc, shown)
    return f"Speaks to your problem “{m.need.text}”: the item says {said}"


def _feed_factors(item: Item, account: Account, feeds: Mapping[str, Feed]) -> tuple[float, bool]:
    """The best weight among the item's feeds, and whether one shares a topic with the account."""
    known = [feeds[s] for s in item.sources if s in feeds]
    if not known:
        return 1.0, False
    return max(f.weight for f in known), any(set(f.topics) & set(account.topics) for f in known)


def score_doc(
    profile: Profile,
    doc: Doc,
    corpus: Corpus,
    feeds: Mapping[str, Feed],
    now: datetime,
    settings: RankingSettings,
    weighed: tuple[Sequence[Weighed], Sequence[Weighed]] | None = None,
    phrases: Sequence[PhraseRule] | None = None,
) -> Candidate:
    """The item's relevance for the account, with reasons (``weighed``: see :func:`weigh`)."""
    account = profile.account
    needs, cares = weighed or (weigh(profile.needs, corpus.idf), weigh(profile.cares, corpus.idf))
    blocked = blocked_words(doc, profile.senses)
    why: list[str] = []
    best = _best(needs, doc, blocked, profile.general, profile)
    relevance = best.score if best else 0.0
    shown = corpus.shown(doc) if best or profile.cares else None
    if best:
        why.append(problem_reason(best, doc, shown))
    matched_topics: list[str] = []
    mentioned: list[str] = []
    topic_hits = 0
    rules = profile.phrases if phrases is None else phrases
    present = [r for r in rules if doc.has(r.terms) and not _uses(r.terms, blocked)]
    for topic_id in account.topics if present else ():
        hits = [r.text for r in present if r.topic == topic_id]
        if hits:
            matched_topics.append(topic_id)
            mentioned.extend(hits)
            topic_hits += len(hits)
            title = profile.topic_titles.get(topic_id, topic_id)
            why.append(f"Your topic “{title}”: mentions {', '.join(repr(h) for h in hits[:3])}")
    relevance += TOPIC_WEIGHT * min(2, topic_hits)
    keyword_hits = [
        k.text for k in profile.keywords if doc.has(k.terms) and not _uses(k.terms, blocked)
    ]
    mentioned.extend(keyword_hits)
    if keyword_hits:
        relevance += KEYWORD_WEIGHT * min(2, len(keyword_hits))
        why.append(f"Your keywords: {', '.join(repr(k) for k in keyword_hits[:3])}")
    weight, shares_topic = _feed_factors(doc.item, account, feeds)
    if relevance > 0 and shares_topic:
        relevance += FEED_TOPIC_BONUS
    if relevance > 0 and profile.cares:
        cared = _best(cares, doc, blocked, profile.general)
        if cared:
            relevance += STAKEHOLDER_WEIGHT * cared.score
            name = profile.stakeholder.name if profile.stakeholder else "your stakeholder"
            why.insert(
                0,
                f"For {name}, who cares about “{cared.need.text}”: "
                f"the item says {_quote_words(cared, doc, shown)}",
            )
    # An item with nothing to say is not sent either way: spare it the exclusion check.
    excluded = excluded_by(account, doc) if relevance > 0 or why else ""
    gated = 0.0 if excluded else relevance * weight
    score = gated * _recency(doc.item.published, now, settings.half_life_days)
    return Candidate(
        item=doc.item,
        score=round(score, 6),
        why=tuple(why),
        problem=best.need.text if best else "",
        topics=tuple(matched_topics),
        excluded_by=excluded,
        relevance=round(gated, 6),
        phrases=_distinct(mentioned),
    )


def score_corpus(
    profile: Profile,
    corpus: Corpus,
    *,
    feeds: Mapping[str, Feed],
    now: datetime,
    settings: RankingSettings,
    oldest: datetime | None = None,
) -> list[Candidate]:
    """Score the items that share any word or idea with the account, best first.

    Items published after ``now`` (or before ``oldest``) are left out, and so are items whose
    relevance is bound to be zero: only items that may meet a problem (see
    :meth:`Corpus.meeting`) or hold a topic phrase or keyword are scored, which keeps one
    account against 10,000 items well under 0.2 s.
    """
    candidates = []
    weighed = (weigh(profile.needs, corpus.idf), weigh(profile.cares, corpus.idf))
    reachable, phrases_at = _reachable(profile, corpus)
    for index in reachable:
        doc = corpus.docs[index]
        published = doc.item.published
        if published > now or (oldest is not None and published < oldest):
            continue
        phrases = phrases_at.get(index, ())
        candidate = score_doc(profile, doc, corpus, feeds, now, settings, weighed, phrases)
        if candidate.relevance > 0 or candidate.why:
            candidates.append(candidate)
    return sorted(candidates, key=lambda c: (-c.score, c.item.id))


def _reachable(profile: Profile, corpus: Corpus) -> tuple[list[int], dict[int, list[PhraseRule]]]:
    """Indexes of the docs that can score above zero for the account, in corpus order, and
    for each the topic phrases whose words it holds (to check in order)."""
    found: set[int] = set()
    for need in profile.needs:
        found |= corpus.meeting(need)
    phrases_at: dict[int, list[PhraseRule]] = {}
    for rule in profile.phrases:
        holding = corpus.with_phrase(rule.terms)
        found |= holding
        for index in holding:
            phrases_at.setdefault(index, []).append(rule)
    for rule in profile.keywords:
        found |= corpus.with_phrase(rule.terms)
    return sorted(found), phrases_at


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
) -> list[Candidate]:
    """Score ``items`` for ``account``, best first.

    Pass the run's ``corpus`` (built once from the stored items) when ranking many accounts:
    building it is the expensive part. Without one, a corpus of ``items`` is built here.
    """
    corpus = corpus or Corpus(items)
    profile = make_profile(account, topics, stakeholder, corpus.lexicon)
    found = score_corpus(profile, corpus, feeds=feeds, now=now, settings=settings, oldest=oldest)
    if len(corpus.docs) == len(items):
        return found
    wanted = {i.id for i in items}
    return [c for c in found if c.item.id in wanted]


# --- the value gate and diversity ---------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """Whether one candidate made the digest, and why (for ``--explain``)."""

    candidate: Candidate
    chosen: bool
    reason: str


def decide(
    candidates: Sequence[Candidate],
    settings: RankingSettings,
    sent: Mapping[str, datetime] | None = None,
) -> list[Decision]:
    """Apply the value gate, skip what was sent, and cap the share of one source or topic."""
    already = sent or {}
    decisions: list[Decision] = []
    per_source: Counter[str] = Counter()
    per_topic: Counter[str] = Counter()
    max_source = max(1, math.floor(settings.max_items * settings.max_share_per_source))
    max_topic = max(1, math.floor(settings.max_items * settings.max_share_per_topic))
    chosen = 0
    for c in candidates:
        topic = c.topics[0] if c.topics else ""
        if c.excluded_by:
            reason = f"excluded: it mentions '{c.excluded_by}', which the account excludes"
        elif c.relevance < settings.threshold or not c.why:
            reason = f"below the relevance bar ({c.relevance:.2f} < {settings.threshold:.2f})"
        elif c.item.id in already:
            reason = f"already sent on {already[c.item.id]:%Y-%m-%d}"
        elif chosen >= settings.max_items:
            reason = f"relevant, but the digest is full ({settings.max_items} items)"
        elif per_source[c.item.source] >= max_source:
            reason = f"relevant, but {max_source} items already come from {c.item.source}"
        elif topic and per_topic[topic] >= max_topic:
            reason = f"relevant, but {max_topic} items already cover the topic {topic}"
        else:
            chosen += 1
            per_source[c.item.source] += 1
            if topic:
                per_topic[topic] += 1
            decisions.append(
                Decision(c, True, f"chosen (relevance {c.relevance:.2f}, rank {chosen})")
            )
            continue
        decisions.append(Decision(c, False, reason))
    return decisions


def select(
    candidates: Sequence[Candidate],
    settings: RankingSettings,
    sent: Iterable[str] | Mapping[str, datetime] = (),
) -> tuple[Pick, ...]:
    """The picks: candidates that passed :func:`decide`, best first."""
    when = (
        sent if isinstance(sent, Mapping) else dict.fromkeys(sent, datetime.min.replace(tzinfo=UTC))
    )
    return tuple(
        Pick(
            d.candidate.item,
            d.candidate.score,
            d.candidate.why,
            d.candidate.problem,
            d.candidate.topics,
            d.candidate.phrases,
        )
        for d in decide(candidates, settings, when)
        if d.chosen
    )


# --- curated notes -------------------------------------------------------------------------


def _note_item(note: Note) -> Item:
    moment = datetime.combine(note.date, datetime.min.time(), UTC)
    return Item(f"note:{note.slug}", "", note.title, note.body, "", moment, moment, ())


def pick_notes(
    account: Account,
    notes: Sequence[Note],
    topics: Mapping[str, Topic],
    today: date,
    corpus: Corpus | None = None,
) -> tuple[NotePick, ...]:
    """Live notes written for this account or sharing one of its topics; the account's own first.

    A note carries the same kind of reasons as a news item: the problem of the account's it
    speaks to, and the words that meet it.
    """
    lex = corpus.lexicon if corpus else lexicon()
    idf: Callable[[str], float] = corpus.idf if corpus else (lambda _t: 1.0)
    profile = make_profile(account, topics, None, lex)
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
        if not why:
            continue
        doc = analyze(_note_item(note), lex)
        blocked = blocked_words(doc, profile.senses)
        match = _best(weigh(profile.needs, idf), doc, blocked, profile.general)
        if match:
            why.insert(0, problem_reason(match, doc).replace("the item says", "the note says"))
        problem = match.need.text if match else _closest_problem(account, note)
        rank = 0 if account.slug in note.accounts else 1
        picked.append((rank, NotePick(note, tuple(why), problem)))
    picked.sort(key=lambda p: (p[0], -p[1].note.date.toordinal(), p[1].note.slug))
    others = [p for _, p in picked if p.note.kind != "product"]
    products = [p for _, p in picked if p.note.kind == "product"]
    return (*others, *products[:1])  # no vendor pitch: at most one product note, last


def _closest_problem(account: Account, note: Note) -> str:
    note_terms = set(terms(f"{note.title} {note.body}"))
    best, best_overlap = "", 0
    for problem in account.problems:
        overlap = len(set(terms(problem)) & note_terms)
        if overlap > best_overlap:
            best, best_overlap = problem, overlap
    return best


__all__ = [
    "Candidate",
    "Corpus",
    "Decision",
    "Profile",
    "decide",
    "make_profile",
    "pick_notes",
    "score_corpus",
    "score_items",
    "select",
]
