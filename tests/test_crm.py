"""``kb import accounts``: CRM exports in, account files out, hand edits kept (generator/crm)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from conftest import DATA, run_kb
from hypothesis import given
from hypothesis import strategies as st

from generator.crm.accounts import emit, read_accounts, scalar
from generator.crm.exports import decode, salesforce_id, split_list

CRM = DATA / "crm"
ACCOUNTS = Path("content") / "accounts"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "team"
    assert run_kb("init", root).exit_code == 0
    shutil.copy(CRM / "crm.yml", root / "crm.yml")
    return root


def kb_import(root: Path, *args: str | Path) -> tuple[int, str, str]:
    result = run_kb("--project", root, "import", "accounts", *args)
    return result.exit_code, result.stdout, result.stderr


def files(root: Path) -> dict[str, str]:
    """The imported account files (the scaffold's own hand-written ones aside)."""
    paths = sorted((root / ACCOUNTS).glob("[hs][sf]-*.yml"))
    return {p.name: p.read_text(encoding="utf-8") for p in paths}


def expected(stage: str) -> dict[str, str]:
    return {
        p.name: p.read_text(encoding="utf-8") for p in sorted((CRM / "expected" / stage).iterdir())
    }


def test_hubspot_import_then_reimport_keeps_hand_edits_byte_for_byte(project: Path) -> None:
    code, out, err = kb_import(
        project, CRM / "hubspot-companies.csv", "--contacts", CRM / "hubspot-contacts.csv"
    )
    assert code == 0, err
    assert "3 accounts from HubSpot: 3 created, 0 changed, 0 unchanged." in out
    assert "contact 51005: company '9999999' is not in the accounts export; skipped" in err
    assert files(project) == expected("first")
    assert run_kb("--project", project, "check").exit_code == 0

    shutil.copy(CRM / "hand-edited" / "hs-9100201.yml", project / ACCOUNTS)
    code, out, err = kb_import(
        project, CRM / "hubspot-companies-2.csv", "--contacts", CRM / "hubspot-contacts-2.csv"
    )
    assert code == 0, err
    assert files(project) == expected("second")
    renamed = (project / ACCOUNTS / "hs-9100201.yml").read_text(encoding="utf-8")
    assert "name: Harrow Valley Wine Estates" in renamed
    assert "problems:   # from the October QBR, in Elena's words" in renamed
    assert "cares_about: [smoke taint]   # said so twice" in renamed
    assert "Rosa Diaz            # met at the trade show" in renamed
    assert "Tom Okafor" not in renamed
    assert "changed   content/accounts/hs-9100202.yml  Copperline Water District" in out
    assert 'rep: "Marcus Bell" -> "Jordan Lee"' in out

    code, out, _ = kb_import(
        project, CRM / "hubspot-companies-2.csv", "--contacts", CRM / "hubspot-contacts-2.csv"
    )
    assert "0 created, 0 changed, 3 unchanged" in out
    assert files(project) == expected("second")


def test_dry_run_shows_each_change_and_writes_nothing(project: Path) -> None:
    kb_import(project, CRM / "hubspot-companies.csv", "--contacts", CRM / "hubspot-contacts.csv")
    before = files(project)
    code, out, _ = kb_import(
        project,
        CRM / "hubspot-companies-2.csv",
        "--contacts",
        CRM / "hubspot-contacts-2.csv",
        "--dry-run",
    )
    assert code == 0
    assert files(project) == before
    assert out.splitlines() == [
        "change    content/accounts/hs-9100201.yml  Harrow Valley Wine Estates",
        '          name: "Harrow Valley Vineyards" -> "Harrow Valley Wine Estates"',
        "          stakeholder left: Tom Okafor",
        "          stakeholder added: Mei Tanaka",
        "change    content/accounts/hs-9100202.yml  Copperline Water District",
        '          rep: "Marcus Bell" -> "Jordan Lee"',
        '          rep email: "marcus.bell@ourcompany.example" -> "jordan.lee@ourcompany.example"',
        '          stakeholder Grace Lindqvist: role: "Operations Manager" -> "VP Operations"',
        "unchanged content/accounts/hs-9100203.yml  Brightsmile Dental Group, LLC",
        "3 accounts from HubSpot: 0 to create, 2 to change, 1 unchanged. "
        "Nothing written (--dry-run).",
    ]


def test_salesforce_report_exports(project: Path) -> None:
    code, out, err = kb_import(
        project, CRM / "salesforce-accounts.csv", "--contacts", CRM / "salesforce-contacts.csv"
    )
    assert code == 0, err
    assert "2 accounts from Salesforce: 2 created" in out
    ski = yaml.safe_load((project / ACCOUNTS / "sf-0015g00000abcdeaav.yml").read_text())
    assert ski["crm_id"] == salesforce_id("0015g00000AbCdE") == "0015g00000AbCdEAAV"
    assert ski["website"] == "https://www.summitridge.example"
    assert ski["rep"] == {"name": "Hannah Brooks"}
    assert ski["stakeholders"] == [
        {
            "crm_id": "0035g00000XyZaBAAV",
            "name": "Nina Falk",
            "role": "Director of Mountain Operations",
            "email": "nina.falk@summitridge.example",
        }
    ]


def test_account_gone_from_the_export_is_reported_never_deleted(project: Path) -> None:
    kb_import(project, CRM / "hubspot-companies.csv")
    smaller = project / "two.csv"
    lines = (CRM / "hubspot-companies.csv").read_text().splitlines()
    smaller.write_text("\n".join(lines[:3]) + "\n")
    code, out, _ = kb_import(project, smaller)
    assert code == 0
    assert (
        "not in the export (kept): content/accounts/hs-9100203.yml  Brightsmile Dental Group, LLC"
        in out
    )
    assert (project / ACCOUNTS / "hs-9100203.yml").exists()


def test_hand_written_account_is_adopted_by_domain(project: Path) -> None:
    (project / ACCOUNTS / "harrow.yml").write_text(
        "name: Harrow Valley\nwebsite: https://harrowvalley.example\nproblems:\n  - Smoke taint\n",
        encoding="utf-8",
    )
    code, _, _ = kb_import(project, CRM / "hubspot-companies.csv")
    assert code == 0
    assert not (project / ACCOUNTS / "hs-9100201.yml").exists()
    adopted = (project / ACCOUNTS / "harrow.yml").read_text()
    assert adopted.startswith("crm_id: '9100201'\nname: Harrow Valley Vineyards\n")
    assert "  - Smoke taint" in adopted


def test_mapping_adds_a_problems_column(project: Path) -> None:
    export = project / "companies.csv"
    export.write_text(
        "Record ID,Company name,Industry,Top problems\n"
        '7001,Granite Peak Solar,Solar,"Interconnection queues delay projects by a year\n'
        'Permits for rooftop arrays take months"\n',
        encoding="utf-8",
    )
    mapping = project / "mine.yml"
    mapping.write_text("accounts:\n  problems: Top problems\n", encoding="utf-8")
    code, _, err = kb_import(project, export, "--mapping", mapping)
    assert code == 0, err
    data = yaml.safe_load((project / ACCOUNTS / "hs-7001.yml").read_text())
    assert data["problems"] == [
        "Interconnection queues delay projects by a year",
        "Permits for rooftop arrays take months",
    ]


def test_every_bad_row_is_reported_and_nothing_is_written(project: Path) -> None:
    export = project / "bad.csv"
    export.write_text(
        "Record ID,Company name,Industry\n"
        "1,Alpha,Retail\n"
        "2,,Retail\n"
        "1,Alpha again,Retail\n"
        "3,Gamma,Retail\n",
        encoding="utf-8",
    )
    contacts = project / "people.csv"
    contacts.write_text(
        "Record ID,First Name,Last Name,Email,Associated Company IDs\n"
        "10,Ann,Lee,ann.lee@alpha.example,1\n"
        "11,Bob,Ray,not-an-address,3\n",
        encoding="utf-8",
    )
    code, out, err = kb_import(project, export, "--contacts", contacts)
    assert code == 1
    assert f"{export}:3: record 2: the name is empty" in err
    assert f"{export}:4: duplicate account record id '1' (first on line 2)" in err
    assert f"{contacts}:3: contact 11: the email is not an address: 'not-an-address'" in err
    assert "nothing was written" in err
    assert files(project) == {}

    code, out, err = kb_import(project, export, "--contacts", contacts, "--skip-invalid")
    assert code == 0
    assert sorted(files(project)) == ["hs-1.yml", "hs-3.yml"]
    assert "3 invalid rows skipped" in out
    assert f"{export}:3: warning: record 2: the name is empty" in err


def test_missing_column_names_the_file_and_the_column(project: Path) -> None:
    export = project / "companies.csv"
    export.write_text("Account Name,Industry\nAcme,Retail\n", encoding="utf-8")
    code, _, err = kb_import(project, export)
    assert code == 1
    assert f"{export}:1: not a HubSpot or Salesforce accounts export I know" in err
    export.write_text("Account ID,Account Name\n,Acme\n", encoding="utf-8")
    code, _, err = kb_import(project, export)
    assert f"{export}:2: the record id is empty" in err


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8-sig", ","), ("cp1252", ";"), ("utf-16", "\t")],
)
def test_excel_encodings_and_separators(project: Path, encoding: str, delimiter: str) -> None:
    export = project / "companies.csv"
    rows = [["Record ID", "Company name", "Industry"], ["42", "Café Müller GmbH", "Food – Retail"]]
    export.write_bytes("".join(delimiter.join(r) + "\r\n" for r in rows).encode(encoding))
    code, _, err = kb_import(project, export)
    assert code == 0, err
    data = yaml.safe_load((project / ACCOUNTS / "hs-42.yml").read_text(encoding="utf-8"))
    assert (data["name"], data["industry"]) == ("Café Müller GmbH", "Food – Retail")


