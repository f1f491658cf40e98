"""CRM records -> account files: what to create, what to change field by field, what to leave.

The CRM owns an account's ``crm_id``, ``name``, ``industry``, ``website``, ``rep`` and the
stakeholders it knows (those with a ``crm_id``), plus any list field the mapping names
(``problems``, ``keywords``...). Everything else is the team's: the problems in the customer's
own words, topics, keywords, exclusions, a stakeholder's ``cares_about``, hand-added people and
every comment. Rules a re-import follows:

- An account is found by its ``crm_id``, so a renamed company updates the same file. A file
  without one is adopted when its name or web domain matches the record (it gains the id).
- A new account's file is named from the record id (``hs-<id>`` for HubSpot, ``sf-<id>`` for
  Salesforce, ``crm-<id>`` otherwise): never from a name, which can change.
- An empty cell never erases a value in the file: the CRM had nothing to say.
- With a contacts export, a stakeholder whose ``crm_id`` is no longer in it has left and is
  removed; people without a ``crm_id`` were added by hand and stay (or are adopted by email).
- An account missing from the export is reported, never deleted.

Existing files are edited with ruamel.yaml's round trip, so comments, key order and quoting
survive and the diff of a re-import shows only what changed in the CRM. Files that would not
change are only read (with libyaml), which keeps a 50,000-account re-import fast.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from .. import filecache
from ..config import ACCOUNT_KEYS
from ..exceptions import ConfigError
from ..yamlfile import read_text
from .exports import CrmAccount, CrmContact

ORDER = ACCOUNT_KEYS
PERSON_ORDER = ("crm_id", "name", "role", "email", "cares_about")
PREFIX = {"HubSpot": "hs", "Salesforce": "sf"}
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Existing:
    """An account file as found before the import."""

    path: Path
    data: dict[str, Any]


@dataclass(frozen=True)
class Change:
    path: Path
    action: str
    """``create``, ``change`` or ``unchanged``."""
    name: str
    details: tuple[str, ...] = ()
    text: str = ""
    """The file's new text (``create`` and ``change``)."""


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    missing: tuple[Existing, ...]
    """Account files with a ``crm_id`` that the export no longer has: kept, reported."""
    warnings: tuple[ConfigError, ...]

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)


def read_accounts(
    folder: Path, cache: Path | None = None
) -> tuple[list[Existing], list[ConfigError]]:
    """Every account file, read fast (libyaml); a file that does not parse is a problem.

    With ``cache`` (a file in the state folder, see :mod:`generator.filecache`), a file whose
    stamp is the one recorded by the last import is not parsed again: a weekly re-import of
    50,000 accounts then reads only the files someone touched.
    """
    found: list[Existing] = []
    errors: list[ConfigError] = []
    if not folder.is_dir():
        return found, errors
    known = filecache.read(cache, CACHE_KEY)
    for path in sorted(p for p in folder.iterdir() if p.suffix in (".yml", ".yaml")):
        try:
            entry = known.get(path.name)
            if (
                entry is not None
                and entry[0] == filecache.stamp(path)
                and isinstance(entry[1], dict)
            ):
                found.append(Existing(path, entry[1]))
                continue
            text = read_text(path, errors)
            if text is None:
                continue
            data = yaml.load(text, Loader=SAFE_LOADER)
        except yaml.MarkedYAMLError as e:
            line = e.problem_mark.line + 1 if e.problem_mark else None
            errors.append(ConfigError(path, line, f"YAML syntax error: {e.problem}"))
            continue
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            errors.append(ConfigError(path, None, f"cannot read: {e}"))
            continue
        found.append(Existing(path, data if isinstance(data, dict) else {}))
    return found, errors


CACHE_KEY = "crm-accounts-1"  # what a cached entry holds: the file's YAML, as libyaml read it


def write_cache(
    cache: Path, folder: Path, existing: Sequence[Existing], changed: set[Path]
) -> None:
    """Remember what each untouched file holds, for the next import (see :func:`read_accounts`)."""
    files: filecache.Entries = {}
    for e in existing:
        stamp = filecache.stamp(e.path)
        if e.path not in changed and e.path.parent == folder and stamp is not None:
            files[e.path.name] = [stamp, e.data]
    filecache.save(cache, CACHE_KEY, files, {})


