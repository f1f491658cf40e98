"""Rows of an export -> :class:`CrmAccount` / :class:`CrmContact`, every bad row reported.

Pure: takes an :class:`Export` and the mapping, returns records and the problems found, each as
``path:line: message``. A row with a problem gives no record (``--skip-invalid`` writes the rest).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

from ..exceptions import ConfigError
from .exports import (
    CrmAccount,
    CrmContact,
    Export,
    Layout,
    Row,
    clean,
    column_for,
    detect,
    is_email,
    salesforce_id,
    split_list,
)
from .mapping import ACCOUNT_LISTS, CONTACT_LISTS, CrmMapping

R = TypeVar("R", CrmAccount, CrmContact)


class Columns:
    """Where each field of one export is, after the mapping file had its say."""

    def __init__(self, export: Export, layout: Layout | None, mapped: Mapping[str, str]) -> None:
        self.crm = layout.crm if layout else "CRM"
        self.where: dict[str, str] = {}
        if layout:
            for name, candidates in layout.columns.items():
                if column := column_for(export.header, candidates):
                    self.where[name] = column
        self.where.update(mapped)

    def get(self, row: Row, name: str) -> str:
        column = self.where.get(name)
        return clean(row.cells.get(column, "")) if column else ""


def _columns(
    export: Export, kind: str, mapped: Mapping[str, str], required: Sequence[str]
) -> tuple[Columns | None, list[ConfigError]]:
    layout = detect(export, kind)
    if layout is None and not mapped:
        known = ", ".join(export.header[:8]) + (", ..." if len(export.header) > 8 else "")
        return None, [
            ConfigError(
                export.path,
                1,
                f"not a HubSpot or Salesforce {kind} export I know (columns: {known}); "
                f"name its columns in a mapping file (--mapping)",
            )
        ]
    columns = Columns(export, layout, mapped)
    what = layout.title if layout else f"{kind} export"
    errors = [
        ConfigError(export.path, 1, f"missing column {_wanted(layout, name)} ({what})")
        for name in required
        if name not in columns.where
    ]
    errors += [
        ConfigError(export.path, 1, f"the mapping names column '{column}', which is not there")
        for column in mapped.values()
        if column not in export.header
    ]
    return (None if errors else columns), errors


def _wanted(layout: Layout | None, name: str) -> str:
    candidates = layout.columns.get(name, ()) if layout else ()
    return " or ".join(f"'{c}'" for c in candidates) if candidates else f"for '{name}'"


def _record_id(columns: Columns, row: Row) -> str:
    raw = columns.get(row, "crm_id")
    return salesforce_id(raw) if columns.crm == "Salesforce" else raw


def _unique(records: list[R], errors: list[ConfigError], export: Export, what: str) -> list[R]:
    first: dict[str, int] = {}
    kept: list[R] = []
    for record in records:
        if record.crm_id in first:
            errors.append(
                ConfigError(
                    export.path,
                    record.line,
                    f"duplicate {what} record id '{record.crm_id}' "
                    f"(first on line {first[record.crm_id]})",
                )
            )
            continue
        first[record.crm_id] = record.line
        kept.append(record)
    return kept


def _lists(
    columns: Columns, row: Row, fields: Sequence[str], mapping: CrmMapping
) -> dict[str, tuple[str, ...]]:
    return {
        name: split_list(row.cells.get(columns.where[name], ""), mapping.separator)
        for name in fields
        if name in columns.where
    }


def _each(export: Export, make: Callable[[Row], R | str]) -> tuple[list[R], list[ConfigError]]:
    records: list[R] = []
    errors: list[ConfigError] = []
    for row in export.rows:
        made = make(row)
        if isinstance(made, str):
            errors.append(ConfigError(export.path, row.line, made))
        else:
            records.append(made)
    return records, errors


def accounts_of(export: Export, mapping: CrmMapping) -> tuple[list[CrmAccount], list[ConfigError]]:
    """The accounts of a companies/accounts export."""
    columns, errors = _columns(export, "accounts", mapping.accounts, ("crm_id", "name"))
    if columns is None:
        return [], errors

    def make(row: Row) -> CrmAccount | str:
        crm_id, name = _record_id(columns, row), columns.get(row, "name")
        if not crm_id:
            return "the record id is empty"
        if not name:
            return f"record {crm_id}: the name is empty"
        owner = columns.get(row, "owner")
        owner_email = columns.get(row, "owner_email") or mapping.owners.get(owner.casefold(), "")
        if owner_email and not is_email(owner_email):
            return f"record {crm_id}: the owner's email is not an address: '{owner_email[:80]}'"
        return CrmAccount(
            line=row.line,
            crm_id=crm_id,
            name=name,
            industry=columns.get(row, "industry"),
            website=_website(columns.get(row, "website"), columns.get(row, "domain")),
            owner=owner,
            owner_email=owner_email,
            lists=_lists(columns, row, ACCOUNT_LISTS, mapping),
        )

    records, problems = _each(export, make)
    errors += problems
    return _unique(records, errors, export, "account"), errors


def contacts_of(export: Export, mapping: CrmMapping) -> tuple[list[CrmContact], list[ConfigError]]:
    """The contacts of a contacts export, each with the company it belongs to."""
    columns, errors = _columns(export, "contacts", mapping.contacts, ("crm_id",))
    if columns is None:
        return [], errors
    if not any(k in columns.where for k in ("company_id", "company_name")):
        return [], [ConfigError(export.path, 1, "no column names the contact's company")]

    def make(row: Row) -> CrmContact | str:
        crm_id = _record_id(columns, row)
        if not crm_id:
            return "the record id is empty"
        full = " ".join(
            part for part in (columns.get(row, "first_name"), columns.get(row, "last_name")) if part
        )
        name = columns.get(row, "name") or full
        email = columns.get(row, "email")
        if email and not is_email(email):
            return f"contact {crm_id}: the email is not an address: '{email[:80]}'"
        if not name and not email:
            return f"contact {crm_id}: no name and no email"
        company_id = columns.get(row, "company_id").split(";")[0].strip()
        if columns.crm == "Salesforce":
            company_id = salesforce_id(company_id)
        return CrmContact(
            line=row.line,
            crm_id=crm_id,
            name=name or email,
            role=columns.get(row, "role"),
            email=email,
            company_id=company_id,
            company_name=columns.get(row, "company_name"),
            lists=_lists(columns, row, CONTACT_LISTS, mapping),
        )

    records, problems = _each(export, make)
    errors += problems
    return _unique(records, errors, export, "contact"), errors


def _website(website: str, domain: str) -> str:
    """The company's web address: the website column, else ``https://`` + its domain."""
    if website:
        if "://" not in website:
            website = "https://" + website
        parts = urlsplit(website)
        return website if parts.scheme in ("http", "https") and parts.netloc else ""
    return f"https://{domain.lower()}" if domain and "/" not in domain and " " not in domain else ""
