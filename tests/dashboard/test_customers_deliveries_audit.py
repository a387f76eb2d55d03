"""Express customers, webhook deliveries (failed filter, attempts, replay) and the audit log."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from tests.conftest import ClinicFixture, Server
from tests.dashboard.conftest import field_error, flash_of, owner_client, submit
from tests.helpers import make_user, new_uid, sdk
from tests.webhooks.conftest import Receiver


def test_express_customers(server: Server, clinic: ClinicFixture) -> None:
    owner = owner_client(server, clinic)
    api = sdk(server.url, clinic.api_key)
    assert "No Express customers" in owner.get("/express-customers").text
    response = submit(owner, "/express-customers/new", "/express-customers/new", {"expressCustomerName": ""})
    assert response.status_code == 400 and field_error(response.text, "expressCustomerName") is not None
    response = submit(
        owner, "/express-customers/new", "/express-customers/new", {"expressCustomerName": "North Imaging"}
    )
    assert flash_of(owner, response) == "Express customer “North Imaging” created."
    page = response.headers["location"]
    ref = page.rsplit("/", 1)[1]
    assert api.express.retrieve(ref).express_customer_name == "North Imaging"

    # Rename and metadata (rows of name/value); problems are said next to the metadata.
    response = submit(
        owner,
        page,
        page,
        {"expressCustomerName": "North Imaging LLC", "metaKey": ["crm", "crm"], "metaValue": ["A-1", "A-2"]},
    )
    assert response.status_code == 400 and "“crm” is used twice" in (
        field_error(response.text, "metadata") or ""
    )
    response = submit(
        owner,
        page,
        page,
        {
            "expressCustomerName": "North Imaging LLC",
            "metaKey": ["crm", "region", ""],
            "metaValue": ["A-1", "north", ""],
        },
    )
    assert flash_of(owner, response) == "Changes saved."
    customer = api.express.retrieve(ref)
    assert customer.express_customer_name == "North Imaging LLC"
    assert customer.metadata == {"crm": "A-1", "region": "north"}
    response = submit(
        owner,
        page,
        page,
        {"expressCustomerName": "North Imaging LLC", "metaKey": ["crm", ""], "metaValue": ["A-1", ""]},
    )
    assert api.express.retrieve(ref).metadata == {"crm": "A-1"}

    # Users: add (the user then sees only this customer's studies), remove.
    reader = make_user(clinic.clinic_id, first_name="Cara", last_name="Customer")
    html = owner.get(page).text
    assert f'<option value="{reader}">' in html and f'<option value="{clinic.owner_id}">' not in html
    response = submit(owner, page, page + "/users", {"userId": reader})
    assert "User added to “North Imaging LLC”" in flash_of(owner, response)
    assert "Cara Customer" in owner.get(page).text and api.express.retrieve(ref).user_count == 1
    response = submit(owner, page, f"{page}/users/{reader}/remove", {})
    assert "User removed" in flash_of(owner, response) and api.express.retrieve(ref).user_count == 0

    # Deactivate (after a confirmation) and reactivate.
    assert "Deactivate “North Imaging LLC”?" in owner.get(page + "/deactivate").text
    response = submit(owner, page, page + "/deactivate", {})
    assert "deactivated" in flash_of(owner, response) and api.express.retrieve(ref).is_active is False
    assert "Reactivate the customer to add users" in owner.get(page).text
    listing = owner.get("/express-customers").text
    assert "Deactivated" in listing and "crm" in listing
    response = submit(owner, page, page + "/reactivate", {})
    assert flash_of(owner, response) == "“North Imaging LLC” is active again."
    audit = owner.get("/audit-log?action=express_customer.").text
    for label in (
        "Express customer created",
        "Express customer changed",
        "User linked to Express customer",
        "Express customer deactivated",
        "Express customer reactivated",
    ):
        assert label in audit, label


def _wait(predicate: Callable[[], object], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _event_status(event_id: str) -> str:
    from autoscribe.db import session_scope
    from autoscribe.webhooks.models import WebhookEvent

    with session_scope() as session:
        row = session.get(WebhookEvent, uuid.UUID(event_id.removeprefix("whe_")))
        return row.status if row else ""


def test_deliveries_failed_filter_attempts_and_replay(
    server: Server, clinic: ClinicFixture, receivers: Callable[..., Receiver]
) -> None:
    from autoscribe.db import session_scope
    from autoscribe.webhooks import outbox

    gone = receivers(lambda _r: (410, {"Content-Type": "text/plain"}, b"this endpoint is gone for good"))
    fine = receivers()
    owner = owner_client(server, clinic)
    assert "No webhooks sent yet" in owner.get("/deliveries").text
    endpoints = f"/api-config/keys/{clinic.api_key_id}/endpoints"
    submit(owner, endpoints, endpoints, {"reportWebhookUrl": gone.url})
    with session_scope() as session:
        event_id = outbox.enqueue(
            session,
            clinic_id=uuid.UUID(clinic.clinic_id),
            api_key_id=uuid.UUID(clinic.api_key_id),
            event_type="report.delivered",
            data={
                "reportId": "rep_" + uuid.uuid4().hex,
                "studyId": "stu_" + uuid.uuid4().hex,
                "plainText": "Normal.",
            },
        )
    _wait(lambda: _event_status(event_id) == "failed", "the 410 to fail the event")

    failed = owner.get("/deliveries?status=failed").text
    assert event_id in failed and "HTTP 410" in failed and gone.url in failed
    assert event_id not in owner.get("/deliveries?status=succeeded").text
    assert "No failed deliveries" not in failed
    detail = owner.get(f"/deliveries/{event_id}").text
    assert "HTTP 410" in detail and "this endpoint is gone for good" in detail and " ms" in detail
    assert "Disabled after 410 Gone" in owner.get("/api-config").text

    # Replaying into a disabled endpoint is refused in words; editing the endpoints re-enables.
    response = submit(owner, f"/deliveries/{event_id}", f"/deliveries/{event_id}/replay", {})
    assert "Not replayed: The endpoint is disabled" in flash_of(owner, response)
    submit(owner, endpoints, endpoints, {"reportWebhookUrl": fine.url})
    response = submit(owner, f"/deliveries/{event_id}", f"/deliveries/{event_id}/replay", {})
    assert flash_of(owner, response).startswith("Replay queued")
    _wait(lambda: _event_status(event_id) == "succeeded", "the replay to be delivered")
    assert [r.headers["webhook-id"] for r in fine.requests] == [event_id]  # the same id, to deduplicate
    detail = owner.get(f"/deliveries/{event_id}").text
    assert "Attempts (2)" in detail and 'id="event-status">Succeeded' in detail
    assert "No failed deliveries" in owner.get("/deliveries?status=failed").text
    assert "Webhook replayed" in owner.get("/audit-log?action=webhook_event.").text

    # Test events are listed too, and are not replayable.
    result = submit(
        owner, "/api-config", f"/api-config/keys/{clinic.api_key_id}/test", {"event": "report.delivered"}
    )
    test_id = re.search(r"(whe_[0-9a-f]{32})", result.text)
    assert test_id
    detail = owner.get(f"/deliveries/{test_id.group(1)}").text
    assert "Test event" in detail and 'action="/deliveries/' not in detail
    by_type = owner.get("/deliveries?type=study.access_requested").text
    assert "Nothing matches these filters" in by_type


def test_audit_log_filters(server: Server, clinic: ClinicFixture) -> None:
    from autoscribe.db import utcnow

    owner = owner_client(server, clinic)
    study = sdk(server.url, clinic.api_key).auto_scribe.studies.create(
        severity="normal", study_description="CT", study_instance_uid=new_uid(), report_metadata={}
    )
    everything = owner.get("/audit-log").text
    assert "Signed in" in everything and "Study created" in everything and "API key created" in everything
    by_key = owner.get(f"/audit-log?actor=api_key:{clinic.api_key_id}").text
    assert "Study created" in by_key and "Signed in" not in by_key
    assert f'href="/worklist/studies/{study.study_id}"' in by_key
    assert "API key “First API key”" in by_key
    by_owner = owner.get(f"/audit-log?actor=user:{clinic.owner_id}&action=auth.").text
    assert "Signed in" in by_owner and "Study created" not in by_owner and "Clinic Owner" in by_owner
    assert "Study created" not in owner.get("/audit-log?action=auth.").text
    today = utcnow().date()
    assert "Study created" in owner.get(f"/audit-log?from={today}&to={today}").text
    tomorrow = today + timedelta(days=1)
    assert "Nothing matches these filters" in owner.get(f"/audit-log?from={tomorrow}").text
    assert "The “Who” filter was not understood" in owner.get("/audit-log?actor=somebody").text
    # Only this clinic's entries.
    assert "Other Clinic" not in everything


def test_audit_log_reads_by_patient_study_and_actor_and_csv_export(
    server: Server, clinic: ClinicFixture
) -> None:
    import csv
    import html
    import io

    api = sdk(server.url, clinic.api_key)
    owner = owner_client(server, clinic)
    # MRN and patient id that a spreadsheet would run as formulas.
    one = api.auto_scribe.studies.create(
        severity="normal",
        study_description="CT Head",
        study_instance_uid=new_uid(),
        report_metadata={"patient_name": "Ann One", "mrn": "=1+2"},
        external_patient_id="@PID-1",
    ).study_id
    two = api.auto_scribe.studies.create(
        severity="normal",
        study_description="CT Knee",
        study_instance_uid=new_uid(),
        report_metadata={"patient_name": "Bob Two", "mrn": "MRN-TWO"},
    ).study_id
    api.auto_scribe.studies.retrieve(one)
    api.auto_scribe.studies.retrieve(two)
    assert owner.get(f"/worklist/studies/{one}").status_code == 200

    def rows(page: str) -> list[str]:
        """The audit table's rows, as text."""
        return [
            html.unescape(re.sub(r"<[^>]+>", " ", row)) for row in re.findall(r"<tr>(.*?)</tr>", page, re.S)
        ]

    reads = owner.get("/audit-log", params={"action": "read."}).text
    assert "Study viewed" in reads and "read.study" in reads and "Study created" not in reads
    assert "Patient =1+2" in html.unescape(reads) and "Patient MRN-TWO" in reads

    by_study = rows(owner.get("/audit-log", params={"study": one}).text)
    assert len(by_study) == 1 + 3  # the header; created, read by the key, viewed by the owner
    assert all("Bob Two" not in row and two not in row for row in by_study)
    # The patient filter takes the MRN (recorded with each read) or the patient id (the
    # patient's studies now): both find patient one's events, creation included.
    for patient in ("=1+2", "@PID-1"):
        by_patient = rows(owner.get("/audit-log", params={"patient": patient}).text)
        assert len(by_patient) == 1 + 3, patient
    only_two = rows(owner.get("/audit-log", params={"patient": "MRN-TWO", "action": "read."}).text)
    assert len(only_two) == 2 and "API key “First API key”" in only_two[1]

    by_key = rows(
        owner.get("/audit-log", params={"actor": f"api_key:{clinic.api_key_id}", "action": "read."}).text
    )
    assert len(by_key) == 1 + 2 and all("Clinic Owner" not in row for row in by_key)
    by_owner = rows(
        owner.get("/audit-log", params={"actor": f"user:{clinic.owner_id}", "action": "read."}).text
    )
    assert len(by_owner) == 1 + 1 and "Study viewed" in by_owner[1] and "Clinic Owner" in by_owner[1]
    assert "not a study id" in owner.get("/audit-log", params={"study": "stu_nope"}).text

    # The page links to the CSV of what it shows; the CSV has a header row and every row, and
    # cells a spreadsheet would run as formulas start with an apostrophe.
    page = owner.get("/audit-log", params={"study": one}).text
    assert f'href="/audit-log/export.csv?study={one}"' in page
    export = owner.get("/audit-log/export.csv", params={"study": one})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert export.headers["content-disposition"].startswith('attachment; filename="audit-log-')
    table = list(csv.reader(io.StringIO(export.text)))
    assert table[0] == [
        "occurred_at",
        "actor_type",
        "actor_id",
        "actor",
        "action",
        "what",
        "target_type",
        "target_id",
        "patient",
        "address",
        "details",
    ]
    assert [(r[4], r[7]) for r in table[1:]] == [
        ("read.study", one),
        ("read.study", one),
        ("study.created", one),
    ]
    viewed, read, _created = table[1:]
    assert (viewed[0][-1], viewed[1], viewed[2], viewed[3]) == ("Z", "user", clinic.owner_id, "Clinic Owner")
    assert (read[1], read[2], read[5]) == ("api_key", clinic.api_key_id, "Study viewed")
    assert viewed[8] == read[8] == "'=1+2"  # neutralised; the details keep it as data
    assert '"mrn": "=1+2"' in viewed[10] and '"patientId": "@PID-1"' in viewed[10]
    assert viewed[9].startswith("127.")
    # Exporting is itself audited (the file holds patient identifiers).
    assert "Audit log exported" in owner.get("/audit-log").text
