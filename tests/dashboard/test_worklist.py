"""The worklist: priority order with keyset pages that stay correct, filters and counts, who sees
what (members, Express customers), manual creation with the API's validation, assignment,
cancellation, editing, and the live refresh endpoint."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from avara import Avara

from tests.conftest import ClinicFixture, Server
from tests.dashboard.conftest import field_error, flash_of, owner_client, sign_in_as, submit
from tests.helpers import make_user, new_uid, sdk


def _study(client: Avara, severity: str = "normal", **kwargs: Any) -> str:
    kwargs.setdefault("study_description", f"{severity} study")
    kwargs.setdefault("report_metadata", {})
    return client.auto_scribe.studies.create(
        severity=severity, study_instance_uid=new_uid(), **kwargs
    ).study_id


def _row_ids(html: str) -> list[str]:
    return re.findall(r'<tr id="study-(stu_[0-9a-f]{32})"', html)


def _scope(clinic: ClinicFixture) -> Any:
    from autoscribe.studies.service import StudyScope

    return StudyScope(clinic_id=uuid.UUID(clinic.clinic_id))


def test_priority_order_with_keyset_pages(server: Server, clinic: ClinicFixture) -> None:
    from autoscribe.db import session_scope
    from autoscribe.studies import service
    from autoscribe.studies.service import StudyFilters

    api = sdk(server.url, clinic.api_key)
    pattern = ["normal", "stat", "high", "normal", "stat", "normal", "high", "normal", "stat"]
    made = [_study(api, severity) for severity in pattern]
    rank = {"stat": 2, "high": 1, "normal": 0}
    # stat first, then high, then normal; newest first within each (ids are time-ordered).
    expected = sorted(made, key=lambda ref: (rank[pattern[made.index(ref)]], ref), reverse=True)

    seen: list[str] = []
    cursor = None
    arrived: dict[str, str] = {}
    with session_scope() as session:
        while True:
            page = service.list_studies(
                session, _scope(clinic), StudyFilters(), cursor=cursor, limit=2, order=service.ORDER_PRIORITY
            )
            seen += [f"stu_{s.id.hex}" for s in page.items]
            if len(seen) == 4:
                # Studies arriving while someone pages through: a stat one belongs before the
                # page being read (not shown on later pages), a normal one after it (shown).
                arrived = {"stat": _study(api, "stat"), "normal": _study(api, "normal")}
            if not page.has_more:
                break
            cursor = page.cursor
    normal_start = expected.index(next(r for r in expected if pattern[made.index(r)] == "normal"))
    assert seen == [*expected[:normal_start], arrived["normal"], *expected[normal_start:]]
    assert arrived["stat"] not in seen and len(set(seen)) == len(seen)

    # The page shows the same order.
    html = owner_client(server, clinic).get("/worklist").text
    rows = _row_ids(html)
    assert [r for r in rows if r in made] == expected
    assert rows.index(expected[0]) < rows.index(expected[-1])


def test_filters_and_counts(server: Server, clinic: ClinicFixture) -> None:
    from autoscribe.db import session_scope, utcnow
    from autoscribe.studies.models import Study

    api = sdk(server.url, clinic.api_key)
    rita = make_user(clinic.clinic_id, first_name="Rita")
    customer = api.express.create(express_customer_name="North Imaging").express_customer_id
    old = _study(
        api,
        "high",
        study_description="CT chest old",
        report_metadata={"patient_name": "Zoë Ångström", "mrn": "MRN-778"},
    )
    assigned = _study(
        api,
        "stat",
        study_description="MRI knee",
        assigned_to=rita,
        report_metadata={"patient_name": "John Doe"},
    )
    of_customer = _study(api, "normal", study_description="US renal", express_customer_id=customer)
    uid = new_uid()
    cancelled = api.auto_scribe.studies.create(
        severity="normal", study_description="XR wrist", study_instance_uid=uid, report_metadata={}
    ).study_id
    api.auto_scribe.studies.cancel(study_id=cancelled)
    with session_scope() as session:
        row = session.get(Study, uuid.UUID(old.removeprefix("stu_")))
        assert row is not None
        row.created_at = utcnow() - timedelta(days=3)
    three_days_ago = (utcnow() - timedelta(days=3)).date().isoformat()
    two_days_ago = (utcnow() - timedelta(days=2)).date().isoformat()
    today = utcnow().date().isoformat()

    owner = owner_client(server, clinic)

    def rows(query: str) -> list[str]:
        response = owner.get("/worklist?" + query)
        assert response.status_code == 200
        return _row_ids(response.text)

    assert set(rows("")) == {old, assigned, of_customer}  # cancelled ones are apart
    assert rows("status=cancelled") == [cancelled]
    assert rows("status=assigned") == [assigned]
    assert rows("severity=high") == [old]
    assert rows(f"assignee={rita}") == [assigned]
    assert set(rows("assignee=none")) == {old, of_customer}
    assert rows(f"customer={customer}") == [of_customer]
    assert set(rows("customer=none")) == {old, assigned}
    assert rows(f"from={three_days_ago}&to={two_days_ago}") == [old]
    assert set(rows(f"from={today}")) == {assigned, of_customer}
    assert rows("q=zoë") == rows("q=ÅNGSTRÖM") == [old]  # patient name, any case
    assert rows("q=MRN-778") == [old]
    assert rows("q=knee") == [assigned]
    assert rows(f"q={uid}&status=cancelled") == [cancelled]
    assert rows("q=no+such+study") == []
    assert "No study matches these filters" in owner.get("/worklist?q=no+such+study").text
    # A filter that cannot be read is said, not silently dropped.
    assert "The assignee filter was not understood" in owner.get("/worklist?assignee=bob").text

    # Counts per status honour the other filters.
    html = owner.get("/worklist").text

    def count(html: str, status: str) -> int:
        match = re.search(rf'data-status="{status}">[^<]*<span class="count">(\d+)</span>', html)
        assert match, status
        return int(match.group(1))

    assert (
        count(html, "all"),
        count(html, "unassigned"),
        count(html, "assigned"),
        count(html, "cancelled"),
    ) == (
        3,
        2,
        1,
        1,
    )
    html = owner.get("/worklist?severity=stat").text
    assert (count(html, "all"), count(html, "assigned"), count(html, "cancelled")) == (1, 1, 0)


def test_who_sees_which_studies(server: Server, clinic: ClinicFixture) -> None:
    api = sdk(server.url, clinic.api_key)
    north = api.express.create(express_customer_name="North").express_customer_id
    south = api.express.create(express_customer_name="South").express_customer_id
    reader = sign_in_as(server, clinic, level="member", first_name="Reader")
    north_admin = sign_in_as(server, clinic, level="admin", can_create_reports=False, npi=None)
    api.express.users.add(north, user_id=north_admin.user_id)
    mine = _study(api, "normal", assigned_to=reader.user_id, express_customer_id=north)
    north_other = _study(api, "high", express_customer_id=north)
    south_study = _study(api, "stat", express_customer_id=south)
    clinic_wide = _study(api, "normal")

    # A member without "manage studies" sees what is assigned to them, and nothing else.
    assert _row_ids(reader.client.get("/worklist").text) == [mine]
    assert reader.client.get(f"/worklist/studies/{mine}").status_code == 200
    assert reader.client.get(f"/worklist/studies/{north_other}").status_code == 404
    assert reader.client.get("/worklist/new").status_code == 403
    response = submit(reader.client, "/worklist", f"/worklist/studies/{mine}/assign", {"assignedTo": ""})
    assert response.status_code == 403
    assert "New study" not in reader.client.get("/worklist").text

    # Someone linked to an Express customer sees that customer's studies only.
    assert set(_row_ids(north_admin.client.get("/worklist").text)) == {mine, north_other}
    assert north_admin.client.get(f"/worklist/studies/{south_study}").status_code == 404
    assert north_admin.client.get(f"/worklist/studies/{clinic_wide}").status_code == 404
    # ...and cannot put a study outside them.
    form = {
        "studyInstanceUid": new_uid(),
        "studyDescription": "CT",
        "severity": "normal",
        "expressCustomerId": south,
    }
    response = submit(north_admin.client, "/worklist/new", "/worklist/new", form)
    assert response.status_code == 400
    assert (
        field_error(response.text, "expressCustomerId")
        == "You can only use the Express customers you belong to"
    )

    # Platform users see everything.
    assert set(_row_ids(owner_client(server, clinic).get("/worklist").text)) == {
        mine,
        north_other,
        south_study,
        clinic_wide,
    }


def test_manual_creation_uses_the_api_validation(server: Server, clinic: ClinicFixture) -> None:
    owner = owner_client(server, clinic)
    api = sdk(server.url, clinic.api_key)
    rita = make_user(clinic.clinic_id, first_name="Rita", last_name="Reader")
    form = {
        "studyInstanceUid": "1.2.03",
        "studyDescription": "",
        "severity": "stat",
        "reportMetadata.patientName": "Ana Lima",
        "reportMetadata.dateOfBirth": "1985-02-30",
        "reportMetadata.sex": "female",
    }
    response = submit(owner, "/worklist/new", "/worklist/new", form)
    assert response.status_code == 400
    assert "Must be a valid DICOM UID" in (field_error(response.text, "studyInstanceUid") or "")
    assert field_error(response.text, "reportMetadata.dateOfBirth") == "Is not a real calendar date"
    assert field_error(response.text, "studyDescription") is not None
    assert 'value="Ana Lima"' in response.text  # what was typed stays

    taken = new_uid()
    api.auto_scribe.studies.create(
        severity="normal", study_description="existing", study_instance_uid=taken, report_metadata={}
    )
    form.update(
        {
            "studyInstanceUid": taken,
            "studyDescription": "CT abdomen",
            "reportMetadata.dateOfBirth": "1985-02-03",
        }
    )
    response = submit(owner, "/worklist/new", "/worklist/new", form)
    assert response.status_code == 400
    assert "already exists in this clinic" in (field_error(response.text, "studyInstanceUid") or "")

    uid = new_uid()
    form.update({"studyInstanceUid": uid, "assignedTo": rita, "modality": "CT", "clinicalIndication": "Pain"})
    response = submit(owner, "/worklist/new", "/worklist/new", form)
    assert flash_of(owner, response) == "Study created."
    study = api.auto_scribe.studies.retrieve_by_uid(uid)
    assert study.study_description == "CT abdomen" and study.severity == "stat" and study.modality == "CT"
    assert study.report_metadata.patient_name == "Ana Lima" and study.report_metadata.sex == "female"
    assert study.report_metadata.date_of_birth == "1985-02-03"
    assert study.assigned_to is not None and study.assigned_to.user_id == rita
    assert study.study_report_status == "assigned" and study.clinical_indication == "Pain"
    assert study.created_by_user is not None and study.created_by_user.email == clinic.owner_email
    assert study.created_by_api_key is None


def test_assign_reassign_edit_cancel_and_restore(server: Server, clinic: ClinicFixture) -> None:
    owner = owner_client(server, clinic)
    api = sdk(server.url, clinic.api_key)
    rita = make_user(clinic.clinic_id, first_name="Rita", last_name="Reader", npi="1245319599")
    omar = make_user(clinic.clinic_id, first_name="Omar", last_name="Okafor", npi="1679576722")
    make_user(clinic.clinic_id, first_name="Revoked", last_name="Person", revoked=True)
    make_user(clinic.clinic_id, first_name="No", last_name="Npi", npi=None, can_create_reports=False)
    make_user(clinic.clinic_id, first_name="Bad", last_name="Checkdigit", npi="1234567890")
    elsewhere = make_user(clinic.clinic_id, first_name="Other", last_name="Customer")
    other = api.express.create(express_customer_name="Other customer").express_customer_id
    api.express.users.add(other, user_id=elsewhere)
    study_id = _study(
        api, "high", study_description="CT head", report_metadata={"patient_name": "Old Name", "mrn": "M1"}
    )
    page = f"/worklist/studies/{study_id}"

    html = owner.get(page).text
    offered = re.findall(r'<option value="(usr_[0-9a-f]{32})"', html)
    # Only those who may report this (clinic-wide) study: valid NPI, not revoked, not in another customer.
    assert set(offered) == {rita, omar}

    assert (
        flash_of(owner, submit(owner, page, page + "/assign", {"assignedTo": rita}))
        == "Assigned to Rita Reader."
    )
    assert api.auto_scribe.studies.retrieve(study_id).assigned_to.user_id == rita  # type: ignore[union-attr]
    assert (
        flash_of(owner, submit(owner, page, page + "/assign", {"assignedTo": omar}))
        == "Assigned to Omar Okafor."
    )
    assert api.auto_scribe.studies.retrieve(study_id).assigned_to.user_id == omar  # type: ignore[union-attr]
    response = submit(owner, page, page + "/assign", {"assignedTo": elsewhere})
    assert response.status_code == 400 and "belongs to other Express customers" in response.text
    response = submit(owner, page, page + "/assign", {"assignedTo": "usr_" + "0" * 32})
    assert response.status_code == 400 and "No user usr_000" in response.text
    assert (
        flash_of(owner, submit(owner, page, page + "/assign", {"assignedTo": ""}))
        == "The study is unassigned."
    )
    assert api.auto_scribe.studies.retrieve(study_id).study_report_status == "unassigned"

    # Edit: the same rules as PATCH; a blank field clears it.
    edit = page + "/edit"
    response = submit(owner, edit, edit, {"studyDescription": "CT head w/o", "severity": "bogus"})
    assert response.status_code == 400 and field_error(response.text, "severity") is not None
    response = submit(
        owner,
        edit,
        edit,
        {
            "studyDescription": "CT head without contrast",
            "severity": "stat",
            "reportMetadata.patientName": "New Name",
            "modality": "CT",
        },
    )
    assert flash_of(owner, response) == "Changes saved."
    study = api.auto_scribe.studies.retrieve(study_id)
    assert (study.study_description, study.severity, study.modality) == (
        "CT head without contrast",
        "stat",
        "CT",
    )
    assert study.report_metadata.patient_name == "New Name" and study.report_metadata.mrn is None

    # Cancel after a confirmation; restore.
    assert "Cancel this study?" in owner.get(page + "/cancel").text
    assert "Study cancelled" in flash_of(owner, submit(owner, page, page + "/cancel", {}))
    assert api.auto_scribe.studies.retrieve(study_id).is_cancelled is True
    assert "Restore study" in owner.get(page).text
    assert flash_of(owner, submit(owner, page, page + "/uncancel", {})) == "Study restored to the worklist."
    assert api.auto_scribe.studies.retrieve(study_id).is_cancelled is False
    audit = owner.get("/audit-log?action=study.").text
    for label in ("Study changed", "Study cancelled", "Study restored"):
        assert label in audit


def test_live_refresh_answers_204_until_something_changes(server: Server, clinic: ClinicFixture) -> None:
    owner = owner_client(server, clinic)
    api = sdk(server.url, clinic.api_key)
    first = _study(api, "normal")
    headers = {"HX-Request": "true"}

    def poll(url: str, marker: str) -> Any:
        return owner.get(f"{url}&m={marker}", headers=headers)

    def poll_params(html: str) -> tuple[str, str]:
        """What htmx sends: the element's hx-get plus the marker input it includes."""
        url = re.search(r'hx-get="(/worklist/live\?[^"]+)"', html)
        marker = re.search(r'id="worklist-marker" name="m" value="([^"]+)"', html)
        assert url and marker
        return url.group(1).replace("&amp;", "&"), marker.group(1)

    url, marker = poll_params(owner.get("/worklist?severity=stat").text)
    assert poll(url, marker).status_code == 204

    # A change the page does not show (a normal study on a STAT-only view): only the marker moves,
    # out of band, and the next polls are 204 again.
    _study(api, "normal")
    quiet = poll(url, marker)
    assert quiet.status_code == 200 and quiet.headers["HX-Reswap"] == "none"
    new_marker = re.search(r'id="worklist-marker" name="m" value="([^"]+)" hx-swap-oob="true"', quiet.text)
    assert new_marker and new_marker.group(1) != marker and "<tr" not in quiet.text
    assert poll(url, new_marker.group(1)).status_code == 204

    # A change it shows: the new rows and counts, as a fragment for htmx to swap in.
    new = _study(api, "stat", study_description="Trauma CT")
    fresh = poll(url, new_marker.group(1))
    assert fresh.status_code == 200 and "HX-Reswap" not in fresh.headers
    assert _row_ids(fresh.text) == [new] and first not in fresh.text
    assert "<html" not in fresh.text
    next_url, next_marker = poll_params(fresh.text)
    assert poll(next_url, next_marker).status_code == 204
    # Changing a study (not only creating one) is seen too.
    api.auto_scribe.studies.update(new, study_description="Trauma CT head")
    changed = poll(next_url, next_marker)
    assert changed.status_code == 200 and "Trauma CT head" in changed.text


