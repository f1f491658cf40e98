"""One error root, :class:`KbError`; each subclass names the resource it concerns.

The CLI turns any :class:`KbError` into a clean message and a non-zero exit; a traceback that
reaches a user is a bug.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class KbError(Exception):
    """Root of every error Knowledge Broker raises on purpose."""


class ConfigError(KbError):
    """A problem in a file the user edits, located as ``path:line``."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = Path(path)
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        return f"{where}: {self.message}"


class ConfigErrors(KbError):
    """Every problem found while loading a project, reported together."""

    def __init__(self, errors: Iterable[ConfigError]) -> None:
        self.errors = sorted(errors, key=lambda e: (str(e.path), e.line or 0, e.message))
        super().__init__("\n".join(str(e) for e in self.errors))


class FeedError(KbError):
    """A feed could not be fetched or parsed; carries the feed's name."""

    def __init__(self, feed: str, reason: str) -> None:
        self.feed = feed
        self.reason = reason
        super().__init__(f"feed {feed}: {reason}")


class FetchError(FeedError):
    """Getting a feed's bytes failed (network, HTTP status, limits)."""


class RetryLater(FetchError):
    """The server asked us to come back later (429/503), maybe saying when."""

    def __init__(self, feed: str, reason: str, retry_after: float | None) -> None:
        super().__init__(feed, reason)
        self.retry_after = retry_after


class Gone(FetchError):
    """410 Gone: the feed is dead and is not fetched again."""


class NotFound(FetchError):
    """404 Not Found: an ordinary failure, but a discovered feed is then looked for again."""


class ParseError(FeedError):
    """A feed's bytes could not be turned into items."""


class StoreError(KbError):
    """The store could not be opened, migrated, read or written."""


class RenderError(KbError):
    """A template is missing or failed to render."""


class UsageError(KbError):
    """A command was called with arguments that cannot work (unknown account, bad date...)."""


class EncoderError(KbError):
    """The sentence encoder's model files are missing or cannot be loaded."""
