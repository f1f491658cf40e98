"""``kb import accounts``: accounts and contacts from a CRM's export files into account files.

Stages, in order: :mod:`.exports` reads a CSV and knows the CRMs' column names, :mod:`.mapping`
reads the project's own column names, :mod:`.records` turns rows into records (every bad row
reported with its line), :mod:`.accounts` decides each file's new text. Nothing is written until
the whole import is known to be valid (or ``skip_invalid`` says to write the valid rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ..exceptions import ConfigError, ConfigErrors
from ..outputs import atomic_write_many
from .accounts import SAFE_LOADER, Existing, Plan, plan_import, read_accounts, write_cache
from .exports import CrmAccount, CrmContact, detect, read_export
from .mapping import MAPPING_FILE, load_mapping
from .records import accounts_of, contacts_of

ACCOUNTS_DIR = Path("content") / "accounts"
CACHE_FILE = "crm-accounts.json"
TOPICS_FILE = Path("content") / "topics.yml"


@dataclass(frozen=True)
class ImportPlan:
    plan: Plan
    skipped: tuple[ConfigError, ...]
    """Rows left out under ``skip_invalid``."""
    crm: str
    existing: tuple[Existing, ...]
    cache: Path


def plan_accounts_import(
    root: Path,
    accounts_file: Path,
    contacts_file: Path | None = None,
    mapping_file: Path | None = None,
    *,
    skip_invalid: bool = False,
) -> ImportPlan:
    """Read the exports and the account files; decide every change. Writes nothing.

    Raises :class:`ConfigErrors` with every problem found unless ``skip_invalid`` (then rows
    with problems are left out and listed in ``skipped``; a problem with a whole file is still
    fatal).
    """
    if mapping_file is None and (root / MAPPING_FILE).is_file():
        mapping_file = root / MAPPING_FILE
    mapping = load_mapping(mapping_file)
    accounts_export = read_export(accounts_file)
    accounts, row_errors = accounts_of(accounts_export, mapping)
    _fatal(row_errors)
    contacts: list[CrmContact] | None = None
    if contacts_file is not None:
        contacts, contact_errors = contacts_of(read_export(contacts_file), mapping)
        _fatal(contact_errors)
        row_errors += contact_errors
    accounts, topic_errors = _known_topics(root, accounts, accounts_file)
    row_errors += topic_errors
    cache = state_dir_of(root) / CACHE_FILE
    existing, file_errors = read_accounts(root / ACCOUNTS_DIR, cache)
    layout = detect(accounts_export, "accounts")
    crm = layout.crm if layout else "CRM"
    plan, plan_errors = plan_import(
        root / ACCOUNTS_DIR,
        crm,
        accounts,
        contacts,
        existing,
        contacts_file or Path("contacts.csv"),
    )
    if file_errors or plan_errors or (row_errors and not skip_invalid):
        raise ConfigErrors([*file_errors, *plan_errors, *row_errors])
    return ImportPlan(plan, tuple(row_errors), crm, tuple(existing), cache)


def state_dir_of(root: Path) -> Path:
    """Where kb keeps its state (``state_dir`` in kb.yml, default ``.kb``)."""
    try:
        settings = yaml.load((root / "kb.yml").read_text(encoding="utf-8-sig"), Loader=SAFE_LOADER)
        folder = settings.get("state_dir") if isinstance(settings, dict) else None
    except (OSError, yaml.YAMLError):
        folder = None
    return root / (folder if isinstance(folder, str) and folder.strip() else ".kb")


def _fatal(errors: list[ConfigError]) -> None:
    """Problems with the file as a whole (line 1: its header) stop the import at once."""
    header = [e for e in errors if e.line in (None, 1)]
    if header:
        raise ConfigErrors(header)


def _known_topics(
    root: Path, accounts: list[CrmAccount], source: Path
) -> tuple[list[CrmAccount], list[ConfigError]]:
    """Mapped topics must be ids from content/topics.yml, as ``kb check`` will demand."""
    if not any("topics" in a.lists for a in accounts):
        return accounts, []
    try:
        raw = yaml.load((root / TOPICS_FILE).read_text(encoding="utf-8-sig"), Loader=SAFE_LOADER)
        ids = {str(t.get("id")) for t in raw.get("topics", []) if isinstance(t, dict)}
    except (OSError, yaml.YAMLError, AttributeError):
        ids = set()
    kept: list[CrmAccount] = []
    errors: list[ConfigError] = []
    for account in accounts:
        unknown = [t for t in account.lists.get("topics", ()) if t not in ids]
        if unknown:
            errors.append(
                ConfigError(
                    source,
                    account.line,
                    f"record {account.crm_id}: unknown topic id '{unknown[0][:80]}' "
                    f"(topics are the ids in {TOPICS_FILE})",
                )
            )
        else:
            kept.append(account)
    return kept, errors


def apply_plan(result: ImportPlan) -> list[Path]:
    """Write every created or changed file, each atomically; return their paths."""
    changes = result.plan.changes
    outputs = [(c.path, c.text) for c in changes if c.action in ("create", "change")]
    atomic_write_many(outputs)
    written = [path for path, _ in outputs]
    folder = result.existing[0].path.parent if result.existing else None
    if folder is not None:
        write_cache(result.cache, folder, result.existing, set(written))
    return written


__all__ = ["ImportPlan", "apply_plan", "plan_accounts_import", "state_dir_of"]
