"""CRM export files -> plain records: which CRM wrote the file, and what each row says.

Exports come from spreadsheets as often as from the CRM itself, so the reader accepts what Excel
writes: UTF-8 with or without a byte-order mark, UTF-16 with one ("Unicode text"), and
Windows-1252; a comma, semicolon or tab between columns. Every problem is collected with its
``path:line`` (the line the row starts on) so one run reports them all.

Built-in layouts name the columns of the standard exports (the first name that is present wins):

- HubSpot: the companies export (``Record ID``, ``Company name``, ``Company owner``,
  ``Industry``, ``Company Domain Name``, ``Website URL``) and the contacts export (``Record ID``,
  ``First Name``, ``Last Name``, ``Email``, ``Job Title``, ``Associated Company IDs``).
- Salesforce: the Accounts report (``Account ID``, ``Account Name``, ``Account Owner``,
  ``Industry``, ``Website``) and the Contacts report (``Contact ID``, ``First Name``,
  ``Last Name``, ``Title``, ``Email``, ``Account ID``), and the same objects as Data Loader
  writes them (API names: ``Id``, ``Name``, ``OwnerId``, ``AccountId``...).

A project's mapping file (see :mod:`generator.crm.mapping`) overrides or adds columns.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..addresses import email_problem
from ..exceptions import ConfigError
from ..printable import printable

MAX_CELL = 2000
"""Characters kept of one cell: a name or a problem longer than this is not a name or a problem."""
LIST_FIELDS = ("problems", "keywords", "exclude", "topics", "cares_about")
"""Fields that hold a list: a cell gives one value per line, or per separator (``;``)."""

ACCOUNT_FIELDS = ("crm_id", "name", "industry", "website", "domain", "owner", "owner_email")
CONTACT_FIELDS = (
    "crm_id",
    "first_name",
    "last_name",
    "name",
    "role",
    "email",
    "company_id",
    "company_name",
)


@dataclass(frozen=True)
class Layout:
    """Which columns of one CRM's export hold which field."""

    crm: str
    kind: str
    """``accounts`` or ``contacts``."""
    columns: Mapping[str, tuple[str, ...]]
    """field -> the column names that may hold it, most specific first."""
    required: tuple[str, ...]
    signature: tuple[str, ...]
    """Columns that, all present, say the file is this CRM's export of this kind."""

    @property
    def title(self) -> str:
        return f"{self.crm} {self.kind} export"


LAYOUTS = (
    Layout(
        "HubSpot",
        "accounts",
        {
            "crm_id": ("Record ID", "Company ID"),
            "name": ("Company name", "Name"),
            "industry": ("Industry",),
            "website": ("Website URL",),
            "domain": ("Company Domain Name",),
            "owner": ("Company owner", "HubSpot Owner"),
            "owner_email": ("Company owner email", "Owner email"),
        },
        required=("crm_id", "name"),
        signature=("Record ID", "Company name"),
    ),
    Layout(
        "HubSpot",
        "contacts",
        {
            "crm_id": ("Record ID", "Contact ID"),
            "first_name": ("First Name",),
            "last_name": ("Last Name",),
            "role": ("Job Title",),
            "email": ("Email",),
            "company_id": (
                "Associated Company IDs (Primary)",
                "Associated Company IDs",
                "Associated Company ID",
                "Company ID",
            ),
            "company_name": ("Associated Company", "Company Name"),
        },
        required=("crm_id",),
        signature=("Record ID", "First Name", "Email"),
    ),
    Layout(
        "Salesforce",
        "accounts",
        {
            "crm_id": ("Account ID",),
            "name": ("Account Name",),
            "industry": ("Industry",),
            "website": ("Website",),
            "owner": ("Account Owner",),
            "owner_email": ("Account Owner Email", "Account Owner: Email"),
        },
        required=("crm_id", "name"),
        signature=("Account ID", "Account Name"),
    ),
    Layout(
        "Salesforce",
        "contacts",
        {
            "crm_id": ("Contact ID",),
            "first_name": ("First Name",),
            "last_name": ("Last Name",),
            "role": ("Title",),
            "email": ("Email",),
            "company_id": ("Account ID",),
            "company_name": ("Account Name",),
        },
        required=("crm_id",),
        signature=("Contact ID", "Last Name"),
    ),
    Layout(
        "Salesforce",
        "accounts",
        {
            "crm_id": ("Id",),
            "name": ("Name",),
            "industry": ("Industry",),
            "website": ("Website",),
            "owner": ("Owner.Name", "OwnerName"),
            "owner_email": ("Owner.Email", "OwnerEmail"),
        },
        required=("crm_id", "name"),
        signature=("Id", "Name", "Industry"),
    ),
    Layout(
        "Salesforce",
        "contacts",
        {
            "crm_id": ("Id",),
            "first_name": ("FirstName",),
            "last_name": ("LastName",),
            "role": ("Title",),
            "email": ("Email",),
            "company_id": ("AccountId",),
        },
        required=("crm_id",),
        signature=("Id", "LastName", "AccountId"),
    ),
)


