"""Jinja2 rendering of digests (every channel) and newsletters.

Templates are looked up in the project's ``templates/`` folder first, then in the package's
defaults (``generator/templates``), so a team restyles one template without copying the rest
(Pelican's ``ChoiceLoader`` habit). HTML templates (``*.html.j2``) are autoescaped. Values from a
feed arrive as plain text (titles, ``summary``) or sanitized HTML (``summary_html``); links are
kept only when they are ``http(s)``, so a feed cannot smuggle ``javascript:`` into an ``href``.

One template per channel: ``digest.md.j2``, ``digest.txt.j2``, ``digest.html.j2`` (the email
body; its CSS is inlined after rendering), ``digest.subject.j2`` (the email subject, one line),
``digest.note.j2`` (the short message) and ``digest.call.md.j2`` (the call sheet). ``json`` and
``eml`` are built in Python (``eml`` from the subject, text and HTML templates).

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
``reason``
    why the digest is empty, when it is; ``generated_at``, ``today``, ``team``
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import jinja2
import markdown

from .exceptions import ConfigError, RenderError
from .mail import email_draft, inline_css, message_id
from .models import Digest, Item, NotePick, Pick, Project, SentRecord, Stakeholder
from .newsletter import Newsletter
from .parse.normalize import clean_html, plain_text, shorten
from .yamlfile import did_you_mean

EXCERPT_CHARS = 280
NOTE_LIMIT = 300
NOTE_LINK_MAX = 160
SUBJECT_PROBLEM_CHARS = 60
UNFILED = "Also worth knowing"
MORE = "<!-- more -->"

TEMPLATE_FORMATS = {
    "md": "digest.md.j2",
    "txt": "digest.txt.j2",
    "html": "digest.html.j2",
    "note": "digest.note.j2",
    "call": "digest.call.md.j2",
}
SUBJECT_TEMPLATE = "digest.subject.j2"
EXTENSIONS = {
    "md": "md",
    "txt": "txt",
    "html": "html",
    "json": "json",
    "eml": "eml",
    "note": "note.txt",
    "call": "call.md",
}


class NothingToSend(RenderError):
    """A format that has nothing honest to say for this digest (a note without an item)."""


# --- the environment and its filters -------------------------------------------------------


def make_environment(project_templates: Path | None = None) -> jinja2.Environment:
    """One environment per run: templates compile once and are reused for every account."""
    loaders: list[jinja2.BaseLoader] = []
    if project_templates is not None and project_templates.is_dir():
        loaders.append(jinja2.FileSystemLoader(str(project_templates)))
    loaders.append(jinja2.PackageLoader("generator", "templates"))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(["html.j2", "html", "xml"], default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
        cache_size=-1,
    )
    env.filters["day"] = lambda d: f"{d.day} {d:%b %Y}"
    env.filters["markdown"] = note_html
    env.filters["shorten"] = shorten
    env.filters["md"] = md_escape
    env.filters["md_url"] = md_url
    env.filters["web_link"] = lambda url, utm=None: safe_link(url, utm or {})
    env.filters["md_link"] = md_link
    env.filters["lcfirst"] = lcfirst
    env.filters["wrap"] = wrap
    return env


def check_templates(project_templates: Path) -> list[ConfigError]:
    """Compile every template a project overrides; a name that overrides nothing is an error too
    (a typo such as ``digest.htm.j2`` would otherwise be ignored without a word)."""
    if not project_templates.is_dir():
        return []
    env = make_environment(project_templates)
    defaults = set(jinja2.PackageLoader("generator", "templates").list_templates())
    errors: list[ConfigError] = []
    for path in sorted(p for p in project_templates.rglob("*") if p.is_file()):
        name = path.relative_to(project_templates).as_posix()
        if name not in defaults:
            hint = did_you_mean(name, defaults)
            errors.append(ConfigError(path, None, f"'{name}' replaces no template{hint}"))
            continue
        try:
            env.get_template(name)
        except jinja2.TemplateSyntaxError as e:
            errors.append(ConfigError(path, e.lineno, f"template error: {e.message}"))
    return errors


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]#|~"} | {"<": "&lt;", ">": "&gt;"})
_ENTITY = re.compile(r"&(?=#?\w+;)")
_LINE_START = re.compile(r"^(\s*)([-+=]|\d+[.)])")


def md_escape(text: str) -> str:
    """Plain text made inert in Markdown: no markup, links, entities or raw HTML survive."""
    one_line = " ".join(str(text).split())  # a line break or an indent could start a block
    escaped = _ENTITY.sub("&amp;", one_line).translate(_MD_SPECIAL)
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), escaped)


def md_url(url: str) -> str:
    """A URL that cannot end a Markdown link early: brackets, spaces and quotes are encoded."""
    return quote(str(url), safe=":/?#@!$&'*+,;=%-._~")


def md_link(text: str, href: str) -> str:
    """A Markdown link to ``href`` (already a safe web link), or just the text if there is none."""
    return f"[{md_escape(text)}]({md_url(href)})" if href else md_escape(text)


def lcfirst(text: str) -> str:
    """Lower-case the first letter unless the first word is an acronym ("ED boarding")."""
    text = str(text)
    first = text.split(" ", 1)[0]
    if len(first) > 1 and first[:2].isupper():
        return text
    return text[:1].lower() + text[1:]


def wrap(text: str, width: int = 72, indent: str = "") -> str:
    """Word-wrap plain text for a text email; long words (URLs) are never broken."""
    return "\n".join(
        textwrap.wrap(
            str(text),
            width=width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
    )


@lru_cache(maxsize=4096)
def note_html(text: str) -> str:
    """A note's Markdown as safe HTML (notes are the team's own, but are sanitized all the same).

    Cached: the same notes go to many accounts, and Markdown is the costliest step of a digest.
    """
    return clean_html(markdown.markdown(text, extensions=["extra", "sane_lists"]))


def with_utm(url: str, utm: Mapping[str, str]) -> str:
    if not utm or not url.startswith(("http://", "https://")):
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in utm]
    query.extend(sorted(utm.items()))
    return urlunsplit(parts._replace(query=urlencode(query)))


def safe_link(url: str, utm: Mapping[str, str]) -> str:
    """The link to print, or "" when the feed's URL is not a plain web address."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    if any(c.isspace() or c in "<>\"'`" for c in url):
        return ""
    return with_utm(url, utm)


# --- what the templates see ---------------------------------------------------------------


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
        return body.split(MORE, 1)[0].strip()
    return re.split(r"\n\s*\n", body.strip(), maxsplit=1)[0].strip()


def _note_view(pick: NotePick) -> NoteView:
    lead = note_lead(pick.note.body)
    body = pick.note.body.replace(MORE, "").strip()
    lead_html = note_html(lead)
    return NoteView(
        note=pick.note,
        title=pick.note.title,
        kind=pick.note.kind,
        problem=pick.problem,
        why=pick.why,
        lead=lead,
        lead_html=lead_html,
        lead_text=plain_text(lead_html),
        body=body,
        body_html=note_html(body),
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


def first_name(person: Stakeholder) -> str:
    return person.name.split()[0] if person.name.split() else ""


def recipients(digest: Digest) -> tuple[Stakeholder, ...]:
    """The stakeholder asked for, else everyone on the account with an email address."""
    if digest.stakeholder is not None:
        return (digest.stakeholder,)
    return tuple(p for p in digest.account.stakeholders if p.email)


def greeting(digest: Digest) -> str:
    """ "Hi Dana," for one reader, "Hi Dana, Marcus and Loretta," for up to three."""
    names = [n for n in (first_name(p) for p in recipients(digest)) if n]
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
        "rep_first_name": rep.name.split()[0] if rep and rep.name.split() else "",
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
        "generated_at": _iso(digest.generated_at),
        "stakeholder": digest.stakeholder.name if digest.stakeholder else None,
        "items": [
            {
                "title": p.item.title,
                "url": safe_link(p.item.url, utm or {}),
                "source": p.item.source,
                "sources": list(p.item.sources),
                "published": _iso(p.item.published),
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


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def render_template(env: jinja2.Environment, name: str, context: Mapping[str, Any]) -> str:
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateNotFound as e:
        raise RenderError(f"template not found: {e.name}") from e
    except jinja2.TemplateSyntaxError as e:
        raise RenderError(f"{e.filename or e.name}:{e.lineno}: template error: {e.message}") from e
    except jinja2.TemplateError as e:
        raise RenderError(f"template {name}: {e}") from e


def render_subject(env: jinja2.Environment, context: Mapping[str, Any]) -> str:
    """The subject template's output on one line (headers cannot hold line breaks)."""
    return " ".join(render_template(env, SUBJECT_TEMPLATE, context).split())


def render_note(env: jinja2.Environment, context: Mapping[str, Any]) -> str:
    """The short message, at most :data:`NOTE_LIMIT` characters, however long the title is.

    The template renders first as written; if it runs over, the item's title is shortened by the
    overflow (then the problem's wording), and the template renders again.
    """
    best: PickView | None = context["best"]
    if best is None:
        reason = context["reason"] or "no item has a web link short enough for a message"
        raise NothingToSend(f"{context['account'].slug}: no note: {reason}")

    def attempt(title: str, problem: str) -> str:
        view = replace(best, title=title, problem=problem)
        text = render_template(env, TEMPLATE_FORMATS["note"], {**context, "best": view})
        return " ".join(text.split())

    title, problem = best.title, best.problem
    text = attempt(title, problem)
    for part in ("title", "problem"):
        over = len(text) - NOTE_LIMIT
        if over <= 0:
            return text + "\n"
        if part == "title":
            title = shorten(title, max(len(title) - over, 12))
        else:
            problem = shorten(problem, max(len(problem) - over, 12))
        text = attempt(title, problem)
    if len(text) > NOTE_LIMIT:
        raise RenderError(
            f"{TEMPLATE_FORMATS['note']}: the note for {context['account'].slug} is {len(text)} "
            f"characters even with its title cut; a note must be at most {NOTE_LIMIT}"
        )
    return text + "\n"


def render_email(env: jinja2.Environment, digest: Digest, context: Mapping[str, Any]) -> str:
    """A MIME draft (text + HTML) from the rep to the recipients; see :mod:`generator.mail`."""
    html = inline_css(render_template(env, TEMPLATE_FORMATS["html"], context))
    text = render_template(env, TEMPLATE_FORMATS["txt"], context)
    rep = digest.account.rep
    person = digest.stakeholder
    return email_draft(
        subject=render_subject(env, context),
        text=text,
        html=html,
        sender=rep,
        recipients=context["recipients"],
        moment=digest.generated_at,
        msg_id=message_id(
            digest.account.slug,
            digest.generated_at,
            rep.email if rep else "",
            first_name(person).casefold() if person else "",
        ),
    )


def note_item(digest: Digest, style: DigestStyle) -> Item | None:
    """The item a note links to: the best pick with a web link short enough for a message."""
    for pick in digest.picks:
        link = safe_link(pick.item.url, style.utm)
        if link and len(link) <= NOTE_LINK_MAX:
            return pick.item
    return None


def render_digest(env: jinja2.Environment, digest: Digest, fmt: str, style: DigestStyle) -> str:
    return render_formats(env, digest, (fmt,), style)[fmt]


def render_formats(
    env: jinja2.Environment, digest: Digest, formats: Sequence[str], style: DigestStyle
) -> dict[str, str]:
    """Every asked-for format of one digest, sharing one context (the costly part) between them."""
    unknown = [f for f in formats if f not in EXTENSIONS]
    if unknown:
        raise RenderError(f"unknown digest format '{unknown[0]}'")
    if set(formats) <= {"json"}:
        return {"json": digest_json(digest, style.utm)} if formats else {}
    context = digest_context(digest, style)
    context["subject"] = render_subject(env, context)
    out: dict[str, str] = {}
    for fmt in formats:
        if fmt == "json":
            out[fmt] = digest_json(digest, style.utm)
        elif fmt == "eml":
            out[fmt] = render_email(env, digest, context)
        elif fmt == "note":
            out[fmt] = render_note(env, context)
        elif fmt == "html":
            out[fmt] = inline_css(render_template(env, TEMPLATE_FORMATS[fmt], context))
        else:
            out[fmt] = render_template(env, TEMPLATE_FORMATS[fmt], context)
    return out


def digest_style(project: Project) -> DigestStyle:
    return DigestStyle(
        team=project.settings.team,
        utm=project.settings.digest.utm,
        intro=project.settings.digest.intro,
        source_titles={f.name: f.display_title for f in project.feeds},
        topic_titles={t.id: t.title for t in project.topics},
    )


# --- the newsletter ------------------------------------------------------------------------


def render_newsletter(project: Project, newsletter: Newsletter) -> dict[str, str]:
    env = make_environment(project.templates_dir)
    titles = {f.name: f.display_title for f in project.feeds}
    context = {
        "newsletter": newsletter,
        "team": project.settings.team,
        "one_day": timedelta(days=1),
        "utm": project.settings.digest.utm,
        "source_title": lambda name: titles.get(name, name),
    }
    text = render_template(env, "newsletter.md.j2", context)
    body = markdown.markdown(text, extensions=["extra"])
    page = render_template(env, "newsletter.html.j2", {**context, "body_html": body})
    return {"md": text, "html": page}
