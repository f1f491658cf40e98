"""Sending an archived newsletter issue over SMTP: one message per recipient, each at most once.

What is sent is the archive entry (``content/newsletters/YYYY-Www.md``) as it stands: its body is
the plain-text part (Markdown reads as text) and, rendered and sanitized, the HTML part; its
``title`` is the subject. An editor's corrections in a review pull request are therefore what
goes out.

Each message is recorded in the store as soon as the server accepted it, in its own transaction,
so a run that fails half-way resumes with the recipients not yet served, and a second run sends
nothing (unless ``--resend``). If the process dies between the server's "250 OK" and the record,
the re-run sends that one message again, with the same Message-ID: a recipient's server that
de-duplicates on it (Gmail does) shows it once.

Errors, one line per recipient, decide whether the run goes on: a refused recipient or a rejected
message is that recipient's problem (the rest continue); a failed login, a lost connection or a
server closing the channel (421) stops the run at once (every later message would fail too). The
password comes only from ``KB_SMTP_PASSWORD`` and is never printed: any server text that echoes
it is masked.
"""

from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from urllib.parse import quote

from .config import is_email
from .exceptions import ConfigError, ConfigErrors, KbError, UsageError
from .mail import BODY_POLICY, HEADERS_POLICY, inline_css
from .mail import address as mail_address
from .models import ArchivedIssue, NewsletterSettings, SmtpSettings
from .yamlfile import read_text

USER_ENV = "KB_SMTP_USER"
PASSWORD_ENV = "KB_SMTP_PASSWORD"


STOPPERS = (smtplib.SMTPAuthenticationError, smtplib.SMTPSenderRefused)
"""Replies that every later message would get too: the run stops at the first."""


class DeliveryError(KbError):
    """The SMTP server could not be reached or refused us; nothing more can be sent this run."""


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str


@dataclass(frozen=True)
class Outgoing:
    """One message, ready for the server: its envelope and its bytes (CRLF line endings)."""

    sender: str
    recipient: str
    message_id: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


def outgoing(message: EmailMessage, sender: str, recipient: str, msg_id: str) -> Outgoing:
    """Serialized with headers unfolded up to RFC 5322's limit (see :mod:`generator.mail`):
    a folded List-Unsubscribe would reach some readers with a leading space in the URL."""
    return Outgoing(sender, recipient, msg_id, message.as_bytes(policy=HEADERS_POLICY))


@dataclass(frozen=True)
class Failure:
    recipient: str
    reason: str


# --- pure decisions -----------------------------------------------------------------------


def credentials(settings: SmtpSettings, env: Mapping[str, str]) -> Credentials | None:
    """The login: user from ``KB_SMTP_USER`` or kb.yml, password only from ``KB_SMTP_PASSWORD``.
    No user means no login (a relay that trusts the runner)."""
    user = env.get(USER_ENV, "").strip() or settings.user
    if not user:
        return None
    password = env.get(PASSWORD_ENV, "")
    if not password:
        raise UsageError(f"the SMTP user is {user} but {PASSWORD_ENV} is not set")
    return Credentials(user, password)


def to_send(recipients: Sequence[str], sent: Collection[str], resend: bool) -> list[str]:
    """The recipients this run sends to: each once, in order, skipping those already served."""
    unique = list(dict.fromkeys(r.casefold() for r in recipients))
    return unique if resend else [r for r in unique if r not in sent]


def message_id(week: str, recipient: str, sender: str, resent_at: datetime | None = None) -> str:
    """``<kb.newsletter.2026-W47.3f2a…@ourcompany.example>``: the same for every retry, so a
    server that already took it can drop the copy; a ``--resend`` is a new message."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "knowledge-broker.invalid"
    who = hashlib.sha256(recipient.casefold().encode()).hexdigest()[:16]
    again = f".resent-{resent_at:%Y%m%dT%H%M%SZ}" if resent_at else ""
    return f"<kb.newsletter.{week}.{who}{again}@{domain}>"


def unsubscribe_url(template: str, recipient: str) -> str:
    """The unsubscribe link, with ``{email}`` replaced by the recipient's address (URL-quoted)."""
    return template.replace("{email}", quote(recipient, safe="@"))


