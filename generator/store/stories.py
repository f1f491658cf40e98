"""Pure decisions of the store: is an entry another telling of a stored story, is it still pruned.

No SQL here: :mod:`.lookups` fetches the candidates, :mod:`.sql` writes the outcome.
"""

from __future__ import annotations

from bisect import insort
from datetime import UTC, datetime, timedelta

SAME_STORY_WINDOW = timedelta(days=3)
MIN_TITLE_KEY = 12  # shorter keys ("Update") never make two entries one story

# title key -> [(published, item id)], by id: stored stories an entry may be another telling of
Candidates = dict[str, list[tuple[str, str]]]


def stamp(moment: datetime) -> str:
    """How the store writes a moment: ISO 8601 in UTC to the second (sorts as text)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def still_pruned(
    entry_published: datetime | None,
    published_at: datetime,
    stored_published: datetime,
    cutoff: datetime,
) -> bool:
    """Whether an entry matching a tombstone stays out: while it is older than the prune's cut-off.

    ``published_at`` is the entry's date as it would be stored (clamped to the fetch time by the
    updater). An entry without a date of its own (none, or one in the future, so clamped) is as
    old as the item that was pruned, whose date was its first sighting; otherwise it would look
    brand new on every fetch and come straight back. An entry the feed re-dated past the cut-off
    is a new story.
    """
    dated = entry_published is not None and published_at == entry_published
    return (published_at if dated else stored_published) < cutoff


def pick_same_story(
    entry_id: str,
    title_key: str,
    published: datetime,
    stored_ids: set[str],
    candidates: Candidates,
    items_here: set[str],
) -> str | None:
    """The stored story this entry is another telling of: the same id (so the same URL), or the
    same title within :data:`SAME_STORY_WINDOW` from a feed that does not already have it."""
    if entry_id in stored_ids:
        return entry_id
    found = candidates.get(title_key) if len(title_key) >= MIN_TITLE_KEY else None
    if not found:  # most entries: no need to write the window's bounds
        return None
    low, high = stamp(published - SAME_STORY_WINDOW), stamp(published + SAME_STORY_WINDOW)
    for stored, item_id in found:
        if low <= stored <= high and item_id not in items_here:
            return item_id
    return None


def add_candidate(candidates: Candidates, title_key: str, published: str, item_id: str) -> None:
    """Make a story stored in this batch a candidate for the entries after it, in id order (the
    order the store's look-up gives, so that the first match is the same as one by one)."""
    if len(title_key) >= MIN_TITLE_KEY:
        insort(candidates.setdefault(title_key, []), (published, item_id), key=lambda c: c[1])
