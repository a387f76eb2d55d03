"""The dashboard in a real browser (headless Debian Chromium): the integration guide's API Config
steps, literally; the worklist's live refresh, assignment and the way into the workspace; the
NPI checked as it is typed; every page at 1280x800 and at phone width, by keyboard."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable

import pytest
from avara import Avara
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, console_errors, snap
from tests.conftest import ClinicFixture, Server
from tests.dashboard.conftest import PASSWORD
from tests.helpers import make_user, new_uid, sdk
from tests.webhooks.conftest import Received, Receiver

pytestmark = pytest.mark.browser


def sign_in(page: Page, server: Server, email: str, password: str) -> None:
    page.goto(server.url + "/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")


def integrator(request: Received) -> tuple[int, dict[str, str], bytes]:
    """A receiver like the guide's: image URLs for study.access_requested, success otherwise."""
    if request.event["type"] == "study.access_requested":
        body = {
            "authorized": True,
            "urls": ["https://pacs.example.test/a.dcm", "https://pacs.example.test/b.dcm"],
        }
    else:
        body = {"success": True}
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def wait_for(predicate: Callable[[], object], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_api_config_steps_of_the_integration_guide(
    page: Page, server: Server, clinic: ClinicFixture, receivers: Callable[..., Receiver]
) -> None:
    first = receivers(integrator)
    second = receivers(integrator)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    sign_in(page, server, clinic.owner_email, clinic.owner_password)

    # 1. "After logging in, navigate to the sidebar and go to the API Config section"
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API Config").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("API Config")
    # 2. "Click the Create API Key button"
    page.get_by_role("link", name="Create API Key").click()
    dialog = page.get_by_role("dialog", name="Create API Key")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Description")).to_be_focused()
    # 3. "Configure the following values", each explained as the guide explains it.
    dialog.get_by_label("Description").fill("Main PACS")
    expect(
        dialog.get_by_text("For teleradiology groups with multiple integrating PACS sources.", exact=False)
    ).to_be_visible()
    expect(
        dialog.get_by_text("PACS companies looking to integrate AutoScribe into their platform", exact=False)
    ).to_be_visible()
    dialog.get_by_role("radio", name=re.compile(r"^All\b")).check()
    dialog.get_by_label("User access").select_option("write")
    expect(
        dialog.get_by_text("determine if the API token can invite and manage users", exact=False)
    ).to_be_visible()
    dialog.get_by_label("Express customer access").select_option("none")
    expect(dialog.get_by_text("leave as None since it won\u2019t be needed", exact=False)).to_be_visible()
    dialog.get_by_label("Study data webhook endpoint").fill(first.url)
    dialog.get_by_label("Report data webhook endpoint").fill(first.url)
    snap(page, "dashboard-api-config-create-key")
    dialog.get_by_role("button", name="Create API Key").click()

    # 4. "save it to your environment variables — you will not be able to view it again"
    created = page.get_by_role("dialog", name="API key created")
    expect(created.get_by_role("alert")).to_contain_text("you will not be able to view it again")
    key_field = created.get_by_label("API key for “Main PACS”")
    key = key_field.input_value()
    assert key.startswith("as_live_")
    created.get_by_role("button", name="Copy").click()
    expect(created.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == key
    snap(page, "dashboard-api-config-key-shown-once")
    # The key works with the official SDK.
    api = sdk(server.url, key)
    study = api.auto_scribe.studies.create(
        severity="normal",
        study_description="Coronary CT Angiogram",
        study_instance_uid=new_uid(),
        report_metadata={"patient_name": "John Doe", "date_of_birth": "1985-01-01"},
    )
    assert api.auto_scribe.studies.retrieve(study.study_id).study_description == "Coronary CT Angiogram"
    created.get_by_role("link", name="Done").click()
    card = page.locator(".key-card", has_text="Main PACS")
    expect(card).to_contain_text("Study scope")
    expect(card).to_contain_text(first.url)
    assert key not in page.content()  # shown once, never again
    key_id = card.get_attribute("data-key-id")
    assert key_id

    # "To edit webhook endpoints after creating an API key, click the Edit Endpoints button in the
    # API config row for your key."
    card.get_by_role("link", name="Edit Endpoints").click()
    dialog = page.get_by_role("dialog", name="Edit Webhook Endpoints")
    dialog.get_by_label("Report data webhook endpoint").fill("ftp://nope")
    dialog.get_by_role("button", name="Save endpoints").click()
    expect(dialog.get_by_text("must be an absolute http:// or https:// URL", exact=False)).to_be_visible()
    dialog.get_by_label("Report data webhook endpoint").fill(second.url)
    dialog.get_by_role("button", name="Save endpoints").click()
    expect(page.locator("#flash")).to_have_text("Webhook endpoints saved for “Main PACS”.")
    expect(card).to_contain_text(second.url)

    # The next webhook goes to the new endpoint: a real event through the outbox...
    from autoscribe.db import session_scope
    from autoscribe.webhooks import outbox

    with session_scope() as session:
        event_id = outbox.enqueue(
            session,
            clinic_id=uuid.UUID(clinic.clinic_id),
            api_key_id=uuid.UUID(key_id),
            event_type="report.delivered",
            data={
                "reportId": "rep_" + uuid.uuid4().hex,
                "studyId": study.study_id,
                "plainText": "IMPRESSION: Normal.",
            },
        )
    wait_for(lambda: second.ids() == [event_id], "the event at the new endpoint")
    # ...and "Send test event", which shows what the receiver answered.
    card.get_by_role("link", name="Send test event").click()
    dialog = page.get_by_role("dialog", name="Send a test event")
    dialog.get_by_role("radio", name=re.compile("report.delivered")).check()
    dialog.get_by_role("button", name="Send test event").click()
    expect(dialog.locator("#test-status")).to_have_text("200")
    expect(dialog.locator("#test-body")).to_contain_text('"success": true')
    dialog.get_by_role("radio", name=re.compile("study.access_requested")).check()
    dialog.get_by_role("button", name="Send test event").click()
    expect(dialog.get_by_text("authorized, 2 image URLs")).to_be_visible()
    snap(page, "dashboard-api-config-test-event")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert [r.event["type"] for r in second.requests] == ["report.delivered", "report.delivered"]
    assert [r.event["type"] for r in first.requests] == ["study.access_requested"]

    # "To view the JWT secret ... click the View JWT Secret button in the API config row for your
    # key. This secret can be viewed at any time." It verifies what the endpoint received.
    view = card.get_by_role("link", name="View JWT Secret")
    view.click()
    dialog = page.get_by_role("dialog", name="View JWT Webhook Secret")
    expect(dialog).to_contain_text("AVARA_JWT_WEBHOOK_SECRET")
    secret = dialog.get_by_label("AVARA_JWT_WEBHOOK_SECRET").input_value()
    snap(page, "dashboard-api-config-jwt-secret")
    for received in second.requests + first.requests:
        body = received.body.decode()
        expected = hmac.new(
            secret.encode(), (received.headers["x-avara-timestamp"] + body).encode(), hashlib.sha256
        ).hexdigest()
        assert hmac.compare_digest(received.headers["x-avara-signature"], expected)
        Avara(api_key="unused", webhook_key=secret).webhooks.unwrap(body, headers=received.headers)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(view).to_be_focused()  # focus returns to where it was
    assert console_errors(page) == []


def test_worklist_live_assign_and_open_in_workspace(
    make_page: Callable[..., Page], server: Server, clinic: ClinicFixture
) -> None:
    reader_email = f"rita-{uuid.uuid4().hex[:6]}@example.test"
    make_user(clinic.clinic_id, first_name="Rita", last_name="Reader", email=reader_email, password=PASSWORD)
    owner = make_page(name="owner")
    sign_in(owner, server, clinic.owner_email, clinic.owner_password)
    owner.get_by_role("navigation", name="Main").get_by_role("link", name="Worklist").click()
    expect(owner.get_by_text("No studies here yet")).to_be_visible()
    owner.evaluate("window.__notReloaded = true")

    api = sdk(server.url, clinic.api_key)
    api.auto_scribe.studies.create(
        severity="normal", study_description="US renal", study_instance_uid=new_uid(), report_metadata={}
    )
    stat = api.auto_scribe.studies.create(
        severity="stat",
        study_description="CT head trauma",
        study_instance_uid=new_uid(),
        report_metadata={"patient_name": "Zoë Ångström"},
    )
    # Appears without a reload, most urgent first.
    row = owner.locator(f"#study-{stat.study_id}")
    expect(row).to_be_visible(timeout=20_000)
    expect(owner.locator("#worklist-table tbody tr").first).to_have_attribute("data-study-id", stat.study_id)
    expect(owner.locator('[data-status="all"] .count')).to_have_text("2")
    assert owner.evaluate("window.__notReloaded") is True
    snap(owner, "dashboard-worklist-live")

    row.get_by_role("link", name="CT head trauma").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("CT head trauma")
    owner.get_by_label("Assign to").select_option(label="Rita Reader — Radiologist")
    owner.get_by_role("button", name="Save assignment").click()
    expect(owner.locator("#flash")).to_have_text("Assigned to Rita Reader.")
    expect(owner.locator("#assigned-to")).to_have_text("Rita Reader")
    assert api.auto_scribe.studies.retrieve(stat.study_id).study_report_status == "assigned"

    # The radiologist sees it in their worklist and opens it in the workspace.
    reader = make_page(name="radiologist")
    sign_in(reader, server, reader_email, PASSWORD)
    reader.goto(server.url + "/worklist")
    expect(reader.locator("#worklist-table tbody tr")).to_have_count(1)
    reader.get_by_role("link", name="Open CT head trauma in the workspace").click()
    expect(reader).to_have_url(re.compile(rf"/workspace/{stat.study_id}$"))
    # ...where the study is open for reporting: its description, and a draft ready to dictate.
    expect(reader.get_by_role("heading", level=1)).to_contain_text("CT head trauma")
    expect(reader.locator("#f-findings")).to_be_editable(timeout=15_000)
    assert console_errors(owner) == []


def test_invite_with_npi_checked_as_typed(page: Page, server: Server, clinic: ClinicFixture) -> None:
    sign_in(page, server, clinic.owner_email, clinic.owner_password)
    page.goto(server.url + "/users")
    page.get_by_role("link", name="Invite user").first.click()
    dialog = page.get_by_role("dialog", name="Invite user")
    email = f"omar-{uuid.uuid4().hex[:6]}@example.test"
    dialog.get_by_label("Email address").fill(email)
    dialog.get_by_label("First name").fill("Omar")
    dialog.get_by_label("Last name").fill("Okafor")
    dialog.get_by_role("checkbox", name=re.compile("Can create reports")).check()
    npi = dialog.get_by_role("textbox", name=re.compile("^NPI"))
    npi.press_sequentially("1234567890")
    expect(dialog.locator("#npi-feedback")).to_have_text(re.compile("Not a valid NPI"))
    npi.press("Backspace")
    npi.press_sequentially("3")
    expect(dialog.locator("#npi-feedback")).to_have_text(re.compile("Valid NPI."))
    snap(page, "dashboard-users-invite")
    dialog.get_by_role("button", name="Send invitation").click()
    expect(page.locator("#flash")).to_contain_text(f"Invitation sent to {email}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Omar Okafor")
    assert console_errors(page) == []


PAGES = [
    ("/worklist", "Worklist"),
    ("/worklist/new", "New study"),
    ("/api-config", "API Config"),
    ("/users", "Users"),
    ("/invitations", "Invitations"),
    ("/express-customers", "Express customers"),
    ("/deliveries", "Webhook deliveries"),
    ("/audit-log", "Audit log"),
    ("/templates", "Templates & macros"),
    ("/templates/macros", "Templates & macros"),
    ("/templates/new", "New template"),
    ("/templates/builtin/ct-abdomen-pelvis", "CT abdomen and pelvis"),
]


def test_every_page_at_desktop_and_phone_size(
    make_page: Callable[..., Page], server: Server, clinic: ClinicFixture
) -> None:
    api = sdk(server.url, clinic.api_key)
    rita = make_user(clinic.clinic_id, first_name="Rita", last_name="Reader")
    customer = api.express.create(
        express_customer_name="North Imaging", metadata={"crm": "N-1"}
    ).express_customer_id
    study = api.auto_scribe.studies.create(
        severity="high",
        study_description="MRI brain with and without contrast",
        study_instance_uid=new_uid(),
        report_metadata={"patient_name": "Ana Lima", "mrn": "MRN-1"},
        assigned_to=rita,
        express_customer_id=customer,
        clinical_indication="Headache for 3 weeks",
    )
    pages = [
        *PAGES,
        (f"/worklist/studies/{study.study_id}", "MRI brain with and without contrast"),
        (f"/users/{rita}", "Rita Reader"),
        (f"/express-customers/{customer}", "North Imaging"),
    ]
    for width, height, name in ((1280, 800, "desktop"), (*PHONE, "phone")):
        view = make_page(width, height, name=name)
        sign_in(view, server, clinic.owner_email, clinic.owner_password)
        for path, heading in pages:
            view.goto(server.url + path)
            expect(view.get_by_role("heading", level=1)).to_have_text(heading)
            # Nothing wider than the screen (tables become one card per row on a phone).
            assert view.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (path, name)
            slug = path.strip("/").replace("/", "-")
            slug = re.sub(r"(stu|usr|cus)_[0-9a-f]{32}", r"\1", slug)
            snap(view, f"dashboard-{slug}-{name}")
        assert console_errors(view) == []


def test_keyboard_only(page: Page, server: Server, clinic: ClinicFixture) -> None:
    sign_in(page, server, clinic.owner_email, clinic.owner_password)
    page.goto(server.url + "/api-config")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    create = page.get_by_role("link", name="Create API Key")
    expect(create).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Create API Key")
    expect(dialog.get_by_label("Description")).to_be_focused()
    page.keyboard.type("Keyboard key")
    page.keyboard.press("Enter")  # submits; the key is shown in the dialog
    expect(page.get_by_role("dialog", name="API key created")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    # The worklist filters and tabs are reachable and usable by keyboard.
    page.goto(server.url + "/worklist")
    page.get_by_label("Search").focus()
    page.keyboard.type("nothing like this")
    page.keyboard.press("Enter")
    expect(page.get_by_text("No study matches these filters")).to_be_visible()
    ring = page.evaluate(
        "(() => { document.querySelector('.tabs a').focus();"
        " const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]; })()"
    )
    assert ring == ["solid", "3px"]
    assert console_errors(page) == []


def test_a_problem_inside_a_dialog_is_said_in_the_dialog(
    page: Page, server: Server, clinic: ClinicFixture
) -> None:
    sign_in(page, server, clinic.owner_email, clinic.owner_password)
    page.goto(server.url + "/api-config")
    page.get_by_role("link", name="Edit Endpoints").click()
    dialog = page.get_by_role("dialog", name="Edit Webhook Endpoints")
    expect(dialog.get_by_label("Study data webhook endpoint")).to_be_focused()
    # Meanwhile, someone else revokes the key.
    from autoscribe.audit.service import Actor
    from autoscribe.auth.models import ApiKey
    from autoscribe.auth.service import revoke_api_key
    from autoscribe.db import session_scope

    with session_scope() as session:
        key = session.get(ApiKey, uuid.UUID(clinic.api_key_id))
        assert key is not None
        revoke_api_key(session, key, actor=Actor.system())
    dialog.get_by_label("Report data webhook endpoint").fill("https://example.test/hook")
    dialog.get_by_role("button", name="Save endpoints").click()
    problem = page.get_by_role("dialog", name="API key not found")
    expect(problem.get_by_role("alert")).to_contain_text("does not exist in your clinic")
    problem.get_by_role("button", name="Close").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
