"""The mail sender against a real SMTP server on loopback: plain, STARTTLS, implicit TLS, login,
failures, and the local outbox."""

from __future__ import annotations

import email
import email.policy
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from autoscribe.config import Settings
from autoscribe.mail import MailError, OutgoingMail, sender
from autoscribe.mail.sender import parse_smtp_url
from tests.conftest import free_port
from tests.mailtrap import MailTrap, make_tls_files

MAIL = OutgoingMail(
    to="rita@example.test",
    subject="Hello Rita",
    text="Plain words, and a link: https://autoscribe.example/x?token=abc",
    html="<p>Plain words</p>",
    link="https://autoscribe.example/x?token=abc",
)


def use_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **values: object) -> None:
    settings = Settings(data_dir=tmp_path, **values)  # type: ignore[arg-type]
    monkeypatch.setattr(sender, "get_settings", lambda: settings)


@pytest.fixture
def tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    ca_file, context = make_tls_files(tmp_path)
    # OpenSSL reads SSL_CERT_FILE when a default context loads its trust store.
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    yield context


def test_parse_smtp_url() -> None:
    plain = parse_smtp_url("smtp://mail.example:2525")
    assert (plain.host, plain.port, plain.implicit_tls, plain.starttls, plain.username) == (
        "mail.example", 2525, False, False, None,
    )  # fmt: skip
    assert parse_smtp_url("smtp://mail.example").port == 25
    upgraded = parse_smtp_url("smtp://u%40x:p%3Aw%2Fd@mail.example?starttls=true")
    assert (upgraded.port, upgraded.starttls, upgraded.username, upgraded.password) == (
        587,
        True,
        "u@x",
        "p:w/d",
    )
    implicit = parse_smtp_url("smtps://mail.example")
    assert (implicit.port, implicit.implicit_tls) == (465, True)
    for bad in (
        "http://mail.example",
        "smtp://",
        "smtp://mail.example?tls=1",
        "smtps://mail.example?starttls=1",
    ):
        with pytest.raises(ValueError):
            parse_smtp_url(bad)


def test_plain_smtp_with_login(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    trap = MailTrap(username="mailer@clinic", password="s3cret:/@").start()
    try:
        use_settings(monkeypatch, tmp_path, smtp_url=trap.url, mail_from="AutoScribe <noreply@clinic.test>")
        sender.send_mail(MAIL)
        received = trap.wait_for("rita@example.test")
        assert trap.authenticator is not None and trap.authenticator.logins == 1
        assert received.mail_from == "noreply@clinic.test"
        assert received.message["Subject"] == "Hello Rita"
        assert received.message["From"] == "AutoScribe <noreply@clinic.test>"
        assert received.message["Message-ID"].endswith("@clinic.test>")
        assert "token=abc" in received.text and received.html.strip() == "<p>Plain words</p>"
        assert not (tmp_path / "outbox").exists()
    finally:
        trap.stop()


def test_wrong_password_is_reported_without_the_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    trap = MailTrap(username="mailer", password="right-password").start()
    try:
        use_settings(monkeypatch, tmp_path, smtp_url=trap.url.replace("right-password", "wrong-password"))
        with pytest.raises(MailError) as err:
            sender.send_mail(MAIL)
        assert "535" in str(err.value) and "wrong-password" not in str(err.value)
        assert trap.messages == []
    finally:
        trap.stop()


def test_starttls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tls: object) -> None:
    trap = MailTrap(username="mailer", password="pw", starttls=tls).start()  # type: ignore[arg-type]
    try:
        use_settings(monkeypatch, tmp_path, smtp_url=trap.url)
        assert "starttls=true" in trap.url
        sender.send_mail(MAIL)
        assert trap.wait_for("rita@example.test").message["Subject"] == "Hello Rita"
    finally:
        trap.stop()


def test_starttls_refuses_an_untrusted_certificate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _ca_file, context = make_tls_files(tmp_path)  # the CA is *not* put in the trust store
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    trap = MailTrap(starttls=context).start()
    try:
        use_settings(monkeypatch, tmp_path, smtp_url=trap.url)
        with pytest.raises(MailError):
            sender.send_mail(MAIL)
        assert trap.messages == []
    finally:
        trap.stop()


def test_implicit_tls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tls: object) -> None:
    trap = MailTrap(implicit_tls=tls).start()  # type: ignore[arg-type]
    try:
        use_settings(monkeypatch, tmp_path, smtp_url=trap.url)
        assert trap.url.startswith("smtps://")
        sender.send_mail(MAIL)
        assert trap.wait_for("rita@example.test").text.startswith("Plain words")
    finally:
        trap.stop()


def test_unreachable_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_settings(monkeypatch, tmp_path, smtp_url=f"smtp://127.0.0.1:{free_port()}", smtp_timeout_seconds=2)
    with pytest.raises(MailError) as err:
        sender.send_mail(MAIL)
    assert "127.0.0.1" in str(err.value)


def test_local_outbox(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    use_settings(monkeypatch, tmp_path)
    with caplog.at_level(logging.INFO, logger="autoscribe.mail"):
        sender.send_mail(MAIL)
        sender.send_mail(MAIL)
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 2
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["To"] == "rita@example.test" and message["Subject"] == "Hello Rita"
    assert message["X-AutoScribe-Link"] == "https://autoscribe.example/x?token=abc"
    lines = [r.getMessage() for r in caplog.records if r.name == "autoscribe.mail"]
    assert len(lines) == 2
    assert files[0].name in lines[0] or files[1].name in lines[0]
    # The link is a credential: the log names the file and the recipient's domain only.
    assert all("token=abc" not in line and "rita@" not in line for line in lines)
    assert "example.test" in lines[0]


def test_check_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_settings(monkeypatch, tmp_path, smtp_url="smtp://mail.example?starttls=yes")
    sender.check_configuration()
    use_settings(monkeypatch, tmp_path, smtp_url="mail.example:25")
    with pytest.raises(ValueError, match="smtp://"):
        sender.check_configuration()
    use_settings(monkeypatch, tmp_path, mail_from="nobody")
    with pytest.raises(ValueError, match="MAIL_FROM"):
        sender.check_configuration()
