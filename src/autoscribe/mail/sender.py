"""Delivering one email.

AUTOSCRIBE_SMTP_URL selects the transport:

- ``smtp://user:password@host:port`` plain SMTP (port 25 by default), with
  ``?starttls=true`` to upgrade the connection before authenticating (port 587 by default);
- ``smtps://user:password@host:port`` TLS from the first byte (port 465 by default).

User name and password are percent-decoded. Certificates are verified against the system's
trust store (OpenSSL's SSL_CERT_FILE / SSL_CERT_DIR are honoured).

Without it, each message is written as an .eml file to ``<data_dir>/outbox/`` (directory 0700,
files 0600), so that a local install works with no mail server; with S3 storage (processes on
several machines) to the bucket's ``outbox/`` instead, so that every machine lists every message.
The log line names the file and the recipient's domain only: the link a message carries (a
password reset, an invitation) is a credential, and logs are read by more people than mailboxes.
``autoscribe mail outbox`` lists the messages with their links; the link is kept in an
``X-AutoScribe-Link`` header of the file.
"""

from __future__ import annotations

import email.policy
import logging
import os
import re
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from autoscribe.config import get_settings
from autoscribe.private_files import create_private, private_dir
from autoscribe.storage import get_storage

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
    # The one link the message exists to deliver (a credential: never logged). In local-outbox
    # mode it is also stored in the file's LINK_HEADER for `autoscribe mail outbox`.
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


LINK_HEADER = "X-AutoScribe-Link"


# The outbox in the storage backend (S3 storage): keys outbox/<time>-<random>.eml.
OUTBOX_PREFIX = "outbox/"


def _outbox_in_bucket() -> bool:
    return get_settings().storage_backend == "s3"


def outbox_location() -> str:
    """Where `autoscribe mail outbox` reads: the data directory's outbox, or the bucket's."""
    settings = get_settings()
    if _outbox_in_bucket():
        return f"s3://{settings.s3_bucket}/{settings.s3_prefix}{OUTBOX_PREFIX}"
    return str(settings.outbox_dir)


def _outbox_name() -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{secrets.token_hex(4)}.eml"


def _write_outbox(message: EmailMessage, outbox: Path) -> Path:
    private_dir(outbox)
    path = outbox / _outbox_name()
    # Written under a name readers skip, then linked into place: `autoscribe mail outbox` (or a
    # developer's tail) never sees half a message. O_EXCL and link: never overwrite another
    # process's message; 0600 from the start.
    partial = outbox / f".{path.name}.partial"
    with os.fdopen(create_private(partial), "wb") as fh:
        fh.write(message.as_bytes())
    try:
        os.link(partial, path)
    finally:
        partial.unlink()
    return path


def _write_bucket_outbox(message: EmailMessage) -> str:
    name = _outbox_name()
    get_storage().put(OUTBOX_PREFIX + name, message.as_bytes(), content_type="message/rfc822")
    return name


def recipient_domain(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "?"


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
    if mail.link:
        message[LINK_HEADER] = mail.link
    if _outbox_in_bucket():
        name = _write_bucket_outbox(message)
    else:
        name = _write_outbox(message, settings.outbox_dir).name
    # The file name and the recipient's domain, never the link (a reset or invitation token).
    log.info(
        "no AUTOSCRIBE_SMTP_URL: mail to a recipient at %s written to the outbox as %s "
        "(`autoscribe mail outbox` lists messages and their links)",
        recipient_domain(mail.to),
        name,
    )


_BODY_LINK = re.compile(r"https?://\S+[?&]token=[\w-]+")


def outbox_messages(outbox: Path | None = None) -> list[dict[str, str | None]]:
    """The outbox (the data directory's, or the bucket's with S3 storage), oldest first: file, time,
    to, subject and the link each message carries
    (for `autoscribe mail outbox`; files written before the link header existed: the first
    tokenised link of the text)."""
    files: list[tuple[str, bytes]]
    if outbox is None and _outbox_in_bucket():
        storage = get_storage()
        keys = [k for k in storage.list_keys(OUTBOX_PREFIX) if k.endswith(".eml")]
        files = [(key.rsplit("/", 1)[-1], storage.get(key)) for key in keys]
    else:
        directory = outbox or get_settings().outbox_dir
        paths = sorted(directory.glob("*.eml")) if directory.is_dir() else []
        files = [(path.name, path.read_bytes()) for path in paths]
    found: list[dict[str, str | None]] = []
    for name, data in files:
        message = BytesParser(policy=email.policy.default).parsebytes(data)
        link = message.get(LINK_HEADER)
        if link is None:
            body = message.get_body(("plain",))
            match = _BODY_LINK.search(str(body.get_content())) if body is not None else None  # type: ignore[attr-defined]
            link = match.group(0) if match else None
        sent = getattr(message.get("Date"), "datetime", None)
        found.append(
            {
                "file": name,
                "time": sent.astimezone(UTC).isoformat() if sent is not None else None,
                "to": str(message.get("To", "")),
                "subject": str(message.get("Subject", "")),
                "link": str(link) if link is not None else None,
            }
        )
    return found
