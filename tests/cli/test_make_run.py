"""`make run` as a new user runs it: on the port they ask for, with links that follow it, and
with local webhook receivers allowed (and said so)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from tests.api.test_users import invite_kwargs
from tests.conftest import free_port, wait_for_http
from tests.helpers import post_form, sdk, web_login
from tests.webhooks.conftest import Receiver

ROOT = Path(__file__).resolve().parents[2]


class MakeRun:
    def __init__(self, data_dir: Path, port: int) -> None:
        # A new user's environment: none of the test harness's AUTOSCRIBE_* settings.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOSCRIBE_")}
        env["AUTOSCRIBE_DATA_DIR"] = str(data_dir)
        self.data_dir = data_dir
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        # -o: the virtualenv is the one the tests run in; do not reinstall it.
        self.process = subprocess.Popen(
            ["make", "--no-print-directory", "-o", ".venv/.installed", "run", f"PORT={port}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # make and the server it starts: one process group to stop
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def printed(self, pattern: str) -> str:
        match = re.search(pattern, self.output)
        assert match, self.output
        return match.group(1)

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[MakeRun]:
    run = MakeRun(tmp_path / "var", free_port())
    try:
        wait_for_http(run.url + "/healthz", timeout=90, proc=run.process)
    except RuntimeError:
        run.stop()
        raise AssertionError(run.output) from None
    yield run
    run.stop()


def test_make_run_on_another_port_with_local_webhooks(make_run: MakeRun) -> None:
    url = make_run.url
    sign_in = rf"Sign in at {re.escape(url)}/login as owner@example.com with password (\S+)"
    password = make_run.printed(sign_in)
    api_key = make_run.printed(r"API key \(shown once, save it now\): (\S+)")
    assert "AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE=1" in make_run.output  # says so

    # Links the server hands out name the port it serves on.
    email = "radiologist@example.com"
    sdk(url, api_key).auto_scribe.users.invite(**invite_kwargs(email=email))
    (mail,) = (make_run.data_dir / "outbox").glob("*.eml")
    message = BytesParser(policy=policy.default).parsebytes(mail.read_bytes())
    assert message["To"] == email
    assert f"{url}/invitations/accept?token=" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    # A receiver on this machine can be an endpoint, and gets the test event.
    receiver = Receiver.on_free_port().start()
    try:
        owner = web_login(url, "owner@example.com", password)
        key_id = re.search(r'data-key-id="([^"]+)"', owner.get("/api-config").text).group(1)  # type: ignore[union-attr]
        page = f"/api-config/keys/{key_id}/endpoints"
        saved = post_form(owner, page, page, {"studyWebhookUrl": "", "reportWebhookUrl": receiver.url})
        assert saved.status_code == 303
        assert "Warning" not in owner.get("/api-config").text
        test_page = f"/api-config/keys/{key_id}/test"
        sent = post_form(owner, test_page, test_page, {"event": "report.delivered"})
        assert sent.status_code == 200
        assert [e["type"] for e in receiver.events()] == ["report.delivered"]
    finally:
        receiver.stop()
