"""What a new clinic meets in its first hour, in a real browser: Edit Endpoints warning about URLs
the server would refuse; inviting a radiologist; reading a signed report on the study page; every
page at common desktop sizes; the home page's overview and chart."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import console_errors, snap
from tests.browser.dashboard.test_dashboard_browser import sign_in, wait_for
from tests.conftest import ClinicFixture, Server
from tests.dashboard.conftest import owner_client
from tests.dashboard.test_home import reading_history
from tests.helpers import make_key, make_user, post_form, sdk
from tests.reporting import IMPRESSION, create_study, dictate_and_sign, pdf_text, save, sign, start
from tests.users.test_users import invite_kwargs
from tests.webhooks.conftest import Receiver

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


def invite_dialog(
    page: Page, server: Server, clinic: ClinicFixture, first: str, last: str
) -> tuple[Locator, str]:
    """The owner's Invite user dialog, open, with a new email address and the name filled in."""
    sign_in(page, server, clinic.owner_email, clinic.owner_password)
    page.goto(server.url + "/users")
    page.get_by_role("link", name="Invite user").first.click()
    dialog = page.get_by_role("dialog", name="Invite user")
    email = f"{first.lower()}-{secrets.token_hex(3)}@example.test"
    dialog.get_by_label("Email address").fill(email)
    dialog.get_by_label("First name").fill(first)
    dialog.get_by_label("Last name").fill(last)
    return dialog, email


def test_inviting_a_radiologist_with_a_valid_npi_ticks_can_create_reports(
    page: Page, server: Server, clinic: ClinicFixture
) -> None:
    dialog, email = invite_dialog(page, server, clinic, "Ines", "Ibarra")
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
    dialog, email = invite_dialog(page, server, clinic, "Tom", "Tech")
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


SIZES = ((1366, 768), (1920, 1080))