def test_undecodable_file_is_one_clear_line(project: Path) -> None:
    export = project / "companies.csv"
    export.write_bytes(b"Record ID,Company name\n1,\x81\x8d\x8f\n")
    code, _, err = kb_import(project, export)
    assert code == 1
    assert f"{export}: not UTF-8, UTF-16 or Windows-1252 text" in err


def test_names_with_yaml_and_terminal_syntax_stay_text(project: Path) -> None:
    export = project / "companies.csv"
    export.write_text(
        'Record ID,Company name,Industry\n5,"yes: {a: 1} # not a comment \x1b[31m",No\n',
        encoding="utf-8",
    )
    code, out, _ = kb_import(project, export)
    assert code == 0
    assert "\x1b" not in out
    data = yaml.safe_load((project / ACCOUNTS / "hs-5.yml").read_text(encoding="utf-8"))
    assert data["name"] == "yes: {a: 1} # not a comment"
    assert data["industry"] == "No"
    assert run_kb("--project", project, "check").exit_code == 0


def test_salesforce_15_character_ids_become_18() -> None:
    assert salesforce_id("001A000001aBcDe") == "001A000001aBcDeIAK"
    assert salesforce_id("001A000001aBcDeIAK") == "001A000001aBcDeIAK"


def test_list_cells_split_on_lines_and_separator() -> None:
    assert split_list("a; b\nc;;a", ";") == ("a", "b", "c")


def test_decode_prefers_utf8_then_windows_1252() -> None:
    assert decode("é".encode()) == "é"
    assert decode("é".encode("cp1252")) == "é"


text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(st.dictionaries(st.sampled_from(["name", "industry", "crm_id"]), text, min_size=1))
def test_emitted_yaml_reads_back_as_written(data: dict[str, str]) -> None:
    cleaned = {k: v for k, v in data.items()}
    assert yaml.safe_load(emit(cleaned)) == cleaned


@given(text)
def test_scalar_is_one_yaml_string(value: str) -> None:
    assert yaml.safe_load(f"k: {scalar(value)}\n") == {"k": value}


def test_an_account_file_that_is_not_utf8_is_reported_on_the_line_of_its_bad_byte(
    tmp_path: Path,
) -> None:
    """The importer reads the account files it may update as `kb check` does."""
    (tmp_path / "acme.yml").write_bytes("name: Acme\nindustry: Caf\xe9s\n".encode("latin-1"))
    found, errors = read_accounts(tmp_path)
    assert found == []
    assert [str(e) for e in errors] == [f"{tmp_path / 'acme.yml'}:2: not UTF-8 text"]
