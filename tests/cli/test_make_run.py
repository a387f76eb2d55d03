"""`make run` as a new user runs it: on the port they ask for, with links that follow it, with
local webhook receivers allowed (and said so), and a sample study to read from the first start."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.conftest import free_port, wait_for_http
from tests.helpers import post_form, sdk, web_login
from tests.users.test_users import invite_kwargs
from tests.viewerpage import canvas_stats, state, wait_all_loaded
from tests.webhooks.conftest import Receiver

ROOT = Path(__file__).resolve().parents[2]


class MakeRun:
    def __init__(self, data_dir: Path, port: int, *make_args: str) -> None:
        # A new user's environment: none of the test harness's AUTOSCRIBE_* settings.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOSCRIBE_")}
        env["AUTOSCRIBE_DATA_DIR"] = str(data_dir)
        self.data_dir = data_dir
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        # -o: the virtualenv is the one the tests run in; do not reinstall it.
        self.process = subprocess.Popen(
            ["make", "--no-print-directory", "-o", ".venv/.installed", "run", f"PORT={port}", *make_args],
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
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


def started(data_dir: Path, *make_args: str) -> MakeRun:
    run = MakeRun(data_dir, free_port(), *make_args)
    try:
        wait_for_http(run.url + "/healthz", timeout=90, proc=run.process)
    except RuntimeError:
        run.stop()
        raise AssertionError(run.output) from None
    return run


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[MakeRun]:
    run = started(tmp_path / "var")
    yield run
    run.stop()


def test_make_run_on_another_port_with_local_webhooks(make_run: MakeRun) -> None:
    url = make_run.url
    sign_in = rf"Sign in at {re.escape(url)}/login as owner@example.com with password (\S+)"
    password = make_run.printed(sign_in)
    api_key = make_run.printed(r"API key \(shown once, save it now\): (\S+)")
    assert "AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE=1" in make_run.output  # says so

    # Links the server hands out name the port it serves on.
    email = "new.reader@example.com"
    sdk(url, api_key).auto_scribe.users.invite(**invite_kwargs(email=email))
    outbox = make_run.data_dir / "outbox"
    deadline = time.monotonic() + 10  # the server's worker writes the queued mail
    while not list(outbox.glob("*.eml")) and time.monotonic() < deadline:
        time.sleep(0.05)
    (mail,) = outbox.glob("*.eml")
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


READING_LINK = r"Read the sample study \(one-time link, valid \d+ min\): (\S+)"


def test_make_run_opens_a_sample_study_to_read(make_run: MakeRun, browser: Browser) -> None:
    link = make_run.printed(READING_LINK)
    assert link.startswith(f"{make_run.url}/study/stu_")
    assert "radiologist@example.com (NPI 1234567893)" in make_run.output
    api = sdk(make_run.url, make_run.printed(r"API key \(shown once, save it now\): (\S+)"))
    (study,) = api.auto_scribe.studies.list()
    assert study.study_instance_uid and study.report_metadata.patient_name

    # The link, opened in Chromium, draws the sample CT from the platform's own archive: no
    # integrator's server was asked for the images (there is none).
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(link)
        wait_all_loaded(page, timeout=60_000)
        seen = state(page)
        assert seen["error"] is None and seen["failed"] == 0 and seen["loaded"] == seen["total"] >= 20
        assert canvas_stats(page)["lit"] > 0.2
        assert page.locator("#report-pane").count() == 1  # the radiologist can dictate and sign
        assert errors == []
    finally:
        context.close()

    # Every later start prints a fresh link to the same study, and creates nothing more.
    make_run.stop()
    again = started(make_run.data_dir)
    try:
        fresh = again.printed(READING_LINK)
        assert fresh != link and fresh.split("?")[0] == f"{again.url}/study/{study.study_id}"
        assert "Sample study created" not in again.output
    finally:
        again.stop()


def test_make_run_without_the_sample(tmp_path: Path) -> None:
    run = started(tmp_path / "var", "SAMPLE=0")
    try:
        api = sdk(run.url, run.printed(r"API key \(shown once, save it now\): (\S+)"))
        assert "Read the sample study" not in run.output
        assert list(api.auto_scribe.studies.list()) == []
        assert all(user.email != "radiologist@example.com" for user in api.auto_scribe.users.list())
    finally:
        run.stop()
