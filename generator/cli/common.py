"""What every command shares: the consoles, error handling, and parsing of common options."""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from ..exceptions import ConfigErrors, KbError, UsageError
from ..lazy import lazy_module
from ..printable import printable

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from .. import pipeline
    from ..models import Project
else:
    pipeline = lazy_module("generator.pipeline")

F = TypeVar("F", bound=Callable[..., Any])


class _LazyConsole:
    """A rich console made when first used: importing rich costs every command 20 ms, and a
    rep's digest on demand prints plain text only."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return getattr(self._console, name)


err = cast("Console", _LazyConsole(stderr=True, highlight=False, soft_wrap=True))
out = cast("Console", _LazyConsole(highlight=False, soft_wrap=True))


def echo(message: str, err: bool = False) -> None:
    """Print a line of text that may hold what came from a feed, a server or a project file,
    without its control characters: the one way such text reaches the terminal."""
    click.echo(printable(message), err=err)


def plain(text: str) -> Text:
    """A rich text cell or line, printable and never read as rich markup."""
    from rich.text import Text

    return Text(printable(text))


class Context:
    """What the ``kb`` group hands its commands: where the project is, and its store's URL when
    ``--store`` or ``KB_STORE`` overrides kb.yml's ``store:``."""

    def __init__(self, root: Path, store: str | None = None) -> None:
        self.root = root
        self.store = store

    def project(self, only: Sequence[str] | None = None) -> Project:
        """The project; ``only``: with just these accounts read (a command about a few named
        accounts needs neither the others' files nor their validation)."""
        return pipeline.with_store(pipeline.open_project(self.root, only), self.store)


def warn_sent_first(lost: Sequence[pipeline.SentFirst]) -> None:
    """Tell the rep which items of a digest another run recorded as sent first (that run won)."""
    for miss in lost:
        titles = "; ".join(item.title for item in miss.items)
        count = len(miss.items)
        click.echo(
            f"warning: {miss.path}: {count} item{'s' if count != 1 else ''} already recorded as"
            f" sent to {miss.account} by another run, not recorded again: {titles}",
            err=True,
        )


def handle_errors(func: F) -> F:
    """Turn every error into a message and an exit status; a traceback is a bug."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigErrors as e:
            for error in e.errors:
                echo(str(error), err=True)
            count = len(e.errors)
            plural = "s" if count != 1 else ""
            echo(f"{count} problem{plural} found; nothing was written.", err=True)
            sys.exit(1)
        except UsageError as e:
            echo(f"error: {e}", err=True)
            sys.exit(2)
        except KbError as e:
            echo(f"error: {e}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            echo("interrupted; what was already stored is kept: run again to finish", err=True)
            sys.exit(130)
        except Exception as e:
            if os.environ.get("KB_DEBUG"):
                raise
            echo(f"internal error: {type(e).__name__}: {e} (KB_DEBUG=1 shows more)", err=True)
            sys.exit(70)

    return wrapper  # type: ignore[return-value]


def parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    from ..config import parse_instant

    try:
        return parse_instant(value)
    except ValueError as e:
        raise UsageError(f"--now must be an ISO 8601 date or time: {e}") from e


AGE = re.compile(r"(\d+)\s*([hdw])")


def parse_age(value: str, now: datetime) -> datetime | None:
    """An age such as ``90d``, ``12h`` or ``2w`` as the moment that long before ``now``."""
    match = AGE.fullmatch(value.strip())
    if not match:
        return None
    unit = {"h": "hours", "d": "days", "w": "weeks"}[match.group(2)]
    try:
        return now - timedelta(**{unit: int(match.group(1))})
    except OverflowError as e:
        raise UsageError(f"'{value}' reaches further back than the calendar goes") from e


def parse_since(value: str | None, now: datetime) -> datetime | None:
    """``--since`` takes a date/time, or an age such as ``7d``, ``12h`` or ``2w``."""
    if value is None:
        return None
    moment = parse_age(value, now)
    if moment is not None:
        return moment
    from ..config import parse_instant

    try:
        return parse_instant(value)
    except ValueError as e:
        raise UsageError(
            f"expected a date (2026-11-01) or an age (7d, 12h, 2w), got '{value}'"
        ) from e


def parse_shard(value: str | None) -> tuple[int, int]:
    if value is None:
        return (1, 1)
    match = re.fullmatch(r"(\d+)/(\d+)", value.strip())
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise UsageError(f"--shard takes K/N with 1 <= K <= N, such as 2/4, got '{value}'")
    return int(match.group(1)), int(match.group(2))


def iso(moment: datetime | None) -> str | None:
    from ..views import iso_z

    return iso_z(moment) if moment is not None else None


def print_json(data: Any) -> None:
    click.echo(printable(json.dumps(data, ensure_ascii=False, indent=2)))


now_option = click.option(
    "--now",
    "now_text",
    metavar="ISO-8601",
    help="Fix 'now' (default: kb.yml's now, else the clock).",
)
format_option = click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
jobs_option = click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1, max=256),
    default=None,
    help="Worker processes for ranking and rendering (default: the CPU count; one process "
    "below 64 accounts). Outputs are the same whatever it is.",
)