def _fits(view: Page) -> bool:
    return bool(view.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def _lines(view: Page, selector: str) -> int:
    """How many lines of text the first element matching `selector` shows."""
    script = "(el) => el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight)"
    return round(view.locator(selector).first.evaluate(script))


def _text_lines(view: Page, selector: str) -> int:
    """How many lines the text in the first element matching `selector` is laid out on."""
    script = """(el) => { const range = document.createRange(); range.selectNodeContents(el);
        return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size; }"""
    return int(view.locator(selector).first.evaluate(script))


def _pipeline(clinic: ClinicFixture) -> str:
    """Where a clinic's reports stand between signing and the receiver: every task of the server
    (a backlog of other tests' renders holds this one up) and this clinic's webhook events."""
    import uuid

    from sqlalchemy import func, select

    from autoscribe.db import session_scope
    from autoscribe.queue.models import Task
    from autoscribe.webhooks.models import WebhookEvent

    with session_scope() as session:
        tasks = session.execute(
            select(Task.kind, Task.status, func.count()).group_by(Task.kind, Task.status)
        ).all()
        events = session.execute(
            select(
                WebhookEvent.event_type,
                WebhookEvent.status,
                WebhookEvent.attempt_count,
                WebhookEvent.last_error,
            ).where(WebhookEvent.clinic_id == uuid.UUID(clinic.clinic_id))
        ).all()
    return f"tasks {[tuple(t) for t in tasks]}, this clinic's events {[tuple(e) for e in events]}"


def test_every_dashboard_page_fits_at_1366_and_1920(
    make_page: Callable[..., Page], server: Server, clinic: ClinicFixture, receivers: Callable[..., Receiver]
) -> None:
    """Screenshots of every dashboard page (var/screenshots/dashboard-*-1366x768.png, ...), none
    wider than the window, and the defects a new clinic noticed, measured."""
    receiver = receivers()
    hook = (
        f"http://127.0.0.1:{receiver.port}/api/v2/integrations/north-campus-imaging-associates/autoscribe"
        "/webhooks/process-autoscribe-complete-report"
    )
    key = make_key(clinic.clinic_id, description="Main PACS", report_webhook_url=hook)
    api = sdk(server.url, key.api_key)
    rad = make_user(clinic.clinic_id, first_name="Ada", last_name="Amender")
    customer = api.express.create(express_customer_name="North Imaging").express_customer_id
    study_id = create_study(api, rad, express_customer_id=None)
    dictate_and_sign(study_id, rad, is_critical=True)
    api.auto_scribe.users.invite(**invite_kwargs(email=f"ines-{secrets.token_hex(3)}@example.test"))
    owner = owner_client(server, clinic)
    test_page = f"/api-config/keys/{key.api_key_id}/test"
    post_form(owner, test_page, test_page, {"event": "report.delivered"})
    try:
        wait_for(lambda: len(receiver.requests) >= 2, "the report and the test event delivered")
    except AssertionError as exc:  # say why: the server's own account of the render and delivery
        raise AssertionError(
            f"{exc}; {len(receiver.requests)} request(s) received; {_pipeline(clinic)};"
            f" server log (end):\n{server.log()[-4000:]}"
        ) from None
    delivery = re.search(r'data-event-id="([^"]+)"', owner.get("/deliveries").text)
    assert delivery

    pages = [
        ("/", None),
        ("/worklist", "Worklist"),
        ("/worklist/new", "New study"),
        (f"/worklist/studies/{study_id}", "Brain MRI with Contrast"),
        (f"/worklist/studies/{study_id}/edit", None),
        ("/api-config", "API Config"),
        ("/users", "Users"),
        ("/users/invite", "Invite user"),
        (f"/users/{rad}", "Ada Amender"),
        ("/invitations", "Invitations"),
        ("/express-customers", "Express customers"),
        (f"/express-customers/{customer}", "North Imaging"),
        ("/deliveries", "Webhook deliveries"),
        (f"/deliveries/{delivery.group(1)}", None),
        ("/audit-log", "Audit log"),
        ("/templates", "Templates & macros"),
        ("/templates/macros", "Templates & macros"),
        ("/templates/new", "New template"),
        ("/templates/builtin/ct-abdomen-pelvis", "CT abdomen and pelvis"),
    ]
    for width, height in SIZES:
        size = f"{width}x{height}"
        view = make_page(width, height, name=size)
        sign_in(view, server, clinic.owner_email, clinic.owner_password)
        # Every page of the sidebar too, so that a page added later is held to the same rule.
        sidebar = view.get_by_role("navigation", name="Main").get_by_role("link")
        hrefs = sidebar.evaluate_all("(links) => links.map((a) => a.getAttribute('href'))")
        listed = {path for path, _ in pages}
        for path, heading in pages + [(href, None) for href in hrefs if href not in listed]:
            view.goto(server.url + path)
            if heading:
                expect(view.get_by_role("heading", level=1)).to_have_text(heading)
            assert _fits(view), (path, size)
            slug = path.strip("/").replace("/", "-") or "home"
            slug = re.sub(r"(stu|usr|cus|whe)_[0-9a-f]{32}", r"\1", slug)
            snap(view, f"dashboard-{slug}-{size}")

        # The home page greets the owner, not "Clinic" (the bootstrap's placeholder name).
        view.goto(server.url + "/")
        expect(view.get_by_role("heading", level=1)).not_to_have_text(re.compile("Welcome, Clinic"))
        # The study page's "Signed" badge stays in its card.
        view.goto(f"{server.url}/worklist/studies/{study_id}")
        badge = view.locator("#study-reports .badge", has_text="Signed").first.bounding_box()
        card = view.locator("section[aria-labelledby=reports-h]").bounding_box()
        assert badge and card and badge["x"] + badge["width"] <= card["x"] + card["width"]
        # Study time looks like the other inputs; the suffixes line up with the middle name.
        view.goto(server.url + "/worklist/new")
        style = "(e) => [getComputedStyle(e).borderTopWidth, getComputedStyle(e).paddingTop]"
        time_style = view.get_by_label("Study time").evaluate(style)
        date_style = view.get_by_label("Study date").evaluate(style)
        assert time_style == date_style
        view.goto(server.url + "/users/invite")
        middle = view.get_by_label("Middle name").bounding_box()
        for label in ("Suffix", "Second suffix"):
            box = view.get_by_label(label, exact=True).bounding_box()
            assert middle and box and abs(box["y"] - middle["y"]) < 1, label
        # Deliveries: a URL on at most two lines, a date on one; a single attempt is no retry.
        view.goto(server.url + "/deliveries")
        assert _lines(view, "#deliveries-table td[data-label=Target] .mono") <= 2
        assert _text_lines(view, "#deliveries-table td[data-label=Created]") == 1
        expect(view.locator("#deliveries-table")).not_to_contain_text("retried")
        assert console_errors(view) == []


def test_home_chart_of_volume_and_turnaround(
    make_page: Callable[..., Page], server: Server, clinic: ClinicFixture
) -> None:
    history = reading_history(server, clinic)
    yesterday = f"{history.yesterday:%b} {history.yesterday.day}"
    view = make_page(1366, 768, name="1366x768")
    sign_in(view, server, clinic.owner_email, clinic.owner_password)
    expect(view.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Welcome to Test Clinic"))

    counts = view.locator("#status-counts")
    expect(counts.locator("[data-status=completed] .count")).to_have_text("5")
    expect(counts.locator("[data-status=unassigned] .count")).to_have_text("1")
    today = view.locator("#turnaround-today")
    expect(today).to_contain_text("Median40 min")
    expect(today).to_contain_text("90th percentile56 min")
    expect(today).to_contain_text("Reports signed3")

    volume = view.get_by_role("img", name="Studies received per day, by modality, last 14 days")
    expect(volume).to_be_visible()
    pairs = "(bars) => bars.map((bar) => [bar.dataset.series, bar.dataset.value])"
    bars = volume.locator("rect.bar").evaluate_all(pairs)
    received: dict[str, float] = {}
    for name, value in bars:
        received[name] = received.get(name, 0) + float(value)
    assert received == {"CT": 3, "MR": 2, "US": 1}
    turnaround = view.get_by_role("img", name="Median report turnaround per day, by modality, last 14 days")
    point = turnaround.locator(f"circle[data-series=MR][data-label='{yesterday}']")
    expect(point).to_have_attribute("data-value", "1.0")
    expect(point.locator("title")).to_have_text(f"MR, {yesterday}: 1.0 hours")
    expect(turnaround.locator("path.line")).to_have_count(2)  # CT and MR; US was not signed
    legend = view.get_by_role("list", name="Modalities")
    expect(legend.get_by_role("listitem")).to_have_text(["CT", "MR", "US"])
    view.get_by_text("The numbers").click()
    expect(view.locator("#trend-table")).to_contain_text("1 received")
    # The steps a new clinic takes: a radiologist is there; endpoints are not set yet.
    steps = view.locator("#next-steps li")
    expect(steps.filter(has_text="Invite a radiologist").locator(".badge")).to_have_text("Done")
    expect(steps.filter(has_text="Set the webhook endpoints").locator(".badge")).to_have_text("To do")
    assert _fits(view)
    snap(view, "first-hour-home-chart-1366x768")
    wide = make_page(1920, 1080, name="1920x1080")
    sign_in(wide, server, clinic.owner_email, clinic.owner_password)
    expect(wide.locator("#volume-chart rect.bar")).not_to_have_count(0)
    assert _fits(wide)
    snap(wide, "first-hour-home-chart-1920x1080")
    assert console_errors(view) == [] and console_errors(wide) == []
