"""What a new clinic meets in its first hour, in a real browser: Edit Endpoints warning about URLs
the server would refuse, ..."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import console_errors, snap
from tests.conftest import ClinicFixture, Server
from tests.dashboard.test_dashboard_browser import sign_in

pytestmark = pytest.mark.browser


def test_edit_endpoints_warns_as_a_loopback_url_is_typed(
    page: Page, guarded_server: Server, clinic: ClinicFixture
) -> None:
    sign_in(page, guarded_server, clinic.owner_email, clinic.owner_password)
    page.goto(guarded_server.url + "/api-config")
    page.get_by_role("link", name="Edit Endpoints").click()
    dialog = page.get_by_role("dialog", name="Edit Webhook Endpoints")
    field = dialog.get_by_label("Study data webhook endpoint")
    warning = dialog.locator("#studyWebhookUrl-warning")
    expect(warning).to_be_hidden()
    field.fill("http://127.0.0.1:3000/webhooks/avara")
    field.press("Tab")
    expect(warning).to_contain_text("This server will refuse to call this URL")
    expect(warning).to_contain_text("AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE=1")
    snap(page, "first-hour-endpoints-warning")
    field.fill("https://93.184.215.14/webhooks/avara")
    field.press("Tab")
    expect(warning).to_be_hidden()
    assert console_errors(page) == []
