"""Plain typed data passed between the pipeline stages.

Names say which side of which boundary a value lives on: ``EntryData`` is what the parser
produces, ``Item`` what the store hands back, ``Pick`` what the ranker chose, ``Digest`` what the
renderer receives. Every datetime is timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

Day = date  # a field below is named "date"; this keeps the type nameable inside that class

# --- what the user edits -------------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Feed:
    name: str
    url: str
    title: str = ""
    topics: tuple[str, ...] = ()
    weight: float = 1.0

    @property
    def is_remote(self) -> bool:
        return self.url.startswith(("http://", "https://"))

    @property
    def display_title(self) -> str:
        return self.title or self.name


HONORIFICS = frozenset({"dr", "mr", "mrs", "ms", "mx", "prof", "sir", "dame"})


def address_name(full_name: str) -> str:
    """What to call someone in a greeting: "Dana" for Dana Whitfield, "Dr. Rao" for Dr. Anand
    Rao (a title goes with the family name)."""
    words = full_name.split()
    if len(words) > 1 and words[0].rstrip(".").casefold() in HONORIFICS:
        return f"{words[0]} {words[-1]}"
    return words[0] if words else ""


@dataclass(frozen=True)
class Stakeholder:
    name: str
    role: str = ""
    email: str = ""
    cares_about: tuple[str, ...] = ()
    crm_id: str = ""

    @property
    def first_name(self) -> str:
        return address_name(self.name)


@dataclass(frozen=True)
class Rep:
    name: str
    email: str = ""


@dataclass(frozen=True)
class Account:
    slug: str
    name: str
    industry: str = ""
    problems: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    stakeholders: tuple[Stakeholder, ...] = ()
    rep: Rep | None = None
    crm_id: str = ""
    """The account's record id in the team's CRM (``kb import accounts``)."""
    website: str = ""

    def stakeholder(self, name: str) -> Stakeholder | None:
        """The person named by full name, email, or a first name no one else here shares."""
        wanted = name.strip().casefold()
        for person in self.stakeholders:
            if wanted in (person.name.casefold(), person.email.casefold()):
                return person
        by_first = [p for p in self.stakeholders if p.name.casefold().split()[:1] == [wanted]]
        by_first = by_first or [p for p in self.stakeholders if p.first_name.casefold() == wanted]
        return by_first[0] if len(by_first) == 1 else None


@dataclass(frozen=True)
class Vocabulary:
    """A project's own words for the ranker (``content/lexicon.yml``), over the package's.

    ``related``: groups of words about one idea; ``senses``: an ambiguous word -> (sense name,
    cue words) pairs; ``general``: words any line of business uses. Tuples, so a vocabulary is
    hashable and the lexicon built from it is cached.
    """

    related: tuple[tuple[str, ...], ...] = ()
    senses: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...] = ()
    general: tuple[str, ...] = ()


NOTE_KINDS = ("insight", "question", "case-study", "product")
DIGEST_FORMATS = ("md", "html", "txt", "json", "eml", "note", "call")
ADHOC_SLUG = "adhoc"
"""The slug of the transient account of ``kb digest --problem``; no account file may use it."""


@dataclass(frozen=True)
class Note:
    slug: str
    title: str
    date: Day
    body: str
    topics: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    kind: str = "insight"
    expires: Day | None = None
    path: Path | None = None

    def is_live(self, today: Day) -> bool:
        return self.date <= today and not self.has_expired(today)

    def has_expired(self, today: Day) -> bool:
        return self.expires is not None and today > self.expires


@dataclass(frozen=True)
class ArchivedItem:
    url: str
    title: str


@dataclass(frozen=True)
class ArchivedIssue:
    """One newsletter issue as archived in ``content/newsletters/YYYY-Www.md``: what it carried
    (so no later issue repeats it) and its Markdown body (what is sent, as an editor left it)."""

    week: str
    generated_at: datetime | None
    title: str
    items: tuple[ArchivedItem, ...]
    notes: tuple[str, ...]
    body: str
    path: Path


@dataclass(frozen=True)
class FetchSettings:
    concurrency: int = 8
    per_host: int = 2
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    deadline: float = 60.0
    max_bytes: int = 20 * 1024 * 1024
    max_redirects: int = 5
    max_backoff_hours: float = 24.0
    # Hosts, addresses or networks (10.0.0.0/8) that may be private: intranet feeds. Every other
    # loopback, private, link-local or reserved address is refused (generator.sources.guard).
    allow_private: tuple[str, ...] = ()


@dataclass(frozen=True)
class RankingSettings:
    threshold: float = 0.35
    max_items: int = 8
    half_life_days: float = 14.0
    max_age_days: int = 60
    max_share_per_source: float = 0.5
    max_share_per_topic: float = 0.6
    judge: bool = True
    """Ask the judge where the field question is unsure (see generator/relevance/judge.py):
    more of the stories that matter, fewer keyword traps and items for accounts nothing concerns
    (bench/RESULTS.md, "judge25");
    false asks for one of the field's words there instead."""


@dataclass(frozen=True)
class DigestSettings:
    formats: tuple[str, ...] = ("md", "html")
    utm: dict[str, str] = field(default_factory=dict)
    intro: str = ""


