"""Pure: what ``kb build`` ranked -> the site's files (Markdown pages, Atom feeds) and navigation.

Every page's size is bounded whatever the team's size: the navigation holds the sections and
their index pages, never every account or note (MkDocs repeats the navigation on every page), and
long lists (an industry's accounts, the notes) are cut into pages of :data:`PER_PAGE` rows.
"""

from __future__ import annotations

import json
import posixpath
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar
from urllib.parse import urljoin

import yaml

from ..markup import safe_link
from ..models import Account, ArchivedIssue, Digest, FeedState, Item, Project
from ..newsletter import Newsletter, week_monday
from ..parse.normalize import plain_text, shorten
from ..render import digest_style, make_environment, render_newsletter, render_template
from ..views import digest_context
from .atom import AtomEntry, atom_feed
from .health import feed_health
from .manifest import AtomLink, NavEntry, SitePages

LATEST = 50
PER_PAGE = 100
"""Rows on one list page (accounts of an industry or a rep, notes): keeps every page small."""
HOME_ACCOUNTS = 20
TOPIC_ITEMS = 20
TOPIC_ACCOUNTS = 20
FEED_ENTRIES = 20
UNCOVERED_SHOWN = 20
NO_REP = "No rep"
NEWSLETTER_FEED = "atom/newsletter.xml"
T = TypeVar("T")


@dataclass(frozen=True)
class SiteLinks:
    """How the built site addresses its pages (from ``mkdocs.yml``): absolute links in the Atom
    feeds need ``site_url``; without it they are relative to the feed, which readers resolve."""

    base_url: str = ""
    directory_urls: bool = True


@dataclass(frozen=True)
class ListPage:
    uri: str
    rows: tuple[Any, ...]
    number: int
    count: int
    first: str
    """The first page's uri: every page of a list links the others from there."""

    def page_uri(self, number: int) -> str:
        return paged_uri(self.first, number)


@dataclass(frozen=True)
class Issue:
    """A newsletter issue as the site lists it."""

    week: str
    title: str
    items: int
    notes: int

    @property
    def uri(self) -> str:
        return f"newsletters/{self.week}.md"


@dataclass(frozen=True)
class Group:
    """Accounts of one industry or one rep, with the uri of the group's first page."""

    name: str
    uri: str
    accounts: tuple[Account, ...]
    with_picks: int


def site_pages(
    project: Project,
    items: Sequence[Item],
    digests: Sequence[Digest],
    newsletter: Newsletter,
    now: datetime,
    *,
    states: Sequence[FeedState] = (),
    archive: Sequence[ArchivedIssue] = (),
    links: SiteLinks | None = None,
) -> SitePages:
    """Every generated file of the site. ``digests``: one per account of the project (what
    ``kb build`` ranked); ``states``: the feeds' health from the store; ``archive``: the
    newsletter issues already in ``content/newsletters/``."""
    links = links or SiteLinks()
    site = _Site(project, items, digests, newsletter, now, states, archive, links)
    return site.build()


