"""``kb digest --format ...``: every channel, for every example account, as a user runs it."""

from __future__ import annotations

import email
import json
import re
import shutil
from email import policy
from email.message import EmailMessage, MIMEPart
from pathlib import Path

import html5lib
import pytest
from conftest import EXAMPLE_NOW, REPO, copy_example, run_kb

FORMATS = ("md", "html", "txt", "json", "eml", "note", "call")
FILES = {
    "md": "2026-11-16.md",
    "html": "2026-11-16.html",
    "txt": "2026-11-16.txt",
    "json": "2026-11-16.json",
    "eml": "2026-11-16.eml",
    "note": "2026-11-16.note.txt",
    "call": "2026-11-16.call.md",
}
ACCOUNT_PROBLEMS = (
    "Finding and keeping qualified truck drivers",
    "Trucks waiting hours at shipper docks (detention)",
    "Diesel bill eating into margins on lanes we already priced",
    "Insurance premiums go up every year even though our safety record is decent",
)
ACCOUNTS = sorted(p.stem for p in (REPO / "content" / "accounts").glob("*.yml"))


@pytest.fixture(scope="module")
def fetched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project, fetched once for the module (digests use the pinned ``now``)."""
    root = tmp_path_factory.mktemp("formats") / "example"
    copy_example(root)
    assert run_kb("--project", root, "fetch").exit_code == 0
    return root


def digest_all(root: Path, out: Path, *extra: str) -> None:
    args = [f"--format={f}" for f in FORMATS]
    result = run_kb(
        "--project", root, "digest", "--all", *args, "--out", out, "--now", EXAMPLE_NOW, *extra
    )
    assert result.exit_code == 0, result.stderr


@pytest.fixture(scope="module")
def out(fetched: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("digests")
    digest_all(fetched, target)
    return target


def content(part: MIMEPart | None) -> str:
    """A decoded MIME part with its CRLF line ends (SMTP's) turned back into newlines."""
    assert part is not None
    text = part.get_content()
    assert isinstance(text, str)
    return text.replace("\r\n", "\n")


def parse_eml(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


@pytest.mark.parametrize("account", ACCOUNTS)
def test_every_format_renders_for_every_example_account(out: Path, account: str) -> None:
    for fmt, name in FILES.items():
        text = (out / account / name).read_text(encoding="utf-8")
        assert text.strip(), f"{account} {fmt} is empty"
        assert not list((out / account).glob(".*.tmp")), "a temporary file was left behind"


@pytest.mark.parametrize("account", ACCOUNTS)
def test_the_html_email_is_strict_html_with_every_style_inlined(out: Path, account: str) -> None:
    page = (out / account / FILES["html"]).read_text(encoding="utf-8")
    html5lib.HTMLParser(strict=True).parse(page)  # raises on any parse error
    assert len(page.encode()) < 100_000
    assert "<script" not in page.casefold()
    assert "<link" not in page.casefold()
    assert "@import" not in page
    styles = re.findall(r"<style>(.*?)</style>", page, re.DOTALL)
    assert len(styles) == 1, "the @media rules stay in exactly one <style> block"
    outside_media = re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*\s*\}", "", styles[0])
    assert outside_media.strip() == "", f"rules left un-inlined: {outside_media.strip()[:200]}"
    assert "prefers-color-scheme: dark" in styles[0]
    assert re.search(r'<table class="container"[^>]*width="600"[^>]*max-width: 600px', page)
    assert re.search(r'<table class="outer"[^>]*style="[^"]*width: 100%', page)
    assert re.search(r'<td class="item" style="[^"]*padding: ', page), "classes keep inline styles"
    assert "src=" not in page, "no external assets (images) are required"


def test_the_eml_parses_into_text_and_html_with_the_right_headers(out: Path) -> None:
    message = parse_eml(out / "ridgeline-freight" / FILES["eml"])
    assert message["From"] == "Sam Ortega <sam.ortega@ourcompany.example>"
    assert message["To"] == (
        "Dana Whitfield <dana.whitfield@ridgelinefreight.example>, "
        "Marcus Bell <marcus.bell@ridgelinefreight.example>, "
        "Loretta Haines <loretta.haines@ridgelinefreight.example>"
    )
    picks = json.loads((out / "ridgeline-freight" / FILES["json"]).read_text())["items"]
    top = next(p["problem"] for p in picks if p["problem"])
    assert top in ACCOUNT_PROBLEMS, "the subject names one of the customer's own problems"
    assert message["Subject"] == f"{top}: {len(picks)} things worth knowing this week"
    assert message["X-Unsent"] == "1"
    assert message["Date"] == "Mon, 16 Nov 2026 09:00:00 +0000"
    assert message["Message-ID"] == "<kb.ridgeline-freight.20261116T090000Z@ourcompany.example>"
    assert message.get_content_type() == "multipart/alternative"
    text = content(message.get_body(("plain",)))
    page = content(message.get_body(("html",)))
    assert text.startswith("Hi Dana, Marcus and Loretta,\n")
    assert "Links:\n[1] https://www.freightwire.example/" in text
    html5lib.HTMLParser(strict=True).parse(page)
    assert (out / "ridgeline-freight" / FILES["html"]).read_text() == page
    assert (out / "ridgeline-freight" / FILES["txt"]).read_text() == text


@pytest.mark.parametrize("account", ACCOUNTS)
def test_no_subject_names_the_vendor(out: Path, account: str) -> None:
    subject = parse_eml(out / account / FILES["eml"])["Subject"]
    assert "Northbeam" not in subject
    assert subject.endswith("worth knowing this week")


def test_for_a_stakeholder_the_email_goes_to_them_and_greets_them(
    fetched: Path, tmp_path: Path
) -> None:
    dry = run_kb(
        "--project", fetched, "digest", "ridgeline-freight", "--for", "Marcus Bell",
        "--format", "note", "--out", tmp_path, "--now", EXAMPLE_NOW, "--dry-run",
    )  # fmt: skip
    assert dry.exit_code == 0, dry.stderr
    assert dry.stdout.startswith("Hi Marcus, ")
    assert not list(tmp_path.iterdir()), "--dry-run writes nothing"
    result = run_kb(
        "--project", fetched, "digest", "ridgeline-freight", "--for", "Marcus Bell",
        "--format", "eml", "--out", tmp_path, "--now", EXAMPLE_NOW, "--include-sent",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    message = parse_eml(tmp_path / "ridgeline-freight" / FILES["eml"])
    assert message["To"] == "Marcus Bell <marcus.bell@ridgelinefreight.example>"
    assert (
        message["Message-ID"] == "<kb.ridgeline-freight.20261116T090000Z.marcus@ourcompany.example>"
    )
    assert content(message.get_body(("plain",))).startswith("Hi Marcus,\n")


@pytest.mark.parametrize("account", ACCOUNTS)
def test_the_note_is_short_plain_and_links_the_best_item(out: Path, account: str) -> None:
    note = (out / account / FILES["note"]).read_text(encoding="utf-8")
    assert note.endswith("\n") and "\n" not in note[:-1]
    assert len(note.rstrip("\n")) <= 300
    assert "<" not in note and "](" not in note
    links = re.findall(r"https://\S+", note)
    assert len(links) == 1 and "utm_source=knowledge-broker" in links[0]


def test_the_call_sheet_has_people_talking_points_openers_and_history(
    fetched: Path, tmp_path: Path
) -> None:
    project = tmp_path / "p"
    shutil.copytree(fetched, project)  # this test records a sending; keep it out of the others
    fetched, first = project, tmp_path / "first"
    run_kb("--project", fetched, "digest", "ridgeline-freight", "--format", "md", "--out", first,
           "--now", "2026-11-09T09:00:00Z")  # fmt: skip
    result = run_kb("--project", fetched, "digest", "ridgeline-freight", "--format", "call",
                    "--now", EXAMPLE_NOW, "--dry-run")  # fmt: skip
    sheet = result.stdout
    assert sheet.startswith("# Call sheet: Ridgeline Freight, 16 Nov 2026\n")
    assert "- **Dana Whitfield**, VP Operations: cares about driver turnover" in sheet
    assert "## Talking points\n\n### " in sheet
    assert (
        "## Openers\n\n- **Ask: what share of your driver quits happen in the first 90 days?**"
        in sheet
    )
    sent_before = sheet.split("## Sent before\n\n", 1)[1]
    assert sent_before.startswith("- 9 Nov 2026: ")
    assert "Nothing yet" not in sent_before


def test_same_inputs_and_now_give_byte_identical_outputs(
    fetched: Path, out: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    digest_all(fetched, again)
    first = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    second = sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert first == second and len(first) == len(ACCOUNTS) * len(FORMATS)
    for name in first:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name


def test_an_empty_digest_says_so_and_the_note_explains_why(fetched: Path, tmp_path: Path) -> None:
    args = [f"--format={f}" for f in FORMATS]
    late = "2027-06-01T09:00:00Z"  # every example item is older than max_age_days by then
    result = run_kb(
        "--project", fetched, "digest", "ridgeline-freight", *args, "--out", tmp_path, "--now", late
    )
    assert result.exit_code == 0
    assert "ridgeline-freight: no note: Nothing worth sending this week" in result.stderr
    folder = tmp_path / "ridgeline-freight"
    assert not (folder / "2027-06-01.note.txt").exists()
    for ext in ("md", "txt", "html", "call.md"):
        assert "Nothing worth sending this week" in (folder / f"2027-06-01.{ext}").read_text()
    subject = parse_eml(folder / "2027-06-01.eml")["Subject"]
    assert subject == "No news worth your time this week"


def test_utm_false_leaves_links_untouched(fetched: Path, tmp_path: Path) -> None:
    project = tmp_path / "p"
    shutil.copytree(fetched, project)
    config = (project / "kb.yml").read_text()
    (project / "kb.yml").write_text(re.sub(r"(?m)^  utm: .*$", "  utm: false", config))
    result = run_kb(
        "--project", project, "digest", "ridgeline-freight", "--format", "txt", "--dry-run"
    )
    assert result.exit_code == 0, result.stderr
    assert "utm_" not in result.stdout
    links = re.findall(r"(?m)^\[\d+\] (\S+)$", result.stdout)
    assert links and all(link.startswith("https://") and "?" not in link for link in links), links


def test_a_project_template_overrides_the_default(fetched: Path, tmp_path: Path) -> None:
    project = tmp_path / "p"
    shutil.copytree(fetched, project)
    (project / "templates").mkdir()
    (project / "templates" / "digest.subject.j2").write_text(
        "For {{ account.name }}: {{ picks | length }} reads\n"
    )
    result = run_kb(
        "--project", project, "digest", "ridgeline-freight", "--format", "eml", "--dry-run"
    )
    message = email.message_from_string(result.stdout, policy=policy.default)
    as_json = run_kb(
        "--project", project, "digest", "ridgeline-freight", "--format=json", "--dry-run"
    )
    count = len(json.loads(as_json.stdout)["items"])
    assert message["Subject"] == f"For Ridgeline Freight: {count} reads"
    assert f"<title>For Ridgeline Freight: {count} reads</title>" in content(
        message.get_body(("html",))
    )