def plan_import(
    folder: Path,
    crm: str,
    accounts: Sequence[CrmAccount],
    contacts: Sequence[CrmContact] | None,
    existing: Sequence[Existing],
    contacts_path: Path = Path("contacts.csv"),
) -> tuple[Plan, list[ConfigError]]:
    """Decide, for every record, the file it goes to and its new text. Pure but for reading
    the files that change (to keep their comments)."""
    errors: list[ConfigError] = []
    by_id = {str(e.data["crm_id"]): e for e in existing if e.data.get("crm_id") not in (None, "")}
    adoptable = _adoptable(existing)
    people, warnings = _contacts_by_account(accounts, contacts, contacts_path)
    changes: list[Change] = []
    taken = {e.path.stem for e in existing}
    for record in accounts:
        found = by_id.get(record.crm_id) or _adopt(adoptable, record)
        staff = people.get(record.crm_id) if contacts is not None else None
        if found is None:
            path = folder / f"{new_slug(crm, record.crm_id)}.yml"
            if path.stem in taken:
                errors.append(
                    ConfigError(
                        path,
                        None,
                        f"record {record.crm_id} ({record.name[:80]}) would be written here, "
                        "but the file belongs to another account",
                    )
                )
                continue
            taken.add(path.stem)
            data: dict[str, Any] = {}
            merge(data, record, staff)
            data = {k: data[k] for k in sorted(data, key=ORDER.index)}
            changes.append(Change(path, "create", record.name, (), new_file(crm, record, data)))
            continue
        details = merge(found.data, record, staff)  # a file that changes is re-read to edit it
        if not details:
            changes.append(Change(found.path, "unchanged", record.name))
            continue
        try:
            text = _edited(found.path, record, staff)
        except (OSError, YAMLError) as e:
            errors.append(ConfigError(found.path, None, f"cannot edit: {e}"))
            continue
        changes.append(Change(found.path, "change", record.name, tuple(details), text))
    seen = {r.crm_id for r in accounts}
    missing = tuple(e for k, e in sorted(by_id.items()) if k not in seen)
    return Plan(tuple(changes), missing, tuple(warnings)), errors


