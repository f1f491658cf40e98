"""Hostile or broken input and faulty systems give one clear line and exit 1, never a traceback,
an escape sequence on the terminal, a leaked file or a changed email recipient."""

from __future__ import annotations

import base64
import email
import errno
import json
import re
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import markdown
import pytest
from conftest import EXAMPLE_NOW, run_kb
from hypothesis import example, given
from hypothesis import strategies as st

from generator.addresses import email_problem
from generator.mail import email_draft
from generator.markup import md_escape
from generator.models import Rep, Stakeholder
from generator.printable import printable
from generator.store import open_store

ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x9b31m\u202e\ufeff"


def add_to_account(root: Path, text: str) -> Path:
    account = root / "content" / "accounts" / "ridgeline-freight.yml"
    account.write_text(account.read_text() + text)
    return account


# --- terminal text -------------------------------------------------------------------------


def test_kb_check_prints_no_escape_sequences_and_cuts_long_values(example: Path) -> None:
    value = "\\e[31mNot a slug\\e]0;pwned\\a" + "x" * 500
    topics = example / "content" / "topics.yml"
    topics.write_text(topics.read_text().replace("id: driver-workforce", f'id: "{value}"', 1))
    result = run_kb("--project", example, "check")
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    line = next(x for x in result.stderr.splitlines() if "must be a slug" in x)
    assert "'Not a slugxxxx" in line and "[31m" not in line and "pwned" not in line
    assert len(line) < len(str(topics)) + 200, "a long value is cut in the message"


@given(st.text())
def test_printable_leaves_no_control_character(text: str) -> None:
    cleaned = printable(text)
    assert not any(
        (ord(c) < 32 and c not in "\t\n") or 0x7F <= ord(c) <= 0x9F or c == "\ufeff"
        for c in cleaned
    )
    assert printable(cleaned) == cleaned


_WORDS = st.text(st.characters(exclude_categories=("Cc", "Cs")))
_PARAMETERS = st.text(st.characters(min_codepoint=0x30, max_codepoint=0x3F))
_INTERMEDIATES = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x2F))
_ESCAPE_SEQUENCES = st.one_of(
    st.tuples(
        st.sampled_from(["\x1b[", "\x9b"]),
        _PARAMETERS,
        _INTERMEDIATES,
        st.characters(min_codepoint=0x40, max_codepoint=0x7E),
    ),
    st.tuples(
        st.sampled_from(["\x1b]", "\x1bP", "\x1bX", "\x1b^", "\x1b_", "\x90", "\x98", "\x9d"]),
        _WORDS,
        st.sampled_from(["\x07", "\x1b\\", "\x9c"]),
    ),
    st.tuples(
        st.just("\x1b"),
        _INTERMEDIATES.filter(bool),
        st.characters(min_codepoint=0x30, max_codepoint=0x7E),
    ),
    st.tuples(
        st.just("\x1b"),
        st.characters(min_codepoint=0x30, max_codepoint=0x7E).filter(lambda c: c not in "[]PX^_"),
    ),
).map("".join)


@given(st.lists(st.tuples(_WORDS, _ESCAPE_SEQUENCES)), _WORDS)
@example([("Vet tech turnover hits ", "\x1b[31m"), ("record", "\x1b[0m")], " high")
@example([("quit ", "\x1b]0;pwned\x07"), ("", "\x1b[2J"), ("", "\x9b31m")], "")
def test_printable_drops_escape_sequences_whole(pieces: list[tuple[str, str]], last: str) -> None:
    """What a terminal would show of text with escape sequences is all that is left of it."""
    text = "".join(word + sequence for word, sequence in pieces) + last
    cleaned = printable(text)
    assert cleaned == printable("".join(word for word, _ in pieces) + last)
    assert not any((ord(c) < 32 and c not in "\t\n") or 0x7F <= ord(c) <= 0x9F for c in cleaned)
    assert printable(cleaned) == cleaned


