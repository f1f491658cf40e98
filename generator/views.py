"""What a digest template sees: the digest turned into plain values for every channel.

Pure: no Jinja here. :func:`digest_context` builds the variables once per digest and every
format shares them.

Variables every digest template gets (see :func:`digest_context`):

``account``
    the :class:`~generator.models.Account` (``name``, ``industry``, ``problems``,
    ``stakeholders``...)
``stakeholder``
    the person the digest is for (``--for``), or none
``recipients``
    who the email goes to: the stakeholder, else every stakeholder with an email
``rep``
    the account's rep (``name``, ``email``), or none; ``rep_first_name``
``greeting``, ``intro``
    "Hi Dana," and the rep's one-line intro (kb.yml ``digest.intro``)
``subject``
    the email subject, named for the customer's top problem, never for us
``groups``
    the picks by the customer's problem: a list of ``{problem, picks, is_problem}``; picks that
    match no stated problem come last under "Also worth knowing"
``picks``
    every pick, best first; each has ``number`` (its place in reading order), ``title``,
    ``link`` (with UTM; empty when the feed gave no web link), ``source`` (the feed's title),
    ``published``, ``excerpt``,
    ``why_line`` (the customer-facing "why this matters to you"), ``why`` (the ranker's reasons,
    for the rep), ``problem``, ``score`` and ``item``
``links``
    the picks that have a link, in reading order (the text digest's footnotes)
``best``
    the first pick with a link short enough for a message (the note's link), or none
``notes``
    insight and case-study notes: ``title``, ``kind``, ``lead`` (the part for the customer:
    above ``<!-- more -->``, else the first paragraph; Markdown), ``lead_html``, ``lead_text``,
    ``body`` (all of it, for the rep), ``body_html``, ``why``, ``problem``, ``note``
``openers``
    ``question`` notes, same shape as ``notes``
``product``
    at most one ``product`` note (placed last by every default template), or none
``history``
    what was sent before, one record per item, newest first (``title``, ``url``, ``sent_at``,
    ``format``)
``top_problem``
    the problem of the best pick, capitalized (the email subject's start); ``unfiled``, the
    heading of picks that meet no stated problem
``reason``
    why the digest is empty, when it is; ``generated_at``, ``today``, ``team``
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from .markup import lcfirst, note_html, safe_link
from .models import ADHOC_SLUG, Digest, NotePick, Pick, SentRecord, Stakeholder, address_name
from .parse.normalize import plain_text, shorten

EXCERPT_CHARS = 280
NOTE_LINK_MAX = 160
"""A note links only to a URL this short, so the message still fits."""
SUBJECT_PROBLEM_CHARS = 60
UNFILED = "Also worth knowing"
MORE = "<!-- more -->"
LEAD_CHARS = 1500
"""At most this much of a note reaches a customer's digest or the newsletter: a note without
paragraph breaks would otherwise travel whole. The full body is on the note's site page."""


@dataclass(frozen=True)
class DigestStyle:
    """What a digest's rendering needs beyond the digest: the project's voice and link settings."""

    team: str
    utm: Mapping[str, str]
    intro: str
    source_titles: Mapping[str, str]
    topic_titles: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PickView:
    item: Any
    number: int
    title: str
    score: float
    why: tuple[str, ...]
    why_line: str
    problem: str
    link: str
    excerpt: str
    source: str
    published: datetime


@dataclass(frozen=True)
class NoteView:
    note: Any
    title: str
    kind: str
    problem: str
    why: tuple[str, ...]
    lead: str
    lead_html: str
    lead_text: str
    body: str
    body_html: str


@dataclass(frozen=True)
class GroupView:
    problem: str
    picks: tuple[PickView, ...]
    is_problem: bool


_MATCHED = re.compile(r"\s*\(matched [^)]*\)")


