"""No secret in a log line, no forged log line (issue 12, items 2 and 4).

A server of its own at info level (the shared one logs warnings only), so that the mail and
access log lines are there to be read.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import MAIL_QUEUES, ClinicFixture, Server, start_server, stop_server
from tests.helpers import latest_outbox_link, make_user, post_form, web_client

AUTOSCRIBE = str(Path(sys.executable).parent / "autoscribe")
LOG_LINE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")  # how every line of ours starts


@pytest.fixture(scope="module")
def info_server(database: str) -> Iterator[Server]:
    srv = start_server(
        {"AUTOSCRIBE_LOG_LEVEL": "info", "AUTOSCRIBE_WORKER_QUEUES": MAIL_QUEUES}, name="security-logs"
    )
    yield srv
    stop_server(srv)


def outbox_file_of(to: str, timeout: float = 10.0) -> Path:
    """The newest outbox file to `to`, once the server's worker has written one."""
    import email
    import email.policy

    from autoscribe.config import get_settings

    deadline = time.monotonic() + timeout
    while True:
        newest = None
        for path in sorted(get_settings().outbox_dir.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if str(message["To"]).lower() == to.lower():
                newest = path
        if newest is not None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert newest is not None, f"no mail to {to}"
    return newest


def test_forgot_password_logs_no_token_and_the_outbox_command_shows_the_link(
    info_server: Server, clinic: ClinicFixture
) -> None:
    email_address = f"forgetful-{secrets.token_hex(4)}@example.test"
    make_user(clinic.clinic_id, email=email_address, password="a long enough password")
    browser = web_client(info_server.url)
    sent = post_form(browser, "/forgot-password", "/forgot-password", {"email": email_address})
    assert sent.status_code == 200

    eml = outbox_file_of(email_address)  # written by the server's worker
    link = latest_outbox_link(email_address, "/reset-password")
    token = link.split("token=", 1)[1]
    log = info_server.log_with(eml.name, "POST /forgot-password 200")
    mail_lines = [line for line in log.splitlines() if eml.name in line]
    assert len(mail_lines) == 1, log
    assert "example.test" in mail_lines[0]  # the recipient's domain, no more
    assert token not in log and quote(token) not in log
    assert "token=" not in log and email_address not in log

    # The outbox is private: directory 0700, message 0600.
    assert stat.S_IMODE(eml.stat().st_mode) == 0o600
    assert stat.S_IMODE(eml.parent.stat().st_mode) == 0o700

    # `autoscribe mail outbox` shows the link (local development needs it).
    done = subprocess.run(
        [AUTOSCRIBE, "mail", "outbox", "--json"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    (mine,) = [m for m in listed["messages"] if m["to"] == email_address]
    assert mine["link"] == link and mine["file"] == eml.name
    assert mine["subject"] == "Reset your AutoScribe password" and mine["time"]
    human = subprocess.run([AUTOSCRIBE, "mail", "outbox"], capture_output=True, text=True, timeout=60)
    assert human.returncode == 0 and link in human.stdout and email_address in human.stdout


def test_local_outbox_never_logs_the_link(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from autoscribe.config import Settings
    from autoscribe.mail import OutgoingMail, sender

    settings = Settings(data_dir=tmp_path / "data")
    monkeypatch.setattr(sender, "get_settings", lambda: settings)
    token = secrets.token_urlsafe(32)
    link = f"https://autoscribe.example/invitations/accept?token={token}"
    old_umask = os.umask(0o022)  # a typical shell: the outbox must be private anyway
    try:
        with caplog.at_level(logging.DEBUG):
            sender.send_mail(
                OutgoingMail(to="rita@clinic.example", subject="Join", text=f"Open {link}", link=link)
            )
    finally:
        os.umask(old_umask)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert token not in logged and "rita@" not in logged and "clinic.example" in logged
    (path,) = (tmp_path / "data" / "outbox").glob("*.eml")
    assert path.name in logged and str(path.parent) not in logged
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    (listed,) = sender.outbox_messages(path.parent)
    assert listed["link"] == link and listed["to"] == "rita@clinic.example"


def lines_with(server: Server, text: str, count: int, timeout: float = 10.0) -> list[str]:
    """The log lines holding `text`, once there are `count` of them (access lines come after the
    response)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [line for line in server.log().splitlines() if text in line]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_a_request_path_cannot_forge_a_log_line(info_server: Server) -> None:
    marker = f"FORGED-{secrets.token_hex(4)}"
    forged = f"2026-01-01 00:00:00,000 INFO autoscribe {marker}"
    controls = ("%0a", "%0d", "%0d%0a", "%1b[2K%0d", "%e2%80%a8", "%00%7f%c2%85")
    for control in controls:
        assert httpx.get(f"{info_server.url}/healthz{control}{quote(forged)}").status_code == 404
    lines = lines_with(info_server, marker, len(controls))
    assert len(lines) == len(controls), info_server.log()
    for line in lines:
        assert LOG_LINE.match(line) and " GET /healthz" in line, line
        assert not any(c in line for c in "\r\x1b\x00\x7f\x85\u2028"), repr(line)
    shown = "\n".join(lines)
    for escaped in (
        "/healthz\\n2026",
        "/healthz\\r2026",
        "/healthz\\r\\n2026",
        "/healthz\\x1b[2K\\r2026",
        "/healthz\\u20282026",
        "/healthz\\x00\\x7f\\x852026",
    ):
        assert escaped in shown, (escaped, shown)


def test_query_strings_stay_out_of_the_access_log(info_server: Server) -> None:
    secret = "qs-secret-" + secrets.token_hex(8)
    for path in ("/reset-password?token=", "/invitations/accept?token=", "/files/x?expires=1&sig="):
        httpx.get(info_server.url + path + secret)
    log = info_server.log_with("GET /reset-password ", "GET /invitations/accept ", "GET /files/x ")
    assert "GET /reset-password " in log and "GET /files/x " in log
    assert secret not in log


ESCAPING_SCRIPT = r"""
import logging, logging.config
from autoscribe.logs import configure_logging, uvicorn_log_config

logging.config.dictConfig(uvicorn_log_config())  # what `autoscribe serve` gives uvicorn
configure_logging()
logging.getLogger("uvicorn.error").info("uvicorn error %s", "a\nFORGED-1 error")
logging.getLogger("uvicorn.access").info(
    '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", "/p\nFORGED-2 access", "1.1", 200
)
logging.getLogger("autoscribe.test").warning("ours %s %r", "x\rFORGED-3\x1b[31m", "y\nFORGED-4")
logging.getLogger("autoscribe.test").warning("in the format\nFORGED-5")
try:
    raise ValueError("boom\nFORGED-6 in an exception message")
except ValueError:
    logging.getLogger("autoscribe.test").exception("failed on %s", "/path\nFORGED-7")
"""


def test_every_handler_escapes_control_characters() -> None:
    """Our handler and uvicorn's error and access handlers, as `autoscribe serve` sets them up."""
    done = subprocess.run(
        [sys.executable, "-c", ESCAPING_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "AUTOSCRIBE_LOG_LEVEL": "info"},
    )
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    for n in range(1, 8):
        assert f"FORGED-{n}" in output, (n, output)
    for line in output.splitlines():
        assert not line.startswith("FORGED"), output
        assert "\x1b[31m" not in line and "\r" not in line
    assert "a\\nFORGED-1 error" in output
    assert "/p\\nFORGED-2 access" in output
    assert "x\\rFORGED-3\\x1b[31m" in output
    assert "in the format\\nFORGED-5" in output
    assert "/path\\nFORGED-7" in output
    # The traceback keeps its lines; the exception's own text cannot start one.
    assert "Traceback (most recent call last):" in output
    assert "\n    FORGED-6 in an exception message" in output
