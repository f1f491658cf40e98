"""What an account needs, analyzed once per account: its problems as concepts, its field, its
topic phrases and keywords, the word senses it means, and what it excludes. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from ..models import Account, Stakeholder, Topic
from .lexicon import Lexicon, Phrase, lexicon
from .text import surface_words, terms


@dataclass(frozen=True)
class Concept:
    term: str
    word: str
    """The word as the account wrote it (for reasons)."""
    groups: tuple[int, ...]
    """The related groups of the word, in the lexicon's order."""


@dataclass(frozen=True)
class Need:
    """One problem statement (or a stakeholder's concern) as concepts to look for."""

    text: str
    concepts: tuple[Concept, ...]
    pairs: tuple[Phrase, ...]


def make_need(text: str, lex: Lexicon) -> Need:
    stems = terms(text)
    shown = surface_words(text)
    groups: dict[str, set[int]] = {t: set(lex.groups_for((t,))) for t in stems}
    for i in range(len(stems)):
        for member in lex.members_by_first.get(stems[i], ()):
            if len(member) > 1 and tuple(stems[i : i + len(member)]) == member:
                for t in member:
                    groups[t].update(lex.groups_of[member])
    concepts = tuple(
        Concept(t, shown.get(t, t), tuple(sorted(groups[t]))) for t in dict.fromkeys(stems)
    )
    pairs = tuple(dict.fromkeys((a, b) for a, b in pairwise(stems) if a != b))
    return Need(text, concepts, pairs)


@dataclass(frozen=True)
class PhraseRule:
    """A taxonomy or keyword phrase to find intact, with where it came from."""

    text: str
    terms: Phrase
    topic: str = ""


@dataclass(frozen=True)
class Profile:
    """One account's needs, ready to meet the corpus."""

    account: Account
    needs: tuple[Need, ...]
    cares: tuple[Need, ...]
    phrases: tuple[PhraseRule, ...]
    keywords: tuple[PhraseRule, ...]
    senses: Mapping[Phrase, tuple[Phrase, ...]]
    topic_titles: Mapping[str, str]
    field_text: str
    """The account's world in words, embedded for the field gate: its industry, its topics'
    titles and phrases, its keywords (its problems when it names none of those)."""
    industry_text: str
    """The bare industry (see :func:`industry_text`), the field gate's second text."""
    domain: frozenset[str]
    """Terms of the industry, topic phrases and keywords, general words left out: the lexical
    sign that an item is about the account's field."""
    general: frozenset[str]
    stakeholder: Stakeholder | None = None

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(n.text for n in self.needs)


def field_text(account: Account, topics: Mapping[str, Topic]) -> str:
    """ "Trucking. Driver recruiting & retention: driver turnover, CDL drivers. Keywords: ..."."""
    parts = [account.industry.strip()] if account.industry.strip() else []
    for topic_id in account.topics:
        topic = topics.get(topic_id)
        if topic:
            parts.append(topic_text(topic))
    if account.keywords:
        parts.append(", ".join(account.keywords))
    return ". ".join(parts) if parts else ". ".join(account.problems)


def topic_text(topic: Topic) -> str:
    """ "Driver recruiting & retention: driver turnover, CDL drivers" (the field text's part for
    the topic; a note's problem is weighed against it too, see :mod:`.notes`)."""
    return f"{topic.title}: {', '.join(topic.keywords)}".rstrip(": ")


def industry_text(account: Account, field: str) -> str:
    """The account's bare industry, or its field text when it names none. A story on a problem
    the listed topics do not cover meets only the industry, which the whole field text dilutes:
    the field gate takes the closer of the two."""
    return account.industry.strip() or field


def embedded_texts(
    problems: Sequence[str], field: str, industry: str, cares: Sequence[str]
) -> tuple[str, ...]:
    """An account's texts that are embedded, in the order
    :func:`generator.relevance.score.assess` reads their cosines: its problems, its field, its
    bare industry (the field again when it names none), the stakeholder's concerns."""
    return (*problems, field, industry, *cares)


def account_texts(
    account: Account, topics: Mapping[str, Topic], stakeholder: Stakeholder | None = None
) -> tuple[str, ...]:
    """The account's :func:`embedded_texts`, without building its profile (a batch embeds them
    before it starts its workers)."""
    cares = stakeholder.cares_about if stakeholder else ()
    field = field_text(account, topics)
    return embedded_texts(account.problems, field, industry_text(account, field), cares)


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
    field = field_text(account, topics)
    return Profile(
        account=account,
        needs=tuple(make_need(p, lex) for p in account.problems),
        cares=tuple(make_need(c, lex) for c in cares),
        phrases=tuple(p for p in phrases if p.terms),
        keywords=tuple(k for k in keywords if k.terms),
        senses=lex.chosen_senses(context),
        topic_titles={t: topics[t].title for t in account.topics if t in topics},
        field_text=field,
        industry_text=industry_text(account, field),
        domain=frozenset(
            terms(" ".join([account.industry, *account.keywords, *(p.text for p in phrases)]))
        )
        - lex.general,
        general=lex.general,
        stakeholder=stakeholder,
    )
