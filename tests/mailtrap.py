"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for tests.

Optionally requires a login, offers STARTTLS, or speaks TLS from the first byte (implicit TLS),
with a throw-away certificate authority made here (see `make_tls_files`).
"""

from __future__ import annotations

import email
import email.policy
import re
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.conftest import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]

    def link(self, path: str) -> str:
        match = re.search(rf"(https?://\S+{re.escape(path)}\?token=[\w-]+)", self.text)
        assert match, f"no {path} link in:\n{self.text}"
        return match.group(1)


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self.lock:
            self.received.append(
                Received(str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos], message)  # type: ignore[arg-type]
            )
        return "250 Message accepted for delivery"


class _Authenticator:
    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password
        self.logins = 0

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        if ok:
            self.logins += 1
        return AuthResult(success=ok, handled=False)


class MailTrap:
    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
    ) -> None:
        self.handler = _Handler()
        self.port = free_port()
        self.username = username
        self.password = password
        self.authenticator = _Authenticator(username, password or "") if username else None
        smtp_kwargs: dict[str, Any] = {}
        if self.authenticator is not None:
            smtp_kwargs.update(
                authenticator=self.authenticator, auth_required=True, auth_require_tls=starttls is not None
            )
        if starttls is not None:
            smtp_kwargs.update(tls_context=starttls, require_starttls=True)
        self.scheme = "smtps" if implicit_tls is not None else "smtp"
        self.starttls = starttls is not None
        if implicit_tls is not None:
            # The whole connection in TLS (smtps://).
            self.controller: Controller = Controller(
                self.handler, hostname="localhost", port=self.port, ssl_context=implicit_tls, **smtp_kwargs
            )
        else:
            host = "localhost" if starttls is not None else "127.0.0.1"
            self.controller = Controller(self.handler, hostname=host, port=self.port, **smtp_kwargs)

    @property
    def url(self) -> str:
        auth = ""
        if self.username:
            auth = f"{quote(self.username, safe='')}:{quote(self.password or '', safe='')}@"
        host = "localhost" if self.scheme == "smtps" or self.starttls else "127.0.0.1"
        query = "?starttls=true" if self.starttls else ""
        return f"{self.scheme}://{auth}{host}:{self.port}{query}"

    def start(self) -> MailTrap:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def for_address(self, address: str) -> list[Received]:
        return [m for m in self.messages if address.lower() in (r.lower() for r in m.rcpt_tos)]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> Received:
        """The latest message to `address` once `count` have arrived (the server's worker sends
        queued mail as soon as it is committed, so this normally returns at once)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.for_address(address)
            if len(found) >= count:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(
            f"no mail for {address} within {timeout}s; got {[m.rcpt_tos for m in self.messages]}"
        )


def make_tls_files(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """A throw-away CA and a certificate for "localhost" signed by it. Returns the CA file (for
    SSL_CERT_FILE) and a server-side SSL context."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "AutoScribe test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file = directory / "server.pem"
    key_file = directory / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return ca_file, context