class EvilServer:
    """A loopback HTTP server whose status line carries terminal escapes."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 503 Busy \x9b31m\xc2\x9b\x1b]0;pwned\x07 now\r\n"
                    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                )


@pytest.fixture
def evil_server() -> Iterator[EvilServer]:
    server = EvilServer()
    yield server
    server.sock.close()


def test_a_reason_phrase_with_escapes_is_neither_printed_nor_stored(
    example: Path, evil_server: EvilServer
) -> None:
    (example / "feeds" / "feeds.yml").write_text(
        f"feeds:\n  - name: evil\n    url: http://127.0.0.1:{evil_server.port}/feed.xml\n"
    )
    fetched = run_kb("--project", example, "fetch")
    assert fetched.exit_code == 0
    assert "feed evil:" in fetched.stderr
    listed = run_kb("--project", example, "feeds")
    as_json = run_kb("--project", example, "feeds", "--format", "json")
    for output in (fetched.stderr, fetched.stdout, listed.stdout, as_json.stdout):
        assert not any(c in output for c in "\x1b\x07\x9b"), repr(output)
    (state,) = json.loads(as_json.stdout)
    assert state["last_error"] and not any(c in state["last_error"] for c in "\x1b\x07\x9b")


def test_byte_order_marks_in_yaml_values_do_not_reach_outputs(example: Path) -> None:
    account = example / "content" / "accounts" / "ridgeline-freight.yml"
    account.write_text(account.read_text().replace("name: ", 'name: "\\uFEFF', 1), "utf-8")
    text = account.read_text()
    first = next(line for line in text.splitlines() if line.startswith("name: "))
    account.write_text(text.replace(first, first + '"', 1))
    assert run_kb("--project", example, "digest", "ridgeline-freight", "--now", EXAMPLE_NOW)
    out = example / "build" / "digests" / "ridgeline-freight" / "2026-11-16.md"
    assert out.read_text().startswith("# Ridgeline Freight")


# --- Markdown ------------------------------------------------------------------------------


@given(st.text())
@example("Driver turnover {: onclick=alert(1) }")
@example("{: .x #y }")
@example("[click](javascript:alert(1)) ![i](data:x)")
@example("<script>alert(1)</script> &lt;b&gt;")
@example('--8<-- "/etc/passwd"')
@example("# heading\n1. list\n---\n> quote\n    code\n| a | b |")
def test_md_escaped_text_stays_text_wherever_a_template_puts_it(text: str) -> None:
    """Whatever the text, in a heading, a list item, a table cell or a paragraph, Markdown
    with attribute lists and raw HTML makes no attribute, link, image or element of it."""
    safe = md_escape(text)
    page = (
        f"# {safe}\n\n- **{safe}** ({safe})\n\n| a | b |\n| --- | --- |\n| {safe} | x |\n\n{safe}\n"
    )
    html = markdown.markdown(page, extensions=["extra", "attr_list", "md_in_html"])
    tags = re.findall(r"<(/?)([a-zA-Z][^\s/>]*)([^>]*)>", html)
    allowed = {"p", "h1", "ul", "li", "strong", "table", "thead", "tbody", "tr", "th", "td"}
    assert {name for _, name, _ in tags} <= allowed, html
    assert all(not attributes.strip() for _, _, attributes in tags), html


# --- email ---------------------------------------------------------------------------------


def test_an_encoded_word_in_a_name_cannot_change_the_recipient() -> None:
    word = "=?utf-8?b?" + base64.b64encode(b"Boss <a@evil.example>").decode() + "?="
    draft = email_draft(
        subject="Hello",
        text="t",
        html="<p>h</p>",
        sender=Rep(word, "rep@ourcompany.example"),
        recipients=[Stakeholder(word, email="dana@customer.example")],
        moment=datetime(2026, 11, 16, 9, tzinfo=UTC),
        msg_id="<kb.x@ourcompany.example>",
    )
    message = email.message_from_string(draft, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert [a.addr_spec for a in message["To"].addresses] == ["dana@customer.example"]
    assert [a.addr_spec for a in message["From"].addresses] == ["rep@ourcompany.example"]
    assert "evil" not in str(message["To"].addresses[0].addr_spec)


def test_two_thousand_recipients_are_folded() -> None:
    people = [Stakeholder(f"Person {i}", email=f"p{i}@customer.example") for i in range(2000)]
    draft = email_draft(
        subject="Hello",
        text="t",
        html="<p>h</p>",
        sender=None,
        recipients=people,
        moment=datetime(2026, 11, 16, 9, tzinfo=UTC),
        msg_id="<kb.x@ourcompany.example>",
    )
    headers = draft.split("\r\n\r\n", 1)[0].split("\r\n")
    start = next(i for i, line in enumerate(headers) if line.startswith("To: "))
    end = next(i for i in range(start + 1, len(headers)) if not headers[i].startswith(" "))
    assert end - start > 100, "the To header spans many lines"
    assert max(len(line) for line in headers[start:end]) <= 78
    assert max(len(line) for line in headers) <= 998
    message = email.message_from_string(draft, policy=policy.default)
    assert len(message["To"].addresses) == 2000


@pytest.mark.parametrize(
    "address", ["a(comment)@x.example", "a..b@x.example", "a@x.example.", "dana@cust omer.example"]
)
def test_kb_check_refuses_an_email_the_eml_writer_would_refuse(example: Path, address: str) -> None:
    assert email_problem(address)
    account = example / "content" / "accounts" / "ridgeline-freight.yml"
    text = account.read_text()
    first = next(line for line in text.splitlines() if line.strip().startswith("email: "))
    account.write_text(text.replace(first, first.split("email:")[0] + f"email: '{address}'", 1))
    result = run_kb("--project", example, "check")
    assert result.exit_code == 1
    assert f"{account}:" in result.stderr and "'email' is not a" in result.stderr


# --- symlinks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "content/notes/leak.md",
        "content/accounts/leak.yml",
        "content/leak.md",
        "content/notes",
        "templates/digest.md.j2",
    ],
)
def test_a_symlink_that_leads_outside_the_project_is_refused(example: Path, link: str) -> None:
    secret = example.parent / "secret"
    secret.mkdir()
    (secret / ".env").write_text("---\ntitle: AWS_SECRET=hunter2\ndate: 2026-11-01\n---\nhunter2\n")
    path = example / link
    if path.is_dir():
        import shutil

        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(secret if link == "content/notes" else secret / ".env")
    for command in ("check", "build"):
        result = run_kb("--project", example, command)
        assert result.exit_code == 1
        assert f"{path}: is a symbolic link to outside the project" in result.stderr
        assert "hunter2" not in result.output
    assert not (example / "site").exists()


def test_a_symlink_inside_the_project_is_fine(example: Path) -> None:
    notes = example / "content" / "notes"
    (notes / "alias.md").symlink_to(notes / "detention-cost-conversation.md")
    assert run_kb("--project", example, "check").exit_code == 0


# --- crashes to clear errors ---------------------------------------------------------------


def test_a_full_disk_is_one_line_naming_the_file(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("generator.outputs.os.fsync", full)
    result = run_kb("--project", example, "build", "--no-site")
    assert result.exit_code == 1
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert line.endswith(": could not write: No space left on device")
    assert f"{example}/build/digests/" in line and ".tmp" not in line
    assert not [p for p in (example / "build").rglob("*.tmp")]
    store = open_store(example / ".kb")
    try:
        assert store.history("ridgeline-freight") == [], "nothing is recorded as sent"
    finally:
        store.close()


def test_a_read_only_site_folder_names_the_site_and_keeps_the_old_one(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_kb("--project", example, "build").exit_code == 0
    before = (example / "site" / "index.html").read_bytes()

    def read_only(self: Path, target: Path) -> Path:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(Path, "rename", read_only)
    result = run_kb("--project", example, "build", "--offline", "--now", "2026-11-23")
    assert result.exit_code == 1
    assert f"error: {example}/site: could not write the site: Read-only file system" in (
        result.stderr
    )
    assert "internal error" not in result.stderr
    assert (example / "site" / "index.html").read_bytes() == before


def test_a_read_only_output_folder_names_the_output_not_a_temp_file(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", "/x/.2026-11-16.md.abc.tmp")

    monkeypatch.setattr("generator.outputs.tempfile.mkstemp", denied)
    result = run_kb("--project", example, "digest", "ridgeline-freight", "--now", EXAMPLE_NOW)
    assert result.exit_code == 1
    expected = example / "build" / "digests" / "ridgeline-freight" / "2026-11-16.md"
    assert f"error: {expected}: could not write: Permission denied" in result.stderr
    assert ".tmp" not in result.stderr


def test_a_nul_in_a_feed_url_is_a_check_error(example: Path) -> None:
    feeds = example / "feeds" / "feeds.yml"
    feeds.write_text(feeds.read_text().replace("url: freight-wire.xml", 'url: "free\\0.xml"'))
    result = run_kb("--project", example, "check")
    assert result.exit_code == 1
    assert f"{feeds}:" in result.stderr and "'url' contains a NUL character" in result.stderr


# --- notes ---------------------------------------------------------------------------------


def test_a_huge_note_is_refused_with_its_size(example: Path) -> None:
    note = example / "content" / "notes" / "huge.md"
    body = ("Driver turnover and driver retention. " * 40 + "\n\n") * 800
    note.write_text(f"---\ntitle: Huge\ndate: 2026-11-10\n---\n{body}")
    result = run_kb("--project", example, "check")
    assert result.exit_code == 1
    assert f"{note}:1: note is 1.2 MB, the limit is 1 MB" in result.stderr


def test_only_a_notes_lead_reaches_digests_and_the_newsletter(example: Path) -> None:
    note = example / "content" / "notes" / "long-note.md"
    lead = "Driver turnover starts in the first 90 days. " * 80
    rest = "\n\nRep-only advice that the customer should never read. " * 50
    note.write_text(
        "---\ntitle: Long\ndate: 2026-11-12\ntopics: [driver-workforce]\n"
        f"accounts: [ridgeline-freight]\n---\n{lead}{rest}"
    )
    assert run_kb("--project", example, "build").exit_code == 0
    digest = (example / "build" / "digests" / "ridgeline-freight" / "2026-11-16.md").read_text()
    newsletter = (example / "build" / "newsletter" / "2026-W47.md").read_text()
    page = (example / "site" / "notes" / "long-note.html").read_text()
    assert "Driver turnover starts" in digest and "Rep-only advice" not in digest
    assert "Rep-only advice" not in newsletter
    assert len(digest) < len(lead) + 20_000, "the lead itself is capped"
    assert page.count("Rep-only advice") == 50, "the note's own page has it all"
