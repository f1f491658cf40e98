"""``kb store info|export|import``: the store itself, whichever backend holds it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..lazy import lazy_module
from .common import Context, format_option, handle_errors, out, print_json

if TYPE_CHECKING:
    from .. import pipeline
else:
    pipeline = lazy_module("generator.pipeline")

file_argument = click.argument("file", type=click.Path(dir_okay=False, path_type=Path))


@click.group("store")
def store_group() -> None:
    """The store: where it is, what it holds, and moving it (SQLite <-> PostgreSQL)."""


@store_group.command("info")
@format_option
@click.pass_obj
@handle_errors
def info(obj: Context, fmt: str) -> None:
    """Print the backend, URL (never the password), schema version and row counts."""
    with pipeline.opened_store(obj.project()) as store:
        found = store.info()
    if fmt == "json":
        print_json(
            {"backend": found.backend, "url": found.url, "schema_version": found.version,
             "rows": found.counts}
        )  # fmt: skip
        return
    click.echo(f"backend: {found.backend}\nstore: {found.url}\nschema version: {found.version}")
    from rich.table import Table

    table = Table("table", "rows", box=None, pad_edge=False)
    for name, count in found.counts.items():
        table.add_row(name, str(count))
    out.print(table)


@store_group.command("export")
@file_argument
@click.pass_obj
@handle_errors
def export(obj: Context, file: Path) -> None:
    """Write the whole store to FILE as JSON Lines (every table; stable order)."""
    project = obj.project()
    with pipeline.opened_store(project) as store:
        from ..store.transfer import write_export

        count = write_export(store, file)
    click.echo(f"exported {count} rows from {pipeline.store_location(project).shown} to {file}",
               err=True)  # fmt: skip


@store_group.command("import")
@file_argument
@click.option(
    "--merge",
    is_flag=True,
    help="Import into a store that holds data: rows it already has are kept as they are.",
)
@click.pass_obj
@handle_errors
def import_(obj: Context, file: Path, merge: bool) -> None:
    """Load FILE (from ``kb store export``) into the store, in one transaction.

    The store must be empty unless --merge is given.
    """
    project = obj.project()
    with pipeline.opened_store(project) as store:
        from ..store.transfer import read_export

        count = store.load(read_export(file), merge=merge)
    click.echo(f"imported {count} rows from {file} into {pipeline.store_location(project).shown}",
               err=True)  # fmt: skip
