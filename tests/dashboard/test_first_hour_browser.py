"""What a new clinic meets in its first hour, in a real browser: Edit Endpoints warning about URLs
the server would refuse; inviting a radiologist; reading a signed report on the study page."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import console_errors, snap
from tests.conftest import ClinicFixture, Server
from tests.dashboard.test_dashboard_browser import sign_in
from tests.helpers import make_user, sdk
from tests.reporting import IMPRESSION, create_study, dictate_and_sign, pdf_text, save, sign, start

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


def test_inviting_a_radiologist_with_a_valid_npi_ticks_can_create_reports(
    page: Page, server: Server, clinic: ClinicFixture
) -> None:
    sign_in(page, server, clinic.owner_email, clinic.owner_password)
    page.goto(server.url + "/users")
    page.get_by_role("link", name="Invite user").first.click()
    dialog = page.get_by_role("dialog", name="Invite user")
    email = f"ines-{secrets.token_hex(3)}@example.test"
    dialog.get_by_label("Email address").fill(email)
    dialog.get_by_label("First name").fill("Ines")
    dialog.get_by_label("Last name").fill("Ibarra")
    role = dialog.get_by_label("Role in the clinic")
    expect(role).to_have_value("Radiologist")
    reports = dialog.get_by_role("checkbox", name=re.compile("Can create reports"))
    feedback = dialog.locator("#npi-feedback")
    expect(reports).not_to_be_checked()
    npi = dialog.get_by_role("textbox", name=re.compile("^NPI"))
    npi.press_sequentially("1234567890")
    expect(feedback).to_have_text(re.compile("Not a valid NPI"))
    expect(reports).not_to_be_checked()
    npi.press("Backspace")
    npi.press_sequentially("3")  # the README's test NPI
    expect(feedback).to_have_text("✓ Valid NPI.")
    expect(reports).to_be_checked()
    # Another role: the box ticked for them is unticked again; back to Radiologist, ticked.
    role.select_option("Imaging Technologist")
    expect(reports).not_to_be_checked()
    role.select_option("Radiologist")
    expect(reports).to_be_checked()
    snap(page, "first-hour-invite-radiologist")
    # Once set by hand, the box is the inviter's: changing the role no longer touches it.
    reports.uncheck()
    role.select_option("Imaging Technologist")
    role.select_option("Radiologist")
    expect(reports).not_to_be_checked()
    reports.check()
    dialog.get_by_role("button", name="Send invitation").click()
    expect(page.locator("#flash")).to_have_text(
        f"Invitation sent to {email}. Ines can be assigned studies right away."
    )
    (invited,) = sdk(server.url, clinic.api_key).auto_scribe.users.list(email=email).users
    assert invited.can_create_reports is True and invited.npi_number == "1234567893"
    assert console_errors(page) == []


def test_invite_message_says_only_what_is_true(page: Page, server: Server, clinic: ClinicFixture) -> None:
    sign_in(page, server, clinic.owner_email, clinic.owner_password)
    page.goto(server.url + "/users")
    page.get_by_role("link", name="Invite user").first.click()
    dialog = page.get_by_role("dialog", name="Invite user")
    email = f"tom-{secrets.token_hex(3)}@example.test"
    dialog.get_by_label("Email address").fill(email)
    dialog.get_by_label("First name").fill("Tom")
    dialog.get_by_label("Last name").fill("Tech")
    dialog.get_by_label("Role in the clinic").select_option("Imaging Technologist")
    reports = dialog.get_by_role("checkbox", name=re.compile("Can create reports"))
    # Not a radiologist: a valid NPI ticks nothing.
    dialog.get_by_role("textbox", name=re.compile("^NPI")).fill("1234567893")
    expect(dialog.locator("#npi-feedback")).to_have_text("✓ Valid NPI.")
    expect(reports).not_to_be_checked()
    dialog.get_by_role("textbox", name=re.compile("^NPI")).fill("")
    dialog.get_by_role("button", name="Send invitation").click()
    expect(page.locator("#flash")).to_have_text(
        f"Invitation sent to {email}. Tom cannot be assigned studies: that needs “Can create reports” "
        "and a valid NPI."
    )
    assert console_errors(page) == []


def signed_with_addendum(
    server: Server, clinic: ClinicFixture, rad: str | None = None
) -> tuple[str, str, str, str]:
    """A study with a signed report, a signed addendum and a second addendum being written, read
    by `rad` (a new radiologist, Ada Amender, by default): (study, original, addendum, rad)."""
    client = sdk(server.url, clinic.api_key)
    rad = rad or make_user(clinic.clinic_id, first_name="Ada", last_name="Amender")
    study_id = create_study(client, rad)
    original = dictate_and_sign(study_id, rad, is_critical=True)
    client.auto_scribe.reports.addendum(original)
    addendum, version = start(study_id, rad)
    save(addendum, rad, {"findings": "Outside CT from 2025 shows the lesion was 1.5 cm."}, version)
    sign(addendum, rad)
    client.auto_scribe.reports.addendum(addendum)
    return study_id, original, addendum, rad


def test_study_page_shows_the_signed_report_with_pdfs(
    page: Page, server: Server, clinic: ClinicFixture
) -> None:
    study_id, original, addendum, _rad = signed_with_addendum(server, clinic)
    sign_in(page, server, clinic.owner_email, clinic.owner_password)
    page.goto(f"{server.url}/worklist/studies/{study_id}")
    report = page.get_by_role("region", name="Signed report")
    expect(report).to_contain_text(IMPRESSION)
    expect(report).to_contain_text("Addendum 1")
    expect(report).to_contain_text("Outside CT from 2025 shows the lesion was 1.5 cm.")
    expect(report).to_contain_text("Electronically signed by Ada Amender")
    expect(report.get_by_text("CRITICAL RESULT")).to_be_visible()
    versions = page.locator("#study-reports li")
    expect(versions).to_have_count(2)
    expect(versions.nth(0)).to_contain_text("Report")
    expect(versions.nth(0)).to_contain_text("Critical")
    expect(versions.nth(1)).to_contain_text("Addendum 1")
    expect(page.get_by_text("Addendum 2 being written: it shows here once signed.")).to_be_visible()
    snap(page, "first-hour-study-signed-report")

    # Each signed version downloads as its PDF: the addendum's carries the original too.
    with page.expect_download() as got:
        versions.nth(1).get_by_role("link", name=re.compile("Download PDF")).click()
    download = got.value
    assert download.suggested_filename == f"{addendum}.pdf"
    text = pdf_text(Path(download.path()).read_bytes())
    assert "1.5 cm" in text and "high-grade glioma" in text
    with page.expect_download() as got:
        versions.nth(0).get_by_role("link", name=re.compile("Download PDF")).click()
    assert got.value.suggested_filename == f"{original}.pdf"
    assert "1.5 cm" not in pdf_text(Path(got.value.path()).read_bytes())
    assert console_errors(page) == []
