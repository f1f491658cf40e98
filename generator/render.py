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

What each template sees is built in :mod:`generator.views`, which lists every variable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import jinja2

from .exceptions import ConfigError, RenderError
from .mail import email_draft, inline_css, message_id
from .markup import (
    lcfirst,
    markdown_page,
    md_escape,
    md_link,
    md_url,
    note_block,
    note_html,
    safe_link,
    wrap,
)
from .models import Digest, Item, Project
from .newsletter import Newsletter
from .parse.normalize import shorten
from .relevance.notes import note_item
from .views import (
    DigestStyle,
    PickView,
    digest_context,
    digest_json,
    note_lead,
)
from .yamlfile import did_you_mean

NOTE_LIMIT = 300

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
    env.filters["note_block"] = note_block
    env.filters["lead"] = note_lead
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


def render_email(
    digest: Digest, context: Mapping[str, Any], html: str, text: str, subject: str
) -> str:
    """A MIME draft (text + HTML) from the rep to the recipients; see :mod:`generator.mail`."""
    rep = digest.account.rep
    person = digest.stakeholder
    return email_draft(
        subject=subject,
        text=text,
        html=html,
        sender=rep,
        recipients=context["recipients"],
        moment=digest.generated_at,
        msg_id=message_id(
            digest.account.slug,
            digest.generated_at,
            rep.email if rep else "",
            person.first_name.casefold() if person else "",
        ),
    )


@dataclass(frozen=True)
class Output:
    """One format of one digest: its text, the items it carries to the customer (what is
    recorded as sent), or why it has nothing honest to say."""

    text: str
    items: tuple[Item, ...] = ()
    skipped: str = ""


def render_outputs(
    env: jinja2.Environment, digest: Digest, formats: Sequence[str], style: DigestStyle
) -> dict[str, Output]:
    """Every asked-for format of one digest, sharing one context (the costly part) between them.

    A call sheet carries nothing (it is the rep's own); a note carries the one item it links,
    and is skipped with its reason when there is none; every other format carries every pick
    and every note.
    """
    unknown = [f for f in formats if f not in EXTENSIONS]
    if unknown:
        raise RenderError(f"unknown digest format '{unknown[0]}'")
    # The notes a digest carries are recorded as sent too, so the next digest brings new ones.
    picks = tuple(p.item for p in digest.picks) + tuple(note_item(n.note) for n in digest.notes)
    if set(formats) <= {"json"}:
        return {f: Output(digest_json(digest, style.utm), picks) for f in formats}
    context = digest_context(digest, style)
    context["subject"] = render_subject(env, context)
    bodies: dict[str, str] = {}

    def body(fmt: str) -> str:
        """The html (CSS inlined) and txt bodies, rendered once: the eml draft reuses them."""
        if fmt not in bodies:
            text = render_template(env, TEMPLATE_FORMATS[fmt], context)
            bodies[fmt] = inline_css(text) if fmt == "html" else text
        return bodies[fmt]

    out: dict[str, Output] = {}
    for fmt in formats:
        if fmt == "json":
            out[fmt] = Output(digest_json(digest, style.utm), picks)
        elif fmt == "eml":
            email = render_email(digest, context, body("html"), body("txt"), context["subject"])
            out[fmt] = Output(email, picks)
        elif fmt == "note":
            out[fmt] = _note_output(env, context)
        elif fmt == "call":
            out[fmt] = Output(render_template(env, TEMPLATE_FORMATS[fmt], context))
        elif fmt in ("html", "txt"):
            out[fmt] = Output(body(fmt), picks)
        else:
            out[fmt] = Output(render_template(env, TEMPLATE_FORMATS[fmt], context), picks)
    return out


def _note_output(env: jinja2.Environment, context: Mapping[str, Any]) -> Output:
    try:
        text = render_note(env, context)
    except NothingToSend as e:
        return Output("", skipped=str(e))
    best: PickView = context["best"]
    return Output(text, (best.item,))


def render_formats(
    env: jinja2.Environment, digest: Digest, formats: Sequence[str], style: DigestStyle
) -> dict[str, str]:
    """The text of every asked-for format; a format with nothing to say raises NothingToSend."""
    outputs = render_outputs(env, digest, formats, style)
    for output in outputs.values():
        if output.skipped:
            raise NothingToSend(output.skipped)
    return {fmt: output.text for fmt, output in outputs.items()}


def render_digest(env: jinja2.Environment, digest: Digest, fmt: str, style: DigestStyle) -> str:
    return render_formats(env, digest, (fmt,), style)[fmt]


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
    subject = " ".join(render_template(env, "newsletter.subject.j2", context).split())
    text = render_template(env, "newsletter.md.j2", {**context, "subject": subject}).rstrip() + "\n"
    html = newsletter_html(env, text, {**context, "subject": subject, "week": newsletter.week})
    return {"subject": subject, "md": text, "html": html}


def newsletter_html(env: jinja2.Environment, markdown_text: str, context: Mapping[str, Any]) -> str:
    """The HTML page of an issue's Markdown (sanitized: an archive entry is user-edited).

    Sending renders it from the archive, where there is no ranked issue: the template must need
    only ``subject``, ``team``, ``week`` and ``body_html`` (building also passes ``newsletter``).
    """
    page = {**context, "body_html": markdown_page(markdown_text)}
    return render_template(env, "newsletter.html.j2", page)
