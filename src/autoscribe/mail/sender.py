"""Delivering one email.

AUTOSCRIBE_SMTP_URL selects the transport:

- ``smtp://user:password@host:port`` plain SMTP (port 25 by default), with
  ``?starttls=true`` to upgrade the connection before authenticating (port 587 by default);
- ``smtps://user:password@host:port`` TLS from the first byte (port 465 by default).

User name and password are percent-decoded. Certificates are verified against the system's
trust store (OpenSSL's SSL_CERT_FILE / SSL_CERT_DIR are honoured).

Without it, each message is written as an .eml file to ``<data_dir>/outbox/`` and one log line
says where it went and which link it carries, so that a local install works with no mail server.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from autoscribe.config import get_settings

log = logging.getLogger("autoscribe.mail")

_TRUE = ("1", "true", "yes", "on")


class MailError(Exception):
    """The message could not be handed to the mail server (the text never holds the password)."""


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    text: str
    html: str | None = None
    # The one link the message exists to deliver; logged in local-outbox mode only.
    link: str | None = None


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpTarget:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise ValueError("AUTOSCRIBE_SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("AUTOSCRIBE_SMTP_URL has no host name")
    query = {k.lower(): v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"starttls"}
    if unknown:
        raise ValueError(f"AUTOSCRIBE_SMTP_URL has unknown option(s): {', '.join(sorted(unknown))}")
    starttls = query.get("starttls", "").lower() in _TRUE
    implicit_tls = scheme == "smtps"
    if implicit_tls and starttls:
        raise ValueError("AUTOSCRIBE_SMTP_URL: smtps:// is already encrypted; drop ?starttls")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("AUTOSCRIBE_SMTP_URL has an invalid port") from None
    if port is None:
        port = 465 if implicit_tls else 587 if starttls else 25
    return SmtpTarget(
        host=parts.hostname,
        port=port,
        implicit_tls=implicit_tls,
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def check_configuration() -> None:
    """Fail at start-up, not at the first invitation, when the SMTP URL or sender is malformed."""
    settings = get_settings()
    if settings.smtp_url:
        parse_smtp_url(settings.smtp_url)
    if "@" not in parseaddr(settings.mail_from)[1]:
        raise ValueError("AUTOSCRIBE_MAIL_FROM must contain an email address")


def _build(mail: OutgoingMail) -> EmailMessage:
    settings = get_settings()
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(usegmt=True)
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    return message


def _send_smtp(target: SmtpTarget, message: EmailMessage, timeout: float) -> None:
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if target.implicit_tls:
        smtp = smtplib.SMTP_SSL(target.host, target.port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(target.host, target.port, timeout=timeout)
    with smtp:
        smtp.ehlo()
        if target.starttls:
            smtp.starttls(context=context)
            smtp.ehlo()
        if target.username is not None:
            smtp.login(target.username, target.password or "")
        smtp.send_message(message)


def _write_outbox(message: EmailMessage, outbox: Path) -> Path:
    outbox.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = outbox / f"{stamp}-{secrets.token_hex(4)}.eml"
    # O_EXCL: never overwrite another process's message.
    with path.open("xb") as fh:
        fh.write(message.as_bytes())
    return path


def send_mail(mail: OutgoingMail) -> None:
    settings = get_settings()
    message = _build(mail)
    if settings.smtp_url:
        target = parse_smtp_url(settings.smtp_url)
        try:
            _send_smtp(target, message, settings.smtp_timeout_seconds)
        except (smtplib.SMTPException, OSError) as exc:
            detail = exc.__class__.__name__
            if isinstance(exc, smtplib.SMTPResponseException):
                error = exc.smtp_error
                text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
                detail = f"{exc.smtp_code} {text}"
            raise MailError(f"mail server {target.host}:{target.port} refused or failed: {detail}") from exc
        log.info("mail %r sent through %s:%s", mail.subject, target.host, target.port)
        return
    path = _write_outbox(message, settings.outbox_dir)
    # Local-outbox mode is for a developer's machine: saying where the mail went and its link
    # is what makes invitations usable there. Never logged when a real mail server is used.
    log.info(
        "no AUTOSCRIBE_SMTP_URL: mail to %s (%r) written to %s%s",
        mail.to,
        mail.subject,
        path,
        f"; link: {mail.link}" if mail.link else "",
    )