SMTP_SECURITY = {"starttls": 587, "tls": 465, "none": 25}
"""How the newsletter talks to its SMTP server, and the port each way uses by default."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str = ""
    port: int = 587
    security: str = "starttls"
    user: str = ""
    timeout: float = 30.0


@dataclass(frozen=True)
class NewsletterSettings:
    """``newsletter:`` in kb.yml. Delivery is off until ``from``, recipients and ``smtp.host``
    are all set; the password is never here (only in ``KB_SMTP_PASSWORD``)."""

    review: bool = False
    sender: str = ""
    recipients: tuple[str, ...] = ()
    recipients_file: Path | None = None
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    unsubscribe: str = ""

    @property
    def delivery(self) -> bool:
        return bool(self.sender and (self.recipients or self.recipients_file) and self.smtp.host)


@dataclass(frozen=True)
class Settings:
    now: datetime | None = None
    state_dir: Path = Path(".kb")
    store: str = ""  # a store URL; empty: SQLite under state_dir (see generator.store.location)
    out_dir: Path = Path("build")
    site_dir: Path = Path("site")
    team: str = "Knowledge Broker"
    fetch: FetchSettings = field(default_factory=FetchSettings)
    ranking: RankingSettings = field(default_factory=RankingSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    newsletter: NewsletterSettings = field(default_factory=NewsletterSettings)


@dataclass(frozen=True)
class Project:
    root: Path
    settings: Settings
    feeds: tuple[Feed, ...]
    topics: tuple[Topic, ...]
    accounts: tuple[Account, ...]
    notes: tuple[Note, ...]
    newsletters: tuple[ArchivedIssue, ...] = ()
    """The archive of past issues (``content/newsletters/``), oldest first."""
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    warnings: tuple[str, ...] = ()
    """``path:line: warning: ...`` for what loads but deserves a look (``kb check`` prints them)."""

    @property
    def feeds_dir(self) -> Path:
        return self.root / "feeds"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def state_dir(self) -> Path:
        return self.root / self.settings.state_dir

    @property
    def out_dir(self) -> Path:
        return self.root / self.settings.out_dir

    @property
    def site_dir(self) -> Path:
        return self.root / self.settings.site_dir

    def account(self, slug: str) -> Account | None:
        return next((a for a in self.accounts if a.slug == slug), None)

    def feed(self, name: str) -> Feed | None:
        return next((f for f in self.feeds if f.name == name), None)

    def topic(self, topic_id: str) -> Topic | None:
        return next((t for t in self.topics if t.id == topic_id), None)


# --- what the parser produces, what the store keeps ---------------------------------------


@dataclass(frozen=True)
class EntryData:
    """One feed entry, parsed and normalized, not yet stored."""

    feed: str
    id: str
    url: str
    title: str
    summary: str
    summary_html: str
    published: datetime | None
    author: str = ""
    categories: tuple[str, ...] = ()
    # Filled in by the updater (generator.update.keyed), so the store needs no normalizer:
    title_key: str = ""  # the title reduced to casefolded words: "the same story told twice"
    published_at: datetime | None = None  # ``published``, missing/future -> the fetch time


@dataclass(frozen=True)
class Item:
    """A stored story, possibly reached through several feeds (``sources``)."""

    id: str
    url: str
    title: str
    summary: str
    summary_html: str
    published: datetime
    first_seen: datetime
    sources: tuple[str, ...]
    author: str = ""
    categories: tuple[str, ...] = ()

    @property
    def source(self) -> str:
        return self.sources[0] if self.sources else ""


@dataclass(frozen=True)
class FeedState:
    """A feed's health as the store remembers it."""

    name: str
    url: str
    status: str = "new"
    last_fetch: datetime | None = None
    last_success: datetime | None = None
    failures: int = 0
    next_fetch: datetime | None = None
    last_error: str = ""
    etag: str = ""
    last_modified: str = ""
    item_count: int = 0
    moved_to: str = ""
    discovered: str = ""  # the feed an HTML page at ``url`` pointed to, fetched directly since


@dataclass(frozen=True)
class SentRecord:
    account: str
    item_id: str
    url: str
    title: str
    sent_at: datetime
    format: str


# --- what the ranker chooses, what the renderer receives -------------------------------------


@dataclass(frozen=True)
class Pick:
    """An item chosen for an account, with its score and the reasons a person can read."""

    item: Item
    score: float
    why: tuple[str, ...]
    problem: str = ""
    topics: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    """The account's topic phrases and keywords the item mentions, as the team wrote them."""


@dataclass(frozen=True)
class NotePick:
    note: Note
    why: tuple[str, ...]
    problem: str = ""


@dataclass(frozen=True)
class Digest:
    account: Account
    generated_at: datetime
    picks: tuple[Pick, ...]
    notes: tuple[NotePick, ...] = ()
    stakeholder: Stakeholder | None = None
    reason: str = ""
    history: tuple[SentRecord, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.picks and not self.notes


@dataclass(frozen=True)
class FeedUpdate:
    """What a fetch asks the store to write for one feed, in one transaction."""

    name: str
    url: str
    fetched_at: datetime
    status: str
    entries: tuple[EntryData, ...] = ()
    etag: str = ""
    last_modified: str = ""
    error: str = ""
    failures: int = 0
    next_fetch: datetime | None = None
    moved_to: str = ""
    discovered: str = ""  # remembered on success; a failure keeps what was remembered

    @property
    def succeeded(self) -> bool:
        return self.status in ("ok", "not-modified")