class _Site:
    """One build's page assembly; holds the run's values so each page function stays small."""

    def __init__(
        self,
        project: Project,
        items: Sequence[Item],
        digests: Sequence[Digest],
        newsletter: Newsletter,
        now: datetime,
        states: Sequence[FeedState],
        archive: Sequence[ArchivedIssue],
        links: SiteLinks,
    ) -> None:
        self.project, self.items, self.newsletter, self.now = project, items, newsletter, now
        self.archive, self.links = archive, links
        self.env = make_environment(project.templates_dir)
        self.style = digest_style(project)
        self.digests = {d.account.slug: d for d in digests}
        self.topics = {t.id: t for t in project.topics}
        self.industries = _groups(
            "accounts/industry", project.accounts, lambda a: a.industry or "Other", self.digests
        )
        self.reps = _groups(
            "accounts/rep", project.accounts, lambda a: a.rep.name if a.rep else NO_REP, self.digests
        )
        self.topic_items = _items_by_topic(digests, newsletter)
        self.feed_rows = feed_health(project.feeds, states, project.accounts, items, now)
        self.files: dict[str, str] = {}
        self.issues: list[Issue] = []

    def build(self) -> SitePages:
        self.newsletters()
        self.home()
        self.news()
        self.accounts()
        self.topics_pages()
        self.notes()
        self.health()
        self.tags()
        return SitePages(
            now=self.now,
            files=self.files,
            nav=self.nav(),
            feeds=(AtomLink(NEWSLETTER_FEED, f"{self.project.settings.team}: newsletter"),),
        )

    # --- helpers -------------------------------------------------------------------------

    def page(
        self,
        uri: str,
        template: str,
        context: Mapping[str, Any],
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        if uri in self.files:
            raise ValueError(f"two generated pages share {uri}")  # a bug, never user input
        common = {
            "project": self.project,
            "now": self.now,
            "today": self.now.date(),
            "topics": self.topics,
            "href": linker(uri),
            "page_uri": uri,
        }
        text = render_template(self.env, template, {**common, **context})
        self.files[uri] = _front_matter(meta or {}) + text

    def list_pages(self, first: str, rows: Sequence[T]) -> list[ListPage]:
        count = max(1, -(-len(rows) // PER_PAGE))
        return [
            ListPage(
                paged_uri(first, n + 1),
                tuple(rows[n * PER_PAGE : (n + 1) * PER_PAGE]),
                n + 1,
                count,
                first,
            )
            for n in range(count)
        ]

    def account_list(self, kind: str, group: Group) -> None:
        """The pages listing one group's accounts (an industry's, a rep's, a topic's)."""
        for listing in self.list_pages(group.uri, group.accounts):
            context = {"kind": kind, "group": group, "listing": listing, "digests": self.digests}
            self.page(listing.uri, "site/account-list.md.j2", context)

    def link(self, uri: str, from_uri: str) -> str:
        """A link to page ``uri`` from the file ``from_uri`` (an Atom feed), as built."""
        url = page_url(uri, self.links.directory_urls)
        if self.links.base_url:
            return urljoin(self.links.base_url.rstrip("/") + "/", url)
        relative = posixpath.relpath(url or ".", posixpath.dirname(from_uri) or ".")
        return relative + "/" if url.endswith("/") and not relative.endswith("/") else relative

    # --- pages ---------------------------------------------------------------------------

    def home(self) -> None:
        week_ago = self.now - timedelta(days=7)
        fresh = [i for i in self.items if week_ago < i.published <= self.now]
        ready = sorted(
            (d for d in self.digests.values() if d.picks),
            key=lambda d: (-len(d.picks), d.account.name.casefold(), d.account.slug),
        )
        this_week = [i for i in self.issues if i.week == self.newsletter.week]
        context = {
            "newsletter": self.newsletter,
            "issue": this_week[0] if this_week else None,
            "fresh": fresh[:10],
            "fresh_count": len(fresh),
            "ready": ready[:HOME_ACCOUNTS],
            "ready_count": len(ready),
            "account_count": len(self.project.accounts),
            "failing": [row for row in self.feed_rows if row.failing],
            "titles": self.style.source_titles,
        }
        self.page("index.md", "site/index.md.j2", context)

    def news(self) -> None:
        context = {"items": self.items[:LATEST], "titles": self.style.source_titles}
        self.page("news.md", "site/news.md.j2", context)

    def accounts(self) -> None:
        index = {"industries": self.industries, "reps": self.reps}
        self.page("accounts/index.md", "site/accounts.md.j2", index)
        for kind, groups in (("Industry", self.industries), ("Rep", self.reps)):
            for group in groups:
                self.account_list(kind, group)
        industry_of = {a.slug: g for g in self.industries for a in g.accounts}
        rep_of = {a.slug: g for g in self.reps for a in g.accounts}
        for account in self.project.accounts:
            context = digest_context(self.digests[account.slug], self.style)
            context["industry_group"] = industry_of[account.slug]
            context["rep_group"] = rep_of[account.slug]
            self.page(f"accounts/{account.slug}.md", "site/account.md.j2", context)

    def topics_pages(self) -> None:
        self.page("topics/index.md", "site/topics.md.j2", {"topic_items": self.topic_items})
        today = self.now.date()
        for topic in self.project.topics:
            feed_uri = f"atom/topics/{topic.id}.xml"
            uri = f"topics/{topic.id}.md"
            recent = self.topic_items.get(topic.id, ())
            followers = tuple(
                sorted(
                    (a for a in self.project.accounts if topic.id in a.topics),
                    key=lambda a: (a.name.casefold(), a.slug),
                )
            )
            everyone = Group(
                topic.title,
                f"topics/{topic.id}/accounts.md",
                followers,
                sum(1 for a in followers if self.digests[a.slug].picks),
            )
            if len(followers) > TOPIC_ACCOUNTS:
                self.account_list("Topic", everyone)
            context = {
                "topic": topic,
                "notes": [n for n in self.project.notes if topic.id in n.topics and n.is_live(today)],
                "accounts": followers[:TOPIC_ACCOUNTS],
                "everyone": everyone,
                "items": recent,
                "titles": self.style.source_titles,
                "feed_uri": feed_uri,
            }
            meta = {"feeds": [{"uri": feed_uri, "title": f"{topic.title}: recent items"}]}
            self.page(uri, "site/topic.md.j2", context, meta)
            entries = [
                AtomEntry(
                    key=item.id,
                    title=plain_text(item.title),
                    link=_web_link(item.url),
                    updated=item.published,
                    summary=shorten(item.summary, 280),
                )
                for item in recent
            ]
            self.files[feed_uri] = atom_feed(
                namespace=f"{self.project.settings.team}/topics/{topic.id}",
                author=self.project.settings.team,
                title=f"{self.project.settings.team}: {topic.title}",
                self_link=self.link_file(feed_uri, feed_uri),
                page_link=self.link(uri, feed_uri),
                updated=self.now,
                entries=entries,
            )

    def link_file(self, uri: str, from_uri: str) -> str:
        if self.links.base_url:
            return urljoin(self.links.base_url.rstrip("/") + "/", uri)
        return posixpath.relpath(uri, posixpath.dirname(from_uri) or ".")

    def notes(self) -> None:
        ordered = sorted(self.project.notes, key=lambda n: (n.date, n.slug), reverse=True)
        for listing in self.list_pages("notes/index.md", ordered):
            self.page(listing.uri, "site/notes.md.j2", {"listing": listing})
        today = self.now.date()
        for note in self.project.notes:
            tags = [self.topics[t].title for t in note.topics if t in self.topics]
            meta = {"tags": tags} if tags and note.is_live(today) else {}
            self.page(f"notes/{note.slug}.md", "site/note.md.j2", {"note": note}, meta)

    def tags(self) -> None:
        """A listing page per topic (Material's tags plugin fills it), and an index of them: one
        listing of every note would grow with the team's notes. Only the notes digests use now
        are tagged (see :meth:`notes`), as on a topic's page."""
        live = [n for n in self.project.notes if n.is_live(self.now.date())]
        counts = {t.id: sum(1 for n in live if t.id in n.topics) for t in self.project.topics}
        self.page("tags.md", "site/tags.md.j2", {"counts": counts})
        for topic in self.project.topics:
            if counts[topic.id]:
                directive = _listing_directive(topic.title)
                context = {"topic": topic, "directive": directive}
                self.page(f"tags/{topic.id}.md", "site/tag.md.j2", context)

    def newsletters(self) -> None:
        """The archive's issues (their pages are the archive files themselves) and this week's
        issue when the archive does not hold it yet, newest first; and their Atom feed."""
        issues = {
            i.week: Issue(i.week, i.title or f"Newsletter {i.week}", len(i.items), len(i.notes))
            for i in self.archive
        }
        current = self.newsletter
        if current.week not in issues and not current.is_empty:
            rendered = render_newsletter(self.project, current)
            self.files[f"newsletters/{current.week}.md"] = rendered["md"]
            stories, notes = len(current.stories), len(current.notes)
            issues[current.week] = Issue(current.week, rendered["subject"], stories, notes)
        self.issues = sorted(issues.values(), key=lambda i: i.week, reverse=True)
        self.page("newsletters/index.md", "site/newsletters.md.j2", {"issues": self.issues})
        entries = [
            AtomEntry(
                key=issue.week,
                title=plain_text(issue.title),
                link=self.link(issue.uri, NEWSLETTER_FEED),
                updated=datetime.combine(week_monday(issue.week), time(0), UTC),
                summary=f"{_count(issue.items, 'story', 'stories')}, "
                f"{_count(issue.notes, 'note', 'notes')} from the team.",
            )
            for issue in self.issues[:FEED_ENTRIES]
        ]
        self.files[NEWSLETTER_FEED] = atom_feed(
            namespace=f"{self.project.settings.team}/newsletter",
            author=self.project.settings.team,
            title=f"{self.project.settings.team}: newsletter",
            self_link=self.link_file(NEWSLETTER_FEED, NEWSLETTER_FEED),
            page_link=self.link("newsletters/index.md", NEWSLETTER_FEED),
            updated=self.now,
            entries=entries,
        )

    def health(self) -> None:
        context = {"rows": self.feed_rows, "shown": UNCOVERED_SHOWN, "month": f"{self.now:%B %Y}"}
        self.page("feed-health.md", "site/feed-health.md.j2", context)

    def nav(self) -> tuple[NavEntry, ...]:
        topics = tuple(NavEntry(t.title, f"topics/{t.id}.md") for t in self.project.topics)
        return (
            NavEntry("Home", "index.md"),
            NavEntry("Latest news", "news.md"),
            NavEntry("Accounts", "accounts/index.md"),
            NavEntry("Topics", children=(NavEntry("Topics", "topics/index.md"), *topics)),
            NavEntry("Notes", "notes/index.md"),
            NavEntry("Newsletter", "newsletters/index.md"),
            NavEntry("Feed health", "feed-health.md"),
            NavEntry("Tags", "tags.md"),
        )


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def paged_uri(first: str, number: int) -> str:
    """``notes/index.md``, then ``notes/index/page/2.md``... (a folder no slug can take)."""
    return first if number == 1 else f"{first[:-3]}/page/{number}.md"


def page_url(uri: str, directory_urls: bool) -> str:
    """Where MkDocs writes the page of ``uri`` (``topics/x.md``), relative to the site root."""
    stem = uri[:-3]
    if not directory_urls:
        return f"{stem}.html"
    if stem == "index":
        return ""
    if stem.endswith("/index"):
        return stem[: -len("index")]
    return f"{stem}/"


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.casefold()).strip("-") or "group"


def _groups(
    base: str,
    accounts: Iterable[Account],
    key: Callable[[Account], str],
    digests: Mapping[str, Digest],
) -> tuple[Group, ...]:
    """Accounts grouped by ``key``, groups by name, each with a slug no other group takes."""
    members: dict[str, list[Account]] = {}
    for account in accounts:
        members.setdefault(key(account), []).append(account)
    groups, taken = [], set()
    for name in sorted(members, key=lambda n: (n.casefold(), n)):
        slug = slugify(name)
        candidate, n = slug, 1
        while candidate in taken:
            n += 1
            candidate = f"{slug}-{n}"
        taken.add(candidate)
        ordered = tuple(sorted(members[name], key=lambda a: (a.name.casefold(), a.slug)))
        ready = sum(1 for a in ordered if digests[a.slug].picks)
        groups.append(Group(name, f"{base}/{candidate}.md", ordered, ready))
    return tuple(groups)


def _items_by_topic(
    digests: Iterable[Digest], newsletter: Newsletter
) -> dict[str, tuple[Item, ...]]:
    """Recent items matched to each topic: what the ranker picked under it for some account,
    and the newsletter's stories filed under it; newest first."""
    found: dict[str, dict[str, Item]] = {}
    for digest in digests:
        for pick in digest.picks:
            for topic in pick.topics:
                found.setdefault(topic, {})[pick.item.id] = pick.item
    for section in newsletter.sections:
        if section.topic is not None:
            for story in section.stories:
                found.setdefault(section.topic.id, {})[story.item.id] = story.item
    return {
        topic: tuple(sorted(items.values(), key=lambda i: (i.published, i.id), reverse=True))[
            :TOPIC_ITEMS
        ]
        for topic, items in found.items()
    }


def linker(from_uri: str) -> Callable[[str], str]:
    """``href(to)`` in a template: a relative Markdown link MkDocs resolves and checks.

    Both are clean relative paths of the docs folder, so plain string work does what
    ``posixpath.relpath`` does, without its file-system normalization (a site has thousands).
    """
    folder = from_uri.split("/")[:-1]

    def href(to: str) -> str:
        target = to.split("/")
        common = 0
        while common < min(len(folder), len(target) - 1) and folder[common] == target[common]:
            common += 1
        return "/".join([".."] * (len(folder) - common) + target[common:])

    return href


def _listing_directive(tag: str) -> str:
    """Material's tags listing of one tag; the tag is quoted (JSON is YAML) and cannot end the
    HTML comment early."""
    quoted = json.dumps(tag, ensure_ascii=False).replace(">", "\\u003e")
    return f"<!-- material/tags {{ include: [{quoted}] }} -->"


def _front_matter(meta: Mapping[str, Any]) -> str:
    if not meta:
        return ""
    return "---\n" + yaml.safe_dump(dict(meta), allow_unicode=True, sort_keys=True) + "---\n\n"


def _web_link(url: str) -> str:
    return safe_link(url, {})
