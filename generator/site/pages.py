"""Pure: the project, its items and digests -> the site's Markdown pages, by path."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..models import Digest, Item, Project
from ..newsletter import Newsletter
from ..render import digest_style, make_environment, render_newsletter, render_template
from ..views import digest_context

LATEST = 50


def site_pages(
    project: Project,
    items: Sequence[Item],
    digests: Sequence[Digest],
    newsletter: Newsletter,
    now: datetime,
) -> dict[str, str]:
    env = make_environment(project.templates_dir)
    by_account = {d.account.slug: d for d in digests}
    style = digest_style(project)
    topics = {t.id: t for t in project.topics}
    common = {"project": project, "now": now, "today": now.date(), "topics": topics}
    pages = {
        "index.md": render_template(
            env,
            "site/index.md.j2",
            {**common, "digests": by_account, "newsletter": newsletter},
        ),
        "news.md": render_template(
            env,
            "site/news.md.j2",
            {**common, "items": items[:LATEST], "titles": style.source_titles},
        ),
        f"newsletter/{newsletter.week}.md": render_newsletter(project, newsletter)["md"],
    }
    for account in project.accounts:
        context = {**common, **digest_context(by_account[account.slug], style)}
        pages[f"accounts/{account.slug}.md"] = render_template(env, "site/account.md.j2", context)
    for topic in project.topics:
        notes = [n for n in project.notes if topic.id in n.topics and n.is_live(now.date())]
        accounts = [a for a in project.accounts if topic.id in a.topics]
        context = {**common, "topic": topic, "notes": notes, "accounts": accounts}
        pages[f"topics/{topic.id}.md"] = render_template(env, "site/topic.md.j2", context)
    for note in project.notes:
        pages[f"notes/{note.slug}.md"] = render_template(
            env, "site/note.md.j2", {**common, "note": note}
        )
    return pages
