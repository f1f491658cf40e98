"""``kb newsletter --send`` against a real SMTP server on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import json
import re
import shutil
import socket
import ssl
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from conftest import copy_example, run_kb

# the test server accepts AUTH over a plain connection, and aiosmtpd warns about it
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

PASSWORD = "s3cret-Pa55word-never-shown"
TEAM_LIST = ["ana@customer.example", "ben@customer.example"]
FROM_FILE = "cara@northbeam.example"
EVERYONE = [*TEAM_LIST, FROM_FILE]
W47 = Path("content/newsletters/2026-W47.md")


class Inbox:
    """An aiosmtpd handler that keeps what it accepted; it can refuse an address, or answer
    '421 shutting down' once it has taken ``fail_after`` messages."""

    def __init__(self, fail_after: int | None = None, refuse: tuple[str, ...] = ()) -> None:
        self.fail_after = fail_after
        self.refuse = refuse
        self.received: list[tuple[list[str], EmailMessage]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.fail_after is not None and len(self.received) >= self.fail_after:
            return "421 4.3.2 service shutting down"
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 2.0.0 accepted"

    def recipients(self) -> list[str]:
        return [r for rcpts, _ in self.received for r in rcpts]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = (
        isinstance(data, LoginPassword)
        and data.login == b"mailer"
        and data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self, inbox: Inbox, auth: bool = False, **tls: Any) -> Inbox:
        """``tls``: aiosmtpd's ``tls_context`` (STARTTLS) or ``ssl_context`` (implicit TLS)."""
        self.stop()
        extra: dict[str, Any] = dict(tls)
        if auth:
            extra |= {"authenticator": authenticate, "auth_required": True}
            # aiosmtpd counts only STARTTLS as TLS for AUTH; implicit TLS is TLS all the same
            extra.setdefault("auth_require_tls", "tls_context" in tls)
        self.controller = Controller(inbox, hostname="127.0.0.1", port=self.port, **extra)
        self.controller.start()
        return inbox

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example with its 2026-W47 issue archived (built once for the module)."""
    root = copy_example(tmp_path_factory.mktemp("built") / "example")
    assert run_kb("--project", root, "fetch").exit_code == 0
    assert run_kb("--project", root, "newsletter").exit_code == 0
    return root


def project_for(
    built: Path, tmp_path: Path, port: int, user: str = "", security: str = "none"
) -> Path:
    root = tmp_path / "project"
    shutil.copytree(built, root, ignore=shutil.ignore_patterns(".kb"))
    smtp = f"host: 127.0.0.1, port: {port}, security: {security}, timeout: 10"
    smtp += f", user: {user}" if user else ""
    with (root / "kb.yml").open("a", encoding="utf-8") as settings:
        settings.write(
            "\nnewsletter:\n"
            "  from: 'Northbeam Insights <insights@northbeam.example>'\n"
            f"  recipients: [{', '.join(TEAM_LIST)}]\n"
            "  recipients_file: recipients.txt\n"
            f"  smtp: {{{smtp}}}\n"
            "  unsubscribe: 'https://northbeam.example/unsubscribe?email={email}'\n"
        )
    (root / "recipients.txt").write_text(f"# the sales team\n\n{FROM_FILE}  # Cara\n")
    return root


def send(root: Path, *args: str) -> Any:
    return run_kb("--project", root, "newsletter", "--send", *args)


def test_each_recipient_gets_one_message_with_both_parts_and_unsubscribe_headers(
    built: Path, tmp_path: Path, smtp: SmtpServer
) -> None:
    inbox = smtp.start(Inbox())
    root = project_for(built, tmp_path, smtp.port)
    result = send(root)
    assert result.exit_code == 0, result.output
    assert sorted(inbox.recipients()) == sorted(EVERYONE)
    assert all(len(rcpts) == 1 for rcpts, _ in inbox.received)
    archived = (root / W47).read_text(encoding="utf-8")
    ids = set()
    for (rcpt,), message in inbox.received:
        assert message["To"] == rcpt
        assert message["From"] == "Northbeam Insights <insights@northbeam.example>"
        assert message["Subject"] == "Northbeam Sales Insights weekly: 2026-W47"
        assert message["List-Unsubscribe"] == (
            f"<https://northbeam.example/unsubscribe?email={rcpt}>"
        )
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert re.fullmatch(
            r"<kb\.newsletter\.2026-W47\.[0-9a-f]{16}@northbeam\.example>", message["Message-ID"]
        )
        ids.add(message["Message-ID"])
        assert message.get_content_type() == "multipart/alternative"
        plain = message.get_body(("plain",))
        html = message.get_body(("html",))
        assert plain is not None and html is not None
        text = plain.get_content()
        assert (
            text == archived.split("---\n", 2)[2].replace("\n", "\r\n")
            or text == (archived.split("---\n", 2)[2])
        )
        assert "<h1" in html.get_content() and "style=" in html.get_content()
    assert len(ids) == 3
    assert "sent 2026-W47 to 3 of 3 recipients" in result.stdout
    again = send(root)
    assert again.exit_code == 0, again.output
    assert "already sent to all 3 recipients; nothing sent" in again.stdout
    assert len(inbox.received) == 3


def test_a_failed_run_resumes_and_nobody_gets_two(
    built: Path, tmp_path: Path, smtp: SmtpServer
) -> None:
    first = smtp.start(Inbox(fail_after=2))
    root = project_for(built, tmp_path, smtp.port)
    failed = send(root)
    assert failed.exit_code == 1
    assert len(first.received) == 2
    assert re.search(
        r"error: \S+: not sent: 421 4\.3\.2 service shutting down; stopped with 1 message\(s\)"
        r" not sent \(run the same command again to send them\)",
        failed.stderr,
    ), failed.stderr
    second = smtp.start(Inbox())
    resumed = send(root)
    assert resumed.exit_code == 0, resumed.output
    assert "(2 already had it)" in resumed.stdout
    assert sorted(first.recipients() + second.recipients()) == sorted(EVERYONE)
    # the resumed message is the one the first run would have sent: same Message-ID scheme
    ((_, message),) = second.received
    assert message["Message-ID"].startswith("<kb.newsletter.2026-W47.")


def test_resend_sends_everyone_a_new_message(built: Path, tmp_path: Path, smtp: SmtpServer) -> None:
    inbox = smtp.start(Inbox())
    root = project_for(built, tmp_path, smtp.port)
    assert send(root).exit_code == 0
    first_ids = {m["Message-ID"] for _, m in inbox.received}
    result = send(root, "--resend", "--now", "2026-11-17T08:00:00Z")
    assert result.exit_code == 0, result.output
    assert sorted(inbox.recipients()) == sorted(EVERYONE * 2)
    resent_ids = {m["Message-ID"] for _, m in inbox.received[3:]}
    assert len(resent_ids) == 3 and not resent_ids & first_ids
    assert all(i.endswith(".resent-20261117T080000Z@northbeam.example>") for i in resent_ids)


def test_a_refused_recipient_does_not_stop_the_others(
    built: Path, tmp_path: Path, smtp: SmtpServer
) -> None:
    inbox = smtp.start(Inbox(refuse=("ana@customer.example",)))
    root = project_for(built, tmp_path, smtp.port)
    result = send(root)
    assert result.exit_code == 1
    assert sorted(inbox.recipients()) == ["ben@customer.example", FROM_FILE]
    assert "error: ana@customer.example: refused: 550 5.1.1 no such mailbox here" in result.stderr
    assert "sent 2026-W47 to 2 of 3 recipients" in result.stdout
    # once the address is fixed on the server side, only she is sent the issue
    retry = smtp.start(Inbox())
    assert send(root).exit_code == 0
    assert retry.recipients() == ["ana@customer.example"]


def test_login_uses_the_environment_and_never_shows_the_password(
    built: Path, tmp_path: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = smtp.start(Inbox(), auth=True)
    root = project_for(built, tmp_path, smtp.port, user="mailer")
    monkeypatch.delenv("KB_SMTP_USER", raising=False)
    monkeypatch.delenv("KB_SMTP_PASSWORD", raising=False)
    missing = send(root)
    assert missing.exit_code == 2
    assert "the SMTP user is mailer but KB_SMTP_PASSWORD is not set" in missing.stderr
    monkeypatch.setenv("KB_SMTP_PASSWORD", PASSWORD + "-wrong")
    wrong = send(root)
    assert wrong.exit_code == 1
    assert "login as mailer failed: 535" in wrong.stderr
    assert PASSWORD not in wrong.output
    assert inbox.received == []
    monkeypatch.setenv("KB_SMTP_PASSWORD", PASSWORD)
    ok = send(root)
    assert ok.exit_code == 0, ok.output
    assert PASSWORD not in ok.output
    assert len(inbox.received) == 3
    # KB_SMTP_USER wins over kb.yml's user
    monkeypatch.setenv("KB_SMTP_USER", "someone-else")
    other = send(root, "--resend")
    assert other.exit_code == 1 and "login as someone-else failed" in other.stderr


def test_dry_run_lists_what_it_would_send_and_sends_nothing(
    built: Path, tmp_path: Path, smtp: SmtpServer
) -> None:
    inbox = smtp.start(Inbox())
    root = project_for(built, tmp_path, smtp.port)
    result = send(root, "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "would send 2026-W47 'Northbeam Sales Insights weekly: 2026-W47' to 3 recipients\n"
    )
    for address in EVERYONE:
        assert re.search(
            rf"^  {re.escape(address)}  [\d,]+ bytes  <kb\.newsletter\.", result.stdout, re.M
        )
    assert inbox.received == []
    assert send(root).exit_code == 0
    assert len(inbox.received) == 3


def test_what_is_sent_is_the_archive_entry_as_an_editor_left_it(
    built: Path, tmp_path: Path, smtp: SmtpServer
) -> None:
    inbox = smtp.start(Inbox())
    root = project_for(built, tmp_path, smtp.port)
    text = (root / W47).read_text(encoding="utf-8")
    title = "title: 'Northbeam Sales Insights weekly: 2026-W47'"
    assert title in text
    text = text.replace(title, "title: Edited subject")
    text += "\nA word from the editor.\n\n<script>alert(1)</script>\n"
    (root / W47).write_text(text, encoding="utf-8")
    assert send(root).exit_code == 0
    _, message = inbox.received[0]
    assert message["Subject"] == "Edited subject"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert "A word from the editor." in plain.get_content()
    assert "A word from the editor." in html.get_content()
    assert "<script" not in html.get_content()


def test_send_needs_delivery_settings_and_an_archived_issue(
    built: Path, tmp_path: Path, smtp: SmtpServer
) -> None:
    plain = tmp_path / "plain"
    shutil.copytree(built, plain, ignore=shutil.ignore_patterns(".kb"))
    result = send(plain)
    assert result.exit_code == 2
    assert "newsletter delivery is not set up" in result.stderr
    root = project_for(built, tmp_path, smtp.port)
    missing = send(root, "--week", "2026-W30")
    assert missing.exit_code == 2
    assert "no archived issue for 2026-W30" in missing.stderr
    assert "kb newsletter --week 2026-W30" in missing.stderr
    resend = run_kb("--project", root, "newsletter", "--resend")
    assert resend.exit_code == 2 and "--resend goes with --send" in resend.stderr
    forced = send(root, "--force")
    assert forced.exit_code == 2 and "--out and --force build one" in forced.stderr


def test_half_set_up_delivery_is_a_located_check_error(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "example")
    with (root / "kb.yml").open("a", encoding="utf-8") as settings:
        settings.write(
            "\nnewsletter:\n"
            "  recipients: [ana@customer.example, not-an-address]\n"
            "  smtp: {host: mail.example, security: ssl}\n"
            "  unsubscribe: http://example.com/u\n"
        )
    result = run_kb("--project", root, "check")
    assert result.exit_code == 1
    lines = [line.replace(str(root) + "/", "") for line in result.stderr.splitlines()]
    assert lines == [
        "kb.yml:20: 'recipients' has an entry that is not an email address: 'not-an-address'",
        "kb.yml:20: newsletter delivery needs from, unsubscribe in 'newsletter'",
        "kb.yml:21: 'security' must be one of starttls, tls, none, got 'ssl'",
        "kb.yml:22: 'unsubscribe' must be a mailto: or https:// URL, got 'http://example.com/u'",
        "4 problems found; nothing was written.",
    ]


def test_a_bad_recipients_file_line_is_located(
    built: Path, tmp_path: Path, smtp: SmtpServer
) -> None:
    smtp.start(Inbox())
    root = project_for(built, tmp_path, smtp.port)
    (root / "recipients.txt").write_text("cara@northbeam.example\n\nnot an address\nx@\n")
    result = send(root, "--dry-run")
    assert result.exit_code == 1
    path = root / "recipients.txt"
    assert result.stderr.splitlines() == [
        f"{path}:3: not an email address: 'not an address'",
        f"{path}:4: not an email address: 'x@'",
        "2 problems found; nothing was written.",
    ]
    (root / "recipients.txt").unlink()
    gone = send(root, "--dry-run")
    assert gone.exit_code == 1
    assert gone.stderr.startswith(f"{path}: cannot read: ")


@pytest.fixture
def certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server certificate for 127.0.0.1 from a test CA that the client is told to trust."""
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_starttls_and_tls_verify_the_server_and_log_in(
    built: Path,
    tmp_path: Path,
    smtp: SmtpServer,
    certificate: ssl.SSLContext,
    monkeypatch: pytest.MonkeyPatch,
    security: str,
) -> None:
    tls = (
        {"tls_context": certificate, "require_starttls": True}
        if security == "starttls"
        else {"ssl_context": certificate}
    )
    inbox = smtp.start(Inbox(), auth=True, **tls)
    root = project_for(built, tmp_path, smtp.port, user="mailer", security=security)
    monkeypatch.setenv("KB_SMTP_PASSWORD", PASSWORD)
    result = send(root)
    assert result.exit_code == 0, result.output
    assert sorted(inbox.recipients()) == sorted(EVERYONE)
    assert PASSWORD not in result.output


def test_an_untrusted_certificate_sends_nothing(
    built: Path,
    tmp_path: Path,
    smtp: SmtpServer,
    certificate: ssl.SSLContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")
    inbox = smtp.start(Inbox(), tls_context=certificate, require_starttls=True)
    root = project_for(built, tmp_path, smtp.port, security="starttls")
    result = send(root)
    assert result.exit_code == 1
    assert f"error: SMTP 127.0.0.1:{smtp.port}: cannot connect: " in result.stderr
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr
    assert inbox.received == []
    assert (
        json.loads(run_kb("--project", root, "newsletter", "--status", "--format", "json").stdout)[
            "sent"
        ]
        == 0
    )