@dataclass(frozen=True)
class Row:
    """One record of an export: its cells by column, and the line it starts on."""

    line: int
    cells: Mapping[str, str]


@dataclass(frozen=True)
class Export:
    path: Path
    header: tuple[str, ...]
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class CrmAccount:
    line: int
    crm_id: str
    name: str
    industry: str = ""
    website: str = ""
    owner: str = ""
    owner_email: str = ""
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Mapped list fields (``problems``, ``keywords``...): only those the mapping names."""


@dataclass(frozen=True)
class CrmContact:
    line: int
    crm_id: str
    name: str
    role: str = ""
    email: str = ""
    company_id: str = ""
    company_name: str = ""
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def decode(data: bytes) -> str:
    """The text of an export as Excel or a CRM may have written it."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def read_export(path: Path) -> Export:
    """Read a CSV export; raise :class:`ConfigError` when it is not readable text."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(path, None, f"cannot read: {e.strerror or e}") from e
    try:
        text = decode(data)
    except UnicodeDecodeError as e:
        raise ConfigError(path, None, "not UTF-8, UTF-16 or Windows-1252 text") from e
    if not text.strip():
        raise ConfigError(path, 1, "the file is empty: expected a header row")
    reader = csv.reader(io.StringIO(text, newline=""), dialect=_dialect(text))
    try:
        header = tuple(clean(cell) for cell in next(reader))
        rows = tuple(_rows(reader, header))
    except csv.Error as e:
        raise ConfigError(path, reader.line_num, f"not a CSV file: {e}") from e
    return Export(path, header, rows)


def _dialect(text: str) -> type[csv.Dialect]:
    first = text.split("\n", 1)[0]
    counts = {sep: first.count(sep) for sep in (",", ";", "\t")}
    delimiter = max(counts, key=lambda sep: counts[sep]) if any(counts.values()) else ","

    class Export(csv.excel):
        pass

    Export.delimiter = delimiter
    return Export


def _rows(reader: Iterator[list[str]], header: tuple[str, ...]) -> Iterator[Row]:
    line = reader.line_num + 1  # type: ignore[attr-defined]
    for cells in reader:
        if any(cell.strip() for cell in cells):
            yield Row(line, dict(zip(header, (c.strip() for c in cells), strict=False)))
        line = reader.line_num + 1  # type: ignore[attr-defined]


def clean(text: str) -> str:
    """A cell as plain text: no escape sequences, control characters or byte-order marks, at
    most MAX_CELL long."""
    return " ".join(printable(text).split())[:MAX_CELL] if text else ""


def detect(export: Export, kind: str) -> Layout | None:
    """The built-in layout of this kind whose signature columns the header has, if any."""
    present = set(export.header)
    for layout in LAYOUTS:
        if layout.kind == kind and all(col in present for col in layout.signature):
            return layout
    return None


def split_list(cell: str, separator: str) -> tuple[str, ...]:
    """A multi-value cell: one value per line, or per ``separator``; blanks and repeats dropped."""
    parts = re.split(r"\r?\n|" + re.escape(separator), cell) if separator else cell.splitlines()
    return tuple(dict.fromkeys(v for p in parts if (v := clean(p))))


def is_email(text: str) -> bool:
    """What ``kb check`` and the eml writer accept (one validator), so an import never writes
    an account that check then refuses."""
    return email_problem(text) is None


def salesforce_id(text: str) -> str:
    """Salesforce's case-insensitive 18-character form of a record id (15 are case-sensitive)."""
    if len(text) != 15 or not text.isalnum():
        return text
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    suffix = ""
    for block in range(3):
        chunk = text[block * 5 : block * 5 + 5]
        bits = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        suffix += alphabet[bits]
    return text + suffix


def column_for(header: Sequence[str], candidates: Sequence[str]) -> str | None:
    present = set(header)
    return next((c for c in candidates if c in present), None)
