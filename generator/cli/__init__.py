"""The ``kb`` command: the only package that knows about click and rich.

Every :class:`~generator.exceptions.KbError` becomes a clean message on stderr and an exit
status: 1 for problems in the project or a run, 2 for a command used wrongly. Text that came
from a feed is printed as plain text (never as rich markup), already stripped of control
characters by the parser.
"""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from .. import __version__
from ..exceptions import UsageError
from .common import Context, handle_errors
from .digests import digest, due, history
from .feeds import feeds, fetch, items, prune
from .imports import import_
from .newsletter import newsletter
from .project import build, check, init
from .store import store_group


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--project",
    "-p",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The project folder (holding feeds/ and content/).",
)
@click.option(
    "--store",
    metavar="URL",
    envvar="KB_STORE",
    show_envvar=True,
    help="The store: postgresql://user@host:port/db or sqlite:///path (default: kb.yml's"
    " store, else SQLite in the state folder). The password comes from PGPASSWORD or ~/.pgpass.",
)
@click.version_option(__version__, prog_name="kb")
@click.pass_context
@handle_errors
def main(ctx: click.Context, project: Path, store: str | None) -> None:
    """Knowledge Broker: insight for every customer, from industry news and your team's notes."""
    typed = ctx.get_parameter_source("store") == ParameterSource.COMMANDLINE
    if store and typed and _has_password(store):
        raise UsageError(
            "--store: a password on the command line is visible to every user of this machine;"
            " set PGPASSWORD or a ~/.pgpass line instead"
        )
    ctx.obj = Context(project, store)


def _has_password(url: str) -> bool:
    from ..store.location import has_password  # SQLAlchemy parses the URL: import it only then

    return has_password(url)


for command in (
    init,
    check,
    fetch,
    feeds,
    items,
    digest,
    due,
    history,
    newsletter,
    prune,
    build,
    store_group,
):
    main.add_command(command)
main.add_command(import_)

__all__ = ["main"]
