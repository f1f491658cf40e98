"""The ``kb`` command: the only package that knows about click and rich.

Every :class:`~generator.exceptions.KbError` becomes a clean message on stderr and an exit
status: 1 for problems in the project or a run, 2 for a command used wrongly. Text that came
from a feed is printed as plain text (never as rich markup), already stripped of control
characters by the parser.
"""

from __future__ import annotations

from pathlib import Path

import click

from .. import __version__
from .common import Context
from .digests import digest, due, history
from .feeds import feeds, fetch, items, prune
from .imports import import_
from .newsletter import newsletter
from .project import build, check, init


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--project",
    "-p",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The project folder (holding feeds/ and content/).",
)
@click.version_option(__version__, prog_name="kb")
@click.pass_context
def main(ctx: click.Context, project: Path) -> None:
    """Knowledge Broker: insight for every customer, from industry news and your team's notes."""
    ctx.obj = Context(project)


for command in (init, check, fetch, feeds, items, digest, due, history, newsletter, prune, build):
    main.add_command(command)
main.add_command(import_)

__all__ = ["main"]
