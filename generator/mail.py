"""The email side of a digest: CSS inlining for the HTML body, and the ready-to-send MIME draft.

Mail clients ignore most ``<style>`` blocks (Gmail keeps them only in part, Outlook desktop
ignores classes), so every rule is inlined into ``style=""`` attributes by css-inline. Only
``@media`` rules cannot be inlined (dark mode, narrow screens); they stay in one ``<style>``.

The draft is built with the stdlib ``email`` package. Everything that would differ between two
runs of the same digest is derived from it instead: the Date from ``now``, the Message-ID from
the account, date and the rep's domain, the MIME boundary from a hash of the content. So the
same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

import css_inline

from .addresses import address as header_address
from .exceptions import RenderError
from .models import Rep, Stakeholder
from .yamlfile import quote

FALLBACK_DOMAIN = "knowledge-broker.invalid"
# Headers are written unfolded up to RFC 5322's hard limit: folding a subject onto its own
# line is legal, but some readers (Python's own parser among them) then show a leading space.
# Bodies are encoded earlier, with quoted-printable's own limit of 76 characters a line.
ADDRESS_HEADERS = frozenset({"from", "to", "cc", "bcc", "reply-to"})


class _HeadersPolicy(policy.EmailPolicy):
    """Address headers fold at 78 characters (a digest for a large team lists many people);
    the others are left whole up to RFC 5322's limit."""

    def fold(self, name: str, value: str) -> str:
        if name.lower() in ADDRESS_HEADERS:
            folded: str = policy.SMTP.fold(name, value)
        else:
            folded = super().fold(name, value)
        return folded

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in ADDRESS_HEADERS:
            folded_bytes: bytes = policy.SMTP.fold_binary(name, value)
        else:
            folded_bytes = super().fold_binary(name, value)
        return folded_bytes


HEADERS_POLICY = _HeadersPolicy(linesep="\r\n", max_line_length=997)
"""997, not 998: Python's folder can end a line one character past its limit."""
BODY_POLICY = policy.SMTP.clone(max_line_length=76)

_INLINER = css_inline.CSSInliner(
    inline_style_tags=True,
    keep_style_tags=False,
    keep_link_tags=False,
    keep_at_rules=True,
    load_remote_stylesheets=False,
)


def inline_css(html: str) -> str:
    """Move the template's CSS into ``style`` attributes; ``@media`` rules stay in ``<style>``."""
    try:
        inlined: str = _INLINER.inline(html)
    except (css_inline.InlineError, ValueError) as e:
        raise RenderError(f"digest.html.j2: could not inline its CSS: {e}") from e
    return _style_after_meta(inlined).rstrip("\n") + "\n"


_STYLE = re.compile(r"<style>.*?</style>\s*", re.DOTALL)


def _style_after_meta(page: str) -> str:
    """css-inline puts the kept ``@media`` rules first in ``<head>``; move them to its end, so
    ``<meta charset>`` stays within the first 1024 bytes where browsers look for it."""
    match = _STYLE.search(page)
    if match is None or "</head>" not in page:
        return page
    block = match.group(0).rstrip()
    page = page[: match.start()] + page[match.end() :]
    return page.replace("</head>", block + "\n</head>", 1)


def address(name: str, email: str, who: str) -> Address:
    """A header address; a bad one is a :class:`RenderError` naming whose it is."""
    try:
        return header_address(name, email)
    except ValueError as e:
        raise RenderError(f"{who} {quote(name)}: {quote(email)} {e}") from e


def message_id(account: str, moment: datetime, sender_email: str, person: str = "") -> str:
    """``<kb.ridgeline-freight.20261116T090000Z@ourcompany.example>``: the same for a re-run."""
    domain = sender_email.rpartition("@")[2] if "@" in sender_email else FALLBACK_DOMAIN
    parts = ["kb", account, f"{moment:%Y%m%dT%H%M%SZ}"]
    if person:
        parts.append(re.sub(r"[^a-z0-9-]+", "-", person.casefold()).strip("-"))
    return f"<{'.'.join(parts)}@{domain}>"


def email_draft(
    *,
    subject: str,
    text: str,
    html: str,
    sender: Rep | None,
    recipients: Sequence[Stakeholder],
    moment: datetime,
    msg_id: str,
) -> str:
    """A multipart/alternative draft, CRLF line endings, ``X-Unsent: 1`` so a client opens it
    ready to edit and send (Outlook and Apple Mail honour it; Thunderbird opens it as a message
    with "Edit as New")."""
    msg = EmailMessage(policy=BODY_POLICY)
    if sender is not None and sender.email:
        msg["From"] = address(sender.name, sender.email, "rep")
    to = [address(p.name, p.email, "stakeholder") for p in recipients if p.email]
    if to:
        msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(moment, usegmt=True)
    msg["Message-ID"] = msg_id
    msg["X-Unsent"] = "1"
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    seed = hashlib.sha256(f"{msg_id}\0{subject}\0{text}\0{html}".encode()).hexdigest()[:32]
    msg.set_boundary(f"=_kb_{seed}")
    return msg.as_bytes(policy=HEADERS_POLICY).decode("ascii")