def why_line(pick: Pick, topic_titles: Mapping[str, str]) -> str:
    """The customer-facing reason: their own words first, then a topic they follow.

    When the story names phrases the team watches for this customer, the line says so, so two
    items under one problem do not read the same.
    """
    about = _spoken_list(_widest(pick.phrases)[:2])
    if pick.problem:
        problem = pick.problem.rstrip(".")
        if about:
            return (
                f"It is about {about}, which bears on what you told us is a priority: “{problem}.”"
            )
        return f"It speaks to what you told us is a priority: “{problem}.”"
    titles = [topic_titles[t] for t in pick.topics if t in topic_titles]
    if titles:
        return f"It is about {lcfirst(titles[0])}, an area you follow."
    return _MATCHED.sub("", pick.why[0]) + "." if pick.why else ""


def _widest(phrases: Sequence[str]) -> list[str]:
    """Drop a phrase that another one contains ('detention' beside 'detention pay')."""
    folded = [p.casefold() for p in phrases]
    return [
        p
        for p, f in zip(phrases, folded, strict=True)
        if not any(f != other and f in other for other in folded)
    ]


def _spoken_list(words: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(words) < 2:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def _pick_view(pick: Pick, number: int, style: DigestStyle) -> PickView:
    return PickView(
        item=pick.item,
        number=number,
        title=pick.item.title,
        score=pick.score,
        why=pick.why,
        why_line=why_line(pick, style.topic_titles),
        problem=pick.problem,
        link=safe_link(pick.item.url, style.utm),
        excerpt=shorten(pick.item.summary, EXCERPT_CHARS),
        source=style.source_titles.get(pick.item.source, pick.item.source),
        published=pick.item.published,
    )


def note_lead(body: str) -> str:
    """The part of a note meant for the customer: above ``<!-- more -->``, else paragraph one.

    Notes are written for reps and often go on with advice for the call ("Don't lead with the
    industry figure..."); that part belongs on the call sheet, not in the customer's inbox.
    """
    if MORE in body:
        lead = body.split(MORE, 1)[0].strip()
    else:
        lead = re.split(r"\n\s*\n", body.strip(), maxsplit=1)[0].strip()
    return shorten(lead, LEAD_CHARS)


@lru_cache(maxsize=4096)
def _note_texts(text: str) -> tuple[str, str, str, str, str]:
    """A note's lead and body in every form, worked out once per run: the same notes go to
    many accounts (and the site renders every account)."""
    lead = note_lead(text)
    body = text.replace(MORE, "").strip()
    lead_html = note_html(lead)
    return lead, lead_html, plain_text(lead_html), body, note_html(body)


def _note_view(pick: NotePick) -> NoteView:
    lead, lead_html, lead_text, body, body_html = _note_texts(pick.note.body)
    return NoteView(
        note=pick.note,
        title=pick.note.title,
        kind=pick.note.kind,
        problem=pick.problem,
        why=pick.why,
        lead=lead,
        lead_html=lead_html,
        lead_text=lead_text,
        body=body,
        body_html=body_html,
    )


def _groups(views: Sequence[PickView]) -> list[GroupView]:
    """Picks by problem, in the order of each problem's best pick; unfiled picks last.

    Picks are numbered in reading order here, so a text digest's footnotes run [1], [2], [3].
    """
    by_problem: dict[str, list[PickView]] = {}
    for view in views:
        by_problem.setdefault(view.problem, []).append(view)
    ordered = [(p, v, True) for p, v in by_problem.items() if p]
    if "" in by_problem:
        ordered.append((UNFILED, by_problem[""], False))
    groups: list[GroupView] = []
    number = 0
    for problem, members, is_problem in ordered:
        numbered = []
        for view in members:
            number += 1
            numbered.append(replace(view, number=number))
        groups.append(GroupView(problem, tuple(numbered), is_problem))
    return groups


def recipients(digest: Digest) -> tuple[Stakeholder, ...]:
    """The stakeholder asked for, else everyone on the account with an email address."""
    if digest.stakeholder is not None:
        return (digest.stakeholder,)
    return tuple(p for p in digest.account.stakeholders if p.email)


def greeting(digest: Digest) -> str:
    """ "Hi Dana," for one reader, "Hi Dana, Marcus and Loretta," for up to three."""
    names = [n for n in (p.first_name for p in recipients(digest)) if n]
    if digest.account.slug == ADHOC_SLUG:
        return "Hello,"  # a caller with no account file: no name to greet yet
    if not names or len(names) > 3:
        return f"Hello {digest.account.name} team,"
    if len(names) == 1:
        return f"Hi {names[0]},"
    return f"Hi {', '.join(names[:-1])} and {names[-1]},"


def unique_history(history: Sequence[SentRecord]) -> list[SentRecord]:
    """One record per item (its first sending), newest first."""
    first: dict[str, SentRecord] = {}
    for record in sorted(history, key=lambda r: (r.sent_at, r.format, r.item_id)):
        first.setdefault(record.item_id, record)
    return sorted(first.values(), key=lambda r: (r.sent_at, r.title, r.item_id), reverse=True)


def digest_context(digest: Digest, style: DigestStyle) -> dict[str, Any]:
    groups = _groups([_pick_view(p, 0, style) for p in digest.picks])
    in_reading_order = [v for g in groups for v in g.picks]
    rank = {p.item.id: i for i, p in enumerate(digest.picks)}
    views = sorted(in_reading_order, key=lambda v: rank[v.item.id])  # best first, as ranked
    notes = [_note_view(n) for n in digest.notes]
    products = [n for n in notes if n.kind == "product"]
    account = digest.account
    rep = account.rep
    context: dict[str, Any] = {
        "account": account,
        "stakeholder": digest.stakeholder,
        "recipients": recipients(digest),
        "rep": rep,
        "rep_first_name": address_name(rep.name) if rep else "",
        "greeting": greeting(digest),
        "intro": style.intro
        or "A few things I came across this week that bear on what you told me you are working on.",
        "groups": groups,
        "links": [v for v in in_reading_order if v.link],
        "picks": views,
        "best": next((v for v in views if v.link and len(v.link) <= NOTE_LINK_MAX), None),
        "notes": [n for n in notes if n.kind in ("insight", "case-study")],
        "openers": [n for n in notes if n.kind == "question"],
        "product": products[0] if products else None,
        "history": unique_history(digest.history),
        "reason": digest.reason,
        "generated_at": digest.generated_at,
        "today": digest.generated_at.date(),
        "team": style.team,
        "unfiled": UNFILED,
    }
    top = next((g.problem for g in context["groups"] if g.is_problem), "")
    top = shorten(top.rstrip("."), SUBJECT_PROBLEM_CHARS)
    context["top_problem"] = top[:1].upper() + top[1:]
    return context


# --- formats -------------------------------------------------------------------------------


def digest_json(digest: Digest, utm: Mapping[str, str] | None = None) -> str:
    data: dict[str, Any] = {
        "account": digest.account.slug,
        "name": digest.account.name,
        "generated_at": iso_z(digest.generated_at),
        "stakeholder": digest.stakeholder.name if digest.stakeholder else None,
        "items": [
            {
                "title": p.item.title,
                "url": safe_link(p.item.url, utm or {}),
                "source": p.item.source,
                "sources": list(p.item.sources),
                "published": iso_z(p.item.published),
                "score": round(p.score, 4),
                "problem": p.problem,
                "topics": list(p.topics),
                "why": list(p.why),
                "summary": p.item.summary,
            }
            for p in digest.picks
        ],
        "notes": [
            {
                "title": n.note.title,
                "kind": n.note.kind,
                "date": n.note.date.isoformat(),
                "problem": n.problem,
                "why": list(n.why),
            }
            for n in digest.notes
        ],
    }
    if digest.reason:
        data["reason"] = digest.reason
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def iso_z(moment: datetime) -> str:
    """``2026-11-16T09:00:00Z``: how every JSON output writes a moment."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