def test_live_refresh_tells_a_member_nothing_about_studies_they_cannot_see(
    server: Server, clinic: ClinicFixture
) -> None:
    api = sdk(server.url, clinic.api_key)
    reader = sign_in_as(server, clinic, level="member", first_name="Reader")
    other = make_user(clinic.clinic_id, first_name="Otto")
    mine = _study(api, "normal", assigned_to=reader.user_id)
    headers = {"HX-Request": "true"}

    page = reader.client.get("/worklist").text
    url = re.search(r'hx-get="(/worklist/live\?[^"]+)"', page)
    marker = re.search(r'id="worklist-marker" name="m" value="([^"]+)"', page)
    assert url and marker
    live = url.group(1).replace("&amp;", "&")

    def poll(marker: str) -> Any:
        return reader.client.get(f"{live}&m={marker}", headers=headers)

    # Studies created and changed elsewhere in the clinic: the member's page hears nothing, and
    # nothing it is given names them.
    hidden = _study(api, "stat", study_description="Someone else's CT")
    api.auto_scribe.studies.update(hidden, study_description="Someone else's CT head")
    assert poll(marker.group(1)).status_code == 204
    assert hidden.removeprefix("stu_") not in page + marker.group(1)

    # A study assigned to them shows up; one taken away from them goes.
    theirs = _study(api, "high", assigned_to=reader.user_id)
    fresh = poll(marker.group(1))
    assert fresh.status_code == 200 and set(_row_ids(fresh.text)) == {mine, theirs}
    assert hidden.removeprefix("stu_") not in fresh.text
    new_marker = re.search(r'id="worklist-marker" name="m" value="([^"]+)"', fresh.text)
    assert new_marker and poll(new_marker.group(1)).status_code == 204
    api.auto_scribe.studies.update(theirs, assigned_to=other)
    after = poll(new_marker.group(1))
    assert after.status_code == 200 and _row_ids(after.text) == [mine]


