"""Feed health for the site: how each feed is doing and whom its failure leaves uncovered. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..models import Account, Feed, FeedState, Item
from ..parse.normalize import plain_text

HEALTHY = ("ok", "not-modified")
FAILING = ("error", "gone")


@dataclass(frozen=True)
class FeedHealth:
    feed: Feed
    status: str
    last_success: datetime | None
    last_error: str
    """One line of plain text: no markup, no control characters (it may quote a server)."""
    items_this_month: int
    uncovered: tuple[Account, ...]
    """Accounts that lose coverage while the feed fails: they follow a topic this feed carries
    and no healthy feed does. Empty for a healthy feed."""

    @property
    def failing(self) -> bool:
        return self.status in FAILING


def feed_health(
    feeds: Sequence[Feed],
    states: Sequence[FeedState],
    accounts: Sequence[Account],
    items: Sequence[Item],
    now: datetime,
) -> list[FeedHealth]:
    """One row per configured feed, failing feeds first, then by name."""
    by_name = {s.name: s for s in states}
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    counts: dict[str, int] = {}
    for item in items:
        if month_start <= item.published <= now:
            for source in item.sources:
                counts[source] = counts.get(source, 0) + 1
    healthy_topics: dict[str, set[str]] = {}
    for feed in feeds:
        state = by_name.get(feed.name)
        if state is not None and state.status in HEALTHY:
            for topic in feed.topics:
                healthy_topics.setdefault(topic, set()).add(feed.name)
    rows = []
    for feed in feeds:
        state = by_name.get(feed.name) or FeedState(feed.name, feed.url)
        uncovered: tuple[Account, ...] = ()
        if state.status in FAILING:
            lost = {t for t in feed.topics if not healthy_topics.get(t, set()) - {feed.name}}
            uncovered = tuple(a for a in accounts if lost.intersection(a.topics))
        rows.append(
            FeedHealth(
                feed=feed,
                status=state.status,
                last_success=state.last_success,
                last_error=plain_text(state.last_error) if state.status not in HEALTHY else "",
                items_this_month=counts.get(feed.name, 0),
                uncovered=uncovered,
            )
        )
    return sorted(rows, key=lambda r: (not r.failing, r.feed.name))