def new_slug(crm: str, record_id: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", record_id.lower()).strip("-_") or "record"
    return f"{PREFIX.get(crm, 'crm')}-{slug}"


def _domain(url: str) -> str:
    host = urlsplit(url if "://" in url else f"https://{url}").hostname or ""
    return host.removeprefix("www.")


def _adoptable(existing: Iterable[Existing]) -> dict[str, Existing]:
    """Files without a ``crm_id``, by name and by web domain: hand-written accounts."""
    table: dict[str, Existing] = {}
    for e in existing:
        if e.data.get("crm_id") not in (None, ""):
            continue
        if isinstance(name := e.data.get("name"), str):
            table.setdefault("name:" + " ".join(name.split()).casefold(), e)
        if isinstance(site := e.data.get("website"), str) and (host := _domain(site)):
            table.setdefault("domain:" + host, e)
    return table


def _adopt(adoptable: dict[str, Existing], record: CrmAccount) -> Existing | None:
    keys = ["name:" + " ".join(record.name.split()).casefold()]
    if record.website:
        keys.insert(0, "domain:" + _domain(record.website))
    for key in keys:
        if (found := adoptable.pop(key, None)) is not None:
            for other in [k for k, v in adoptable.items() if v is found]:
                del adoptable[other]
            return found
    return None


def _contacts_by_account(
    accounts: Sequence[CrmAccount], contacts: Sequence[CrmContact] | None, source: Path
) -> tuple[dict[str, list[CrmContact]], list[ConfigError]]:
    """Each account's contacts, by the company's record id or, failing that, its exact name."""
    people: dict[str, list[CrmContact]] = {a.crm_id: [] for a in accounts}
    warnings: list[ConfigError] = []
    if contacts is None:
        return people, warnings
    by_name: dict[str, list[str]] = {}
    for a in accounts:
        by_name.setdefault(a.name.casefold(), []).append(a.crm_id)
    for person in contacts:
        owner = person.company_id if person.company_id in people else ""
        if not owner and not person.company_id and person.company_name:
            ids = by_name.get(person.company_name.casefold(), [])
            owner = ids[0] if len(ids) == 1 else ""
        if owner:
            people[owner].append(person)
        elif person.company_id or person.company_name:
            company = person.company_id or person.company_name
            warnings.append(
                ConfigError(
                    source,
                    person.line,
                    f"contact {person.crm_id}: company '{company[:80]}' is not in the "
                    "accounts export; skipped",
                )
            )
    return people, warnings


def merge(
    doc: MutableMapping[str, Any], record: CrmAccount, staff: Sequence[CrmContact] | None
) -> list[str]:
    """Bring the CRM's fields of ``doc`` up to date with ``record``; return what changed.

    Works on plain dicts (to decide) and on ruamel's round-trip maps (to write), so what is
    shown by ``--dry-run`` is what is written.
    """
    changed: list[str] = []
    for key in ("crm_id", "name", "industry", "website"):
        value = getattr(record, key)
        if value and str(doc.get(key, "")) != value:
            changed.append(_describe(key, doc.get(key), value))
            _put(doc, key, value, ORDER)
    for key, values in record.lists.items():
        if values and list(doc.get(key) or []) != list(values):
            changed.append(f"{key}: {len(doc.get(key) or [])} -> {len(values)} entries")
            _put(doc, key, list(values), ORDER)
    changed += _merge_rep(doc, record)
    if staff is not None:
        changed += _merge_people(doc, staff)
    return changed


def _describe(key: str, old: Any, new: Any) -> str:
    if old in (None, ""):
        return f"{key}: {_short(new)}"
    return f"{key}: {_short(old)} -> {_short(new)}"


def _short(value: Any) -> str:
    text = str(value)
    return json.dumps(text if len(text) <= 60 else text[:57] + "...", ensure_ascii=False)


def _put(doc: MutableMapping[str, Any], key: str, value: Any, order: Sequence[str]) -> None:
    """Set ``key``; a new key goes where the canonical order puts it among the keys present."""
    if key in doc or not hasattr(doc, "insert"):
        doc[key] = value
        return
    rank = order.index(key) if key in order else len(order)
    keys = list(doc)
    position = sum(1 for k in keys if (order.index(k) if k in order else len(order)) <= rank)
    cast(Any, doc).insert(position, key, value)  # ruamel's CommentedMap keeps comments


def _merge_rep(doc: MutableMapping[str, Any], record: CrmAccount) -> list[str]:
    if not record.owner:
        return []
    rep = doc.get("rep")
    if not isinstance(rep, MutableMapping):
        new = {"name": record.owner} | ({"email": record.owner_email} if record.owner_email else {})
        _put(doc, "rep", new, ORDER)
        return [f"rep: {record.owner}"]
    changed: list[str] = []
    renamed = rep.get("name") != record.owner
    if renamed:
        changed.append(_describe("rep", rep.get("name"), record.owner))
        rep["name"] = record.owner
    if record.owner_email and rep.get("email") != record.owner_email:
        changed.append(_describe("rep email", rep.get("email"), record.owner_email))
        _put(rep, "email", record.owner_email, ("name", "email"))
    elif renamed and not record.owner_email and "email" in rep:
        changed.append("rep email: removed (it was the previous rep's)")
        del rep["email"]
    return changed


def _merge_people(doc: MutableMapping[str, Any], staff: Sequence[CrmContact]) -> list[str]:
    current = doc.get("stakeholders")
    people: list[Any] = current if isinstance(current, list) else []
    by_id = {c.crm_id: c for c in staff}
    by_email = {c.email.casefold(): c for c in staff if c.email}
    used: set[str] = set()
    changed: list[str] = []
    for index in reversed(range(len(people))):
        entry = people[index]
        if not isinstance(entry, MutableMapping):
            continue
        known = str(entry.get("crm_id") or "")
        contact = (
            by_id.get(known) if known else by_email.get(str(entry.get("email", "")).casefold())
        )
        if contact is None or contact.crm_id in used:
            if known:
                changed.append(f"stakeholder left: {entry.get('name', known)}")
                del people[index]
            continue
        used.add(contact.crm_id)
        changed += [f"stakeholder {contact.name}: {d}" for d in _update_person(entry, contact)]
    added = [c for c in staff if c.crm_id not in used]
    for contact in added:
        fresh: dict[str, Any] = {}
        _update_person(fresh, contact)
        people.append(fresh)
        changed.append(f"stakeholder added: {contact.name}")
    if added and not isinstance(current, list):
        _put(doc, "stakeholders", people, ORDER)
    return changed


def _update_person(entry: MutableMapping[str, Any], contact: CrmContact) -> list[str]:
    changed: list[str] = []
    fields: dict[str, Any] = {"crm_id": contact.crm_id, "name": contact.name, "role": contact.role}
    fields |= {"email": contact.email, **{k: list(v) for k, v in contact.lists.items() if v}}
    for key, value in fields.items():
        if value and entry.get(key) != value:
            if entry:
                changed.append(_describe(key, entry.get(key), value))
            _put(entry, key, value, PERSON_ORDER)
    return changed


def _round_trip() -> YAML:
    rt = YAML()
    rt.preserve_quotes = True
    rt.indent(mapping=2, sequence=4, offset=2)
    rt.width = 4096
    return rt


def _edited(path: Path, record: CrmAccount, staff: Sequence[CrmContact] | None) -> str:
    rt = _round_trip()
    doc = rt.load(path.read_text(encoding="utf-8-sig"))
    merge(doc, record, staff)
    out = io.StringIO()
    rt.dump(doc, out)
    return out.getvalue()


def new_file(crm: str, record: CrmAccount, data: Mapping[str, Any]) -> str:
    """A new account file: a header saying what the import owns, then the fields."""
    header = (
        f"# Imported from {crm} (record {record.crm_id}). A re-import updates what the CRM\n"
        "# owns (name, industry, website, rep, stakeholders with a crm_id) and never touches\n"
        "# problems, topics, keywords, exclude, cares_about or these comments.\n"
    )
    hint = (
        ""
        if "problems" in data
        else "# problems:   # the customer's problems, in their own words: they choose what\n"
        "#   - ...      # each digest carries (kb check lists accounts that have none)\n"
    )
    return header + emit(data) + hint


PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_ .,:/@&()+'-]*$")
RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def scalar(text: str) -> str:
    """A YAML scalar for ``text``: plain when that is unambiguous, else quoted."""
    if (
        PLAIN.fullmatch(text)
        and text.lower() not in RESERVED
        and ": " not in text
        and not text.endswith((" ", ":"))
    ):
        return text
    if text.isprintable():
        return "'" + text.replace("'", "''") + "'"
    return '"' + "".join(_escaped(ch) for ch in text) + '"'


def _escaped(ch: str) -> str:
    """One character inside a double-quoted YAML scalar."""
    if ch in '"\\':
        return "\\" + ch
    if ch.isprintable():
        return ch
    code = ord(ch)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def emit(data: Mapping[str, Any], indent: int = 0) -> str:
    """Block-style YAML in the layout ruamel writes back (sequences indented under their key),
    so a later round-trip edit changes no line it does not mean to."""
    pad = " " * indent
    lines: list[str] = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            lines.append(f"{pad}{key}:\n{emit(value, indent + 2)}")
        elif isinstance(value, list):
            lines.append(f"{pad}{key}:")
            for element in value:
                if isinstance(element, Mapping):
                    body = emit(element, indent + 4)
                    lines.append(f"{pad}  - {body[indent + 4 :]}".rstrip("\n"))
                else:
                    lines.append(f"{pad}  - {scalar(str(element))}")
        else:
            lines.append(f"{pad}{key}: {scalar(str(value))}")
    return "\n".join(line.rstrip("\n") for line in lines) + "\n"
