"""A project's CRM mapping file: extra or different columns, and the reps' addresses.

``crm.yml`` at the project's root (or ``--mapping FILE``)::

    accounts:                  # field: column of the companies/accounts export
      problems: Top problems   # a custom field, one problem per line or separated by ';'
    contacts:                  # field: column of the contacts export
      cares_about: Interests
    separator: ";"             # what separates values in a list cell, besides line breaks
    owners:                    # the reps' emails, when the export names owners only
      Jane Smith: jane.smith@ourcompany.example

Account fields: crm_id, name, industry, website, domain, owner, owner_email, problems,
keywords, exclude, topics. Contact fields: crm_id, first_name, last_name, name, role, email,
company_id, company_name, cares_about. A mapped column replaces the built-in one for its field;
a list field that is mapped becomes owned by the CRM (a re-import replaces it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..exceptions import ConfigError, ConfigErrors
from ..yamlfile import Checker, LineDict, line_of, parse_yaml, read_text
from .exports import ACCOUNT_FIELDS, CONTACT_FIELDS, is_email

ACCOUNT_LISTS = ("problems", "keywords", "exclude", "topics")
CONTACT_LISTS = ("cares_about",)
MAPPING_FILE = "crm.yml"


@dataclass(frozen=True)
class CrmMapping:
    accounts: Mapping[str, str] = field(default_factory=dict)
    contacts: Mapping[str, str] = field(default_factory=dict)
    separator: str = ";"
    owners: Mapping[str, str] = field(default_factory=dict)
    """Owner name (casefolded) -> email."""


def load_mapping(path: Path | None) -> CrmMapping:
    """The mapping at ``path``; the empty mapping when there is none."""
    if path is None:
        return CrmMapping()
    errors: list[ConfigError] = []
    text = read_text(path, errors)
    data, problems = parse_yaml(text or "", path) if text is not None else (None, [])
    errors.extend(problems)
    check = Checker(path)
    mapping = CrmMapping()
    if data is not None:
        table = check.mapping(data, "the mapping file", getattr(data, "line", 1))
        if table is not None:
            mapping = _mapping(table, check)
    errors.extend(check.errors)
    if errors:
        raise ConfigErrors(errors)
    return mapping


def _mapping(data: LineDict, check: Checker) -> CrmMapping:
    check.fields(data, [], ["accounts", "contacts", "separator", "owners"], "the mapping file")
    separator = check.text(data, "separator", ";")
    if len(separator) > 3:
        check.error(line_of(data, "separator"), "'separator' must be at most 3 characters")
    return CrmMapping(
        accounts=_columns(data, "accounts", (*ACCOUNT_FIELDS, *ACCOUNT_LISTS), check),
        contacts=_columns(data, "contacts", (*CONTACT_FIELDS, *CONTACT_LISTS), check),
        separator=separator,
        owners=_owners(data, check),
    )


def _columns(data: LineDict, key: str, known: tuple[str, ...], check: Checker) -> dict[str, str]:
    if data.get(key) is None:
        return {}
    table = check.mapping(data[key], f"'{key}'", line_of(data, key))
    if table is None:
        return {}
    check.fields(table, [], known, f"'{key}'")
    return {name: column for name in table if name in known if (column := check.text(table, name))}


def _owners(data: LineDict, check: Checker) -> dict[str, str]:
    if data.get("owners") is None:
        return {}
    table = check.mapping(data["owners"], "'owners'", line_of(data, "owners"))
    if table is None:
        return {}
    owners: dict[str, str] = {}
    for name in table:
        email = check.text(table, name)
        if not is_email(email):
            check.error(line_of(table, name), f"owner '{name}': '{email}' is not an email address")
            continue
        owners[" ".join(name.split()).casefold()] = email
    return owners