def test_a_viewer_study_can_be_assigned_to_someone_who_does_not_report(
    server: Server, clinic: ClinicFixture
) -> None:
    """A Viewer study only shows images: the dashboard offers every active user, as the API's
    assignedTo allows, not only radiologists with an NPI; an AutoScribe study still offers those."""
    owner = owner_client(server, clinic)
    api = sdk(server.url, clinic.api_key)
    rita = make_user(clinic.clinic_id, first_name="Rita", last_name="Reader", npi="1245319599")
    clerk = make_user(
        clinic.clinic_id, first_name="Cleo", last_name="Clerk", npi=None, can_create_reports=False
    )
    make_user(clinic.clinic_id, first_name="Revoked", last_name="Person", revoked=True, npi=None)
    viewer = api.viewer.studies.create(
        severity="normal", study_description="MR Knee", study_instance_uid=new_uid()
    ).study_id
    page = f"/worklist/studies/{viewer}"
    offered = set(re.findall(r'<option value="(usr_[0-9a-f]{32})"', owner.get(page).text))
    assert {rita, clerk} <= offered and all(user.startswith("usr_") for user in offered)
    assert (
        flash_of(owner, submit(owner, page, page + "/assign", {"assignedTo": clerk}))
        == "Assigned to Cleo Clerk."
    )
    assert api.viewer.studies.retrieve(viewer).assigned_to.user_id == clerk  # type: ignore[union-attr]

    reported = _study(api, study_description="CT head")
    offered = set(
        re.findall(r'<option value="(usr_[0-9a-f]{32})"', owner.get(f"/worklist/studies/{reported}").text)
    )
    assert rita in offered and clerk not in offered
