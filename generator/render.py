"""Jinja2 rendering of digests and newsletters.

Templates are looked up in the project's ``templates/`` folder first, then in the package's
defaults (``generator/templates``), so a team restyles one template without copying the rest.
HTML templates (``*.html.j2``) are autoescaped; every value from a feed arrives already as plain
text (``summary``) or sanitized HTML (``summary_html``).

Variables every digest template gets (see :func:`digest_context`):

``account``, ``stakeholder`` (may be none), ``rep`` (may be none), ``greeting``, ``intro``,
``groups`` (a list of ``{problem, picks}``, each pick with ``item``, ``score``, ``why``, ``link``
and ``excerpt``), ``picks`` (all picks, best first), ``notes`` (insights and case studies),
``openers`` (``question`` notes), ``product`` (at most one ``product`` note, or none),
``history`` (what was sent before), ``reason`` (why the digest is empty, if it is),
``generated_at``, ``today``, ``team``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jinja2
import markdown

from .exceptions import RenderError
from .models import Digest, NotePick, Pick, Project
from .newsletter import Newsletter
from .parse.normalize import clean_html, shorten

EXCERPT_CHARS = 280


def make_environment(project_templates: Path | None = None) -> jinja2.Environment:
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
    )
    env.filters["day"] = lambda d: d.strftime("%-d %b %Y")
    env.filters["markdown"] = note_html
    env.filters["shorten"] = shorten
    env.filters["md"] = md_escape
    return env


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]#|"} | {"<": "&lt;", ">": "&gt;"})


def md_escape(text: str) -> str:
    """Plain text made inert in Markdown: no markup, links or raw HTML survive."""
    return str(text).translate(_MD_SPECIAL)


def note_html(text: str) -> str:
    """A note's Markdown as safe HTML (notes are the team's own, but are sanitized all the same)."""
    return clean_html(markdown.markdown(text, extensions=["extra", "sane_lists"]))


def with_utm(url: str, utm: Mapping[str, str]) -> str:
    if not utm or not url.startswith(("http://", "https://")):
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in utm]
    query.extend(sorted(utm.items()))
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True)
class PickView:
    item: Any
    score: float
    why: tuple[str, ...]
    problem: str
    link: str
    excerpt: str
    source: str


def _pick_view(pick: Pick, utm: Mapping[str, str], source_titles: Mapping[str, str]) -> PickView:
    return PickView(
        item=pick.item,
        score=pick.score,
        why=pick.why,
        problem=pick.problem,
        link=with_utm(pick.item.url, utm),
        excerpt=shorten(pick.item.summary, EXCERPT_CHARS),
        source=source_titles.get(pick.item.source, pick.item.source),
    )


@dataclass(frozen=True)
class DigestStyle:
    """What a digest's rendering needs beyond the digest: the project's voice and link settings."""

    team: str
    utm: Mapping[str, str]
    intro: str
    source_titles: Mapping[str, str]


def digest_context(digest: Digest, style: DigestStyle) -> dict[str, Any]:
    views = [_pick_view(p, style.utm, style.source_titles) for p in digest.picks]
    groups: dict[str, list[PickView]] = {}
    for view in views:
        groups.setdefault(view.problem or "Also worth knowing", []).append(view)
    person = digest.stakeholder
    first_name = person.name.split()[0] if person and person.name else ""
    notes: list[NotePick] = [n for n in digest.notes if n.note.kind in ("insight", "case-study")]
    products = [n for n in digest.notes if n.note.kind == "product"]
    account = digest.account
    return {
        "account": account,
        "stakeholder": person,
        "rep": account.rep,
        "greeting": f"Hi {first_name}," if first_name else f"Hello {account.name} team,",
        "intro": style.intro
        or "A few things I came across this week that bear on what you told me you are working on.",
        "groups": [{"problem": k, "picks": v} for k, v in groups.items()],
        "picks": views,
        "notes": notes,
        "openers": [n for n in digest.notes if n.note.kind == "question"],
        "product": products[0] if products else None,
        "history": digest.history,
        "reason": digest.reason,
        "generated_at": digest.generated_at,
        "today": digest.generated_at.date(),
        "team": style.team,
    }


def digest_json(digest: Digest, utm: Mapping[str, str] | None = None) -> str:
    data: dict[str, Any] = {
        "account": digest.account.slug,
        "name": digest.account.name,
        "generated_at": _iso(digest.generated_at),
        "stakeholder": digest.stakeholder.name if digest.stakeholder else None,
        "items": [
            {
                "title": p.item.title,
                "url": with_utm(p.item.url, utm or {}),
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
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


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


TEMPLATE_FORMATS = {"md": "digest.md.j2", "txt": "digest.txt.j2", "html": "digest.html.j2"}
EXTENSIONS = {"md": "md", "txt": "txt", "html": "html", "json": "json"}


def render_digest(env: jinja2.Environment, digest: Digest, fmt: str, style: DigestStyle) -> str:
    if fmt == "json":
        return digest_json(digest, style.utm)
    if fmt not in TEMPLATE_FORMATS:
        raise RenderError(f"unknown digest format '{fmt}'")
    return render_template(env, TEMPLATE_FORMATS[fmt], digest_context(digest, style))


def digest_style(project: Project) -> DigestStyle:
    return DigestStyle(
        team=project.settings.team,
        utm=project.settings.digest.utm,
        intro=project.settings.digest.intro,
        source_titles={f.name: f.display_title for f in project.feeds},
    )


def render_newsletter(project: Project, newsletter: Newsletter) -> dict[str, str]:
    env = make_environment(project.templates_dir)
    titles = {f.name: f.display_title for f in project.feeds}
    context = {
        "newsletter": newsletter,
        "team": project.settings.team,
        "one_day": timedelta(days=1),
        "link": lambda url: with_utm(url, project.settings.digest.utm),
        "source_title": lambda name: titles.get(name, name),
    }
    text = render_template(env, "newsletter.md.j2", context)
    body = markdown.markdown(text, extensions=["extra"])
    page = render_template(env, "newsletter.html.j2", {**context, "body_html": body})
    return {"md": text, "html": page}