def build_message(
    *,
    issue: ArchivedIssue,
    html: str,
    settings: NewsletterSettings,
    team: str,
    recipient: str,
    msg_id: str,
    now: datetime,
) -> EmailMessage:
    """One recipient's message: plain text and HTML, with RFC 2369/8058 unsubscribe headers.

    One-click unsubscribe (``List-Unsubscribe-Post``) needs an https link (RFC 8058); a
    ``mailto:`` link gets the plain ``List-Unsubscribe`` header only.
    """
    name, address = parseaddr(settings.sender)
    msg = EmailMessage(policy=BODY_POLICY)
    msg["From"] = mail_address(name or team, address, "newsletter 'from'")
    msg["To"] = mail_address("", recipient, "recipient")
    msg["Subject"] = " ".join((issue.title or f"{team} weekly: {issue.week}").split())
    msg["Date"] = format_datetime(now, usegmt=True)
    msg["Message-ID"] = msg_id
    link = unsubscribe_url(settings.unsubscribe, recipient)
    msg["List-Unsubscribe"] = f"<{link}>"
    if link.startswith("https://"):
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["List-Id"] = f"{team} weekly <newsletter.{address.rpartition('@')[2]}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(issue.body, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(inline_css(html), subtype="html", charset="utf-8", cte="quoted-printable")
    seed = hashlib.sha256(f"{msg_id}\0{issue.body}".encode()).hexdigest()[:32]
    msg.set_boundary(f"=_kb_{seed}")
    return msg


# --- the recipients file --------------------------------------------------------------------


def read_recipients(path: Path) -> list[str]:
    """One address a line; blank lines and ``#`` comments are skipped; every bad line is
    reported, as ``path:line: message``."""
    errors: list[ConfigError] = []
    text = read_text(path, errors)
    out: list[str] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        address = line.split("#", 1)[0].strip()
        if address and not is_email(address):
            errors.append(ConfigError(path, number, f"not an email address: '{address}'"))
        elif address:
            out.append(address)
    if errors:
        raise ConfigErrors(errors)
    return out


# --- the edge: talking to the server ------------------------------------------------------


@contextmanager
def smtp_session(settings: SmtpSettings, login: Credentials | None) -> Iterator[smtplib.SMTP]:
    """A connected (and, if asked, encrypted and logged-in) SMTP session."""
    context = ssl.create_default_context()
    where = f"{settings.host}:{settings.port}"
    try:
        if settings.security == "tls":
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            server = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        if settings.security == "starttls":
            server.starttls(context=context)
        if login is not None:
            server.login(login.user, login.password)
    except smtplib.SMTPAuthenticationError as e:
        raise DeliveryError(f"SMTP {where}: login as {login.user if login else '?'} failed: "
                            f"{_reply(e, login)}") from None  # fmt: skip
    except (smtplib.SMTPException, OSError, ssl.SSLError) as e:
        raise DeliveryError(f"SMTP {where}: cannot connect: {_reason(e, login)}") from None
    try:
        yield server
    finally:
        try:
            server.quit()
        except (smtplib.SMTPException, OSError):
            server.close()


def send_all(
    outgoing: Sequence[Outgoing],
    settings: SmtpSettings,
    login: Credentials | None,
    record: Callable[[Outgoing], None],
    sent_one: Callable[[Outgoing], None] = lambda _: None,
) -> list[Failure]:
    """Send each message; ``record`` it the moment the server accepts it. Returns the failures;
    raises :class:`DeliveryError` (after recording what went out) when the run must stop."""
    failures: list[Failure] = []
    if not outgoing:
        return failures
    with smtp_session(settings, login) as server:
        for index, out in enumerate(outgoing):
            try:
                server.sendmail(out.sender, [out.recipient], out.data)
            except smtplib.SMTPRecipientsRefused as e:
                code, text = e.recipients.get(out.recipient, (0, b""))
                if code == 421:
                    _stop(out, outgoing[index:], f"{code} {_text(text, login)}")
                failures.append(Failure(out.recipient, f"refused: {code} {_text(text, login)}"))
                continue
            except smtplib.SMTPResponseException as e:
                if e.smtp_code == 421 or isinstance(e, STOPPERS):
                    _stop(out, outgoing[index:], _reply(e, login))
                failures.append(Failure(out.recipient, f"rejected: {_reply(e, login)}"))
                continue
            except (smtplib.SMTPException, OSError) as e:
                _stop(out, outgoing[index:], _reason(e, login))
            record(out)
            sent_one(out)
    return failures


def _stop(out: Outgoing, left: Sequence[Outgoing], reason: str) -> None:
    raise DeliveryError(
        f"{out.recipient}: not sent: {reason}; stopped with {len(left)} message(s) not sent"
        " (run the same command again to send them)"
    )


def _text(raw: bytes | str, login: Credentials | None) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    text = " ".join(text.split())
    if login is not None and login.password:
        text = text.replace(login.password, "***")
    return text


def _reply(e: smtplib.SMTPResponseException, login: Credentials | None) -> str:
    return f"{e.smtp_code} {_text(e.smtp_error, login)}"


def _reason(e: BaseException, login: Credentials | None) -> str:
    if isinstance(e, smtplib.SMTPResponseException):
        return _reply(e, login)
    if isinstance(e, socket.timeout | TimeoutError):
        return "timed out"
    return _text(str(e) or type(e).__name__, login)
