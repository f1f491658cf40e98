"""``kb import accounts``: accounts and contacts from a CRM export."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ..crm.accounts import Change
from .common import Context, echo, handle_errors

csv_file = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group(name="import")
def import_() -> None:
    """Bring records in from other systems (a CRM's exports)."""


@import_.command()
@click.argument("accounts_file", metavar="FILE.csv", type=csv_file)
@click.option("--contacts", "contacts_file", type=csv_file, help="The CRM's contacts export.")
@click.option(
    "--mapping",
    "mapping_file",
    type=csv_file,
    help="Column mapping (default: crm.yml in the project, if there is one).",
)
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Write the valid rows; report the others.")
@click.pass_obj
@handle_errors
def accounts(
    obj: Context,
    accounts_file: Path,
    contacts_file: Path | None,
    mapping_file: Path | None,
    dry_run: bool,
    skip_invalid: bool,
) -> None:
    """Create or update content/accounts/ from a HubSpot or Salesforce export.

    The CRM's fields (name, industry, website, owner, contacts) are updated; the team's
    (problems, topics, keywords, exclude, comments) are never touched. Accounts missing from
    the export are reported, never deleted.
    """
    root = obj.root
    from ..crm import apply_plan, plan_accounts_import, state_dir_of
    from ..folders import project_lock

    result = plan_accounts_import(
        root, accounts_file, contacts_file, mapping_file, skip_invalid=skip_invalid
    )
    plan = result.plan
    for problem in (*result.skipped, *plan.warnings):
        echo(f"{problem.path}:{problem.line}: warning: {problem.message}", err=True)
    for change in plan.changes:
        if dry_run or change.action != "unchanged":
            _show(change, root, dry_run)
    for gone in plan.missing:
        name = str(gone.data.get("name", ""))[:80]
        echo(f"not in the export (kept): {_rel(gone.path, root)}  {name}")
    if not dry_run:
        with project_lock(state_dir_of(root)):
            apply_plan(result)
    verb = ("to create", "to change") if dry_run else ("created", "changed")
    summary = (
        f"{len(plan.changes)} accounts from {result.crm}: {plan.count('create')} {verb[0]}, "
        f"{plan.count('change')} {verb[1]}, {plan.count('unchanged')} unchanged"
    )
    if plan.missing:
        summary += f"; {len(plan.missing)} not in the export"
    if result.skipped:
        summary += f"; {len(result.skipped)} invalid rows skipped"
    echo(summary + (". Nothing written (--dry-run)." if dry_run else "."))


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _show(change: Change, root: Path, dry_run: bool) -> None:
    action = (
        change.action
        if dry_run
        else {"create": "created", "change": "changed"}.get(change.action, change.action)
    )
    echo(f"{action:<9} {_rel(change.path, root)}  {change.name[:80]}")
    for detail in change.details:
        echo(f"          {detail}")
