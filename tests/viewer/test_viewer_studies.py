"""Viewer studies through the official SDK (`client.viewer.studies`, reference section 5): every
answer validated with the SDK's own return model in strict mode; the two products' studies kept
apart; the rules a Viewer study shares with AutoScribe's (UIDs, scopes, cancel) and the ones it
does not (assignees need no reporting rights; studyViewerStatus)."""

from __future__ import annotations

import avara
import pytest

from tests.conftest import ClinicFixture, Server
from tests.helpers import error_param, make_key, make_user, new_uid, sdk, strict_call, study_body


def _create(client: avara.Avara, **fields: object) -> avara.types.viewer.StudyCreateResponse:
    params: dict[str, object] = {
        "severity": "normal",
        "study_description": "CT Head without contrast",
        "study_instance_uid": new_uid(),
    }
    params.update(fields)
    return strict_call(client.viewer.studies.create, **params)


def test_create_retrieve_update_and_cancel_with_every_field(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    viewer_user = make_user(clinic.clinic_id, can_create_reports=False, npi=None, first_name="Vera")
    customer = client.express.create(express_customer_name="North Imaging")
    uid = new_uid()
    created = _create(
        client,
        severity="stat",
        study_description="MR Knee",
        study_instance_uid=uid,
        assigned_to=viewer_user,
        express_customer_id=customer.express_customer_id,
        metadata={"accession": "A-1"},
    )
    assert created.study_id.startswith("stu_") and created.study_instance_uid == uid
    assert (created.severity, created.study_description, created.study_viewer_status) == (
        "stat",
        "MR Knee",
        "incomplete",
    )
    # Assigned to someone who may not write reports: the Viewer only shows images.
    assert created.assigned_to is not None and created.assigned_to.user_id == viewer_user
    assert created.express_customer is not None
    assert created.express_customer.express_customer_name == "North Imaging"
    assert created.created_by_api_key is not None and created.created_by_api_key.is_viewer_enabled is True
    assert created.metadata == {"accession": "A-1"}
    assert created.is_cancelled is False and created.cancelled_at is None and created.created_at
    # No AutoScribe fields leak into the Viewer's study.
    raw = client.viewer.studies.with_raw_response.retrieve(created.study_id).http_response.json()
    assert not {"reportMetadata", "studyReportStatus", "studyType", "reportIds"} & set(raw)

    assert strict_call(client.viewer.studies.retrieve, created.study_id).model_dump() == created.model_dump()
    assert strict_call(client.viewer.studies.retrieve_by_uid, uid).study_id == created.study_id

    done = strict_call(client.viewer.studies.update, created.study_id, study_viewer_status="complete")
    assert done.study_viewer_status == "complete" and done.assigned_to is not None
    changed = strict_call(
        client.viewer.studies.update,
        created.study_id,
        severity="high",
        study_description="MR Knee left",
        metadata={"accession": "A-2"},
    )
    assert (changed.severity, changed.study_description, changed.metadata) == (
        "high",
        "MR Knee left",
        {"accession": "A-2"},
    )
    assert changed.study_viewer_status == "complete"  # untouched when not sent
    # Unassigning (extra_body: the SDK types assignedTo as a string) and clearing metadata.
    cleared = strict_call(
        client.viewer.studies.update, created.study_id, metadata=None, extra_body={"assignedTo": None}
    )
    assert cleared.assigned_to is None and cleared.metadata is None
    reopened = strict_call(client.viewer.studies.update, created.study_id, study_viewer_status="incomplete")
    assert reopened.study_viewer_status == "incomplete"

    cancelled = strict_call(client.viewer.studies.cancel, study_id=created.study_id)
    assert cancelled.success is True
    study = client.viewer.studies.retrieve(created.study_id)
    assert study.is_cancelled and study.cancelled_at is not None
    with pytest.raises(avara.ConflictError) as again:
        client.viewer.studies.cancel(study_instance_uid=uid)
    assert again.value.response.headers["x-should-retry"] == "false"
    assert strict_call(client.viewer.studies.uncancel, study_instance_uid=uid).success is True
    assert client.viewer.studies.retrieve(created.study_id).is_cancelled is False
    with pytest.raises(avara.ConflictError):
        client.viewer.studies.uncancel(study_id=created.study_id)


def test_a_complete_study_can_still_be_cancelled_and_reassigned(
    server: Server, clinic: ClinicFixture
) -> None:
    """No report means nothing to protect: unlike AutoScribe's completed studies."""
    client = sdk(server.url, clinic.api_key)
    first = make_user(clinic.clinic_id, can_create_reports=False, npi=None)
    second = make_user(clinic.clinic_id, can_create_reports=False, npi=None)
    study = _create(client, assigned_to=first)
    client.viewer.studies.update(study.study_id, study_viewer_status="complete")
    moved = client.viewer.studies.update(study.study_id, assigned_to=second)
    assert moved.assigned_to is not None and moved.assigned_to.user_id == second
    assert moved.study_viewer_status == "complete"
    assert client.viewer.studies.cancel(study_id=study.study_id).success


def test_list_filters_and_pages(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    reader = make_user(clinic.clinic_id, can_create_reports=False, npi=None)
    customer = client.express.create(express_customer_name="South Clinic").express_customer_id
    a = _create(client, severity="stat", study_description="CT Chest PE protocol", assigned_to=reader)
    b = _create(client, severity="normal", study_description="XR Chest 2 views", express_customer_id=customer)
    c = _create(client, severity="high", study_description="MR Brain")
    client.viewer.studies.update(b.study_id, study_viewer_status="complete")
    client.viewer.studies.cancel(study_id=c.study_id)
    client.auto_scribe.studies.create(**study_body(study_description="CT Chest (AutoScribe)"))

    def ids(**filters: object) -> list[str]:
        page = strict_call(client.viewer.studies.list, **filters)
        return [s.study_id for s in page.studies]

    assert ids() == [c.study_id, b.study_id, a.study_id]  # newest first, Viewer studies only
    assert ids(assigned_to=reader) == [a.study_id]
    assert ids(extra_query={"assignedTo": "null"}) == [c.study_id, b.study_id]
    assert ids(express_customer_id=customer) == [b.study_id]
    assert ids(extra_query={"expressCustomerId": "null"}) == [c.study_id, a.study_id]
    assert ids(is_cancelled=True) == [c.study_id]
    assert ids(is_cancelled=False) == [b.study_id, a.study_id]
    assert ids(severity="stat") == [a.study_id]
    assert ids(study_description="chest") == [b.study_id, a.study_id]
    assert ids(study_viewer_status="complete") == [b.study_id]
    assert ids(study_viewer_status="incomplete") == [c.study_id, a.study_id]

    first = strict_call(client.viewer.studies.list, limit=2)
    assert [s.study_id for s in first.studies] == [c.study_id, b.study_id]
    assert first.has_more is True and first.cursor
    rest = strict_call(client.viewer.studies.list, limit=2, cursor=first.cursor)
    assert [s.study_id for s in rest.studies] == [a.study_id] and rest.has_more is False
    # The SDK's auto-pagination walks the same pages.
    assert [s.study_id for s in client.viewer.studies.list(limit=1)] == [c.study_id, b.study_id, a.study_id]

    for bad, param in (
        ({"study_viewer_status": "done"}, "studyViewerStatus"),
        ({"severity": "urgent"}, "severity"),
        ({"limit": 0}, "limit"),
        ({"assigned_to": "usr_nope"}, "assignedTo"),
    ):
        with pytest.raises(avara.BadRequestError) as refused:
            client.viewer.studies.list(**bad)  # type: ignore[arg-type]
        assert error_param(refused.value) == param


def test_the_products_keep_their_own_studies(server: Server, clinic: ClinicFixture) -> None:
    """One table, one UID per clinic: each product's API sees its own studies only, and a UID
    taken by the other product is a 409 that says where it is."""
    client = sdk(server.url, clinic.api_key)
    viewer = _create(client)
    autoscribe = client.auto_scribe.studies.create(**study_body())

    with pytest.raises(avara.NotFoundError):
        client.auto_scribe.studies.retrieve(viewer.study_id)
    with pytest.raises(avara.NotFoundError):
        client.auto_scribe.studies.retrieve_by_uid(viewer.study_instance_uid)
    with pytest.raises(avara.NotFoundError):
        client.auto_scribe.studies.cancel(study_id=viewer.study_id)
    with pytest.raises(avara.NotFoundError):
        client.auto_scribe.reports.list(study_id=viewer.study_id)
    with pytest.raises(avara.NotFoundError):
        client.viewer.studies.retrieve(autoscribe.study_id)
    with pytest.raises(avara.NotFoundError):
        client.viewer.studies.update(autoscribe.study_id, study_viewer_status="complete")
    with pytest.raises(avara.NotFoundError):
        client.viewer.studies.reroute_url(study_id=autoscribe.study_id)
    assert [s.study_id for s in client.auto_scribe.studies.list()] == [autoscribe.study_id]
    assert [s.study_id for s in client.viewer.studies.list()] == [viewer.study_id]

    with pytest.raises(avara.ConflictError) as taken:
        _create(client, study_instance_uid=autoscribe.study_instance_uid)
    assert "as an AutoScribe study" in taken.value.body["error"]["message"]
    assert "viewer-only-reroute-url" in taken.value.body["error"]["message"]
    with pytest.raises(avara.ConflictError) as taken:
        client.auto_scribe.studies.create(**study_body(study_instance_uid=viewer.study_instance_uid))
    assert "as a Viewer study" in taken.value.body["error"]["message"]
    with pytest.raises(avara.ConflictError) as taken:
        _create(client, study_instance_uid=viewer.study_instance_uid)
    assert error_param(taken.value) == "studyInstanceUid"


def test_validation_names_the_field(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    cases: list[tuple[dict[str, object], str]] = [
        ({"study_instance_uid": "1.02.3"}, "studyInstanceUid"),
        ({"severity": "urgent"}, "severity"),
        ({"study_description": "   "}, "studyDescription"),
        ({"metadata": {"k" * 101: "v"}}, "metadata"),
        ({"assigned_to": "usr_123"}, "assignedTo"),
        # AutoScribe's fields are not the Viewer's: refused by name, not ignored.
        ({"extra_body": {"reportMetadata": {}}}, "reportMetadata"),
        ({"extra_body": {"studyViewerStatus": "complete"}}, "studyViewerStatus"),
    ]
    for fields, param in cases:
        with pytest.raises(avara.BadRequestError) as bad:
            _create(client, **fields)
        assert error_param(bad.value) == param, fields
    study = _create(client)
    for update, param in (
        ({"study_viewer_status": "done"}, "studyViewerStatus"),
        ({"extra_body": {"studyViewerStatus": None}}, "studyViewerStatus"),
        ({"extra_body": {"severity": None}}, "severity"),
        ({"extra_body": {"studyInstanceUid": new_uid()}}, "studyInstanceUid"),
    ):
        with pytest.raises(avara.BadRequestError) as bad:
            client.viewer.studies.update(study.study_id, **update)  # type: ignore[arg-type]
        assert error_param(bad.value) == param, update
    with pytest.raises(avara.BadRequestError) as bad:
        client.viewer.studies.cancel()
    assert error_param(bad.value) == "studyId"
    with pytest.raises(avara.NotFoundError):
        client.viewer.studies.retrieve("stu_" + "0" * 32)
    with pytest.raises(avara.BadRequestError):
        client.viewer.studies.retrieve_by_uid("not-a-uid")


def test_assignees_need_access_not_reporting_rights(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    revoked = make_user(clinic.clinic_id, can_create_reports=False, npi=None, revoked=True)
    with pytest.raises(avara.UnprocessableEntityError) as refused:
        _create(client, assigned_to=revoked)
    assert error_param(refused.value) == "assignedTo"
    assert refused.value.response.headers["x-should-retry"] == "false"
    with pytest.raises(avara.NotFoundError):
        _create(client, assigned_to="usr_" + "0" * 32)
    # An AutoScribe study still needs a radiologist.
    no_npi = make_user(clinic.clinic_id, can_create_reports=False, npi=None)
    assert _create(client, assigned_to=no_npi).assigned_to is not None
    with pytest.raises(avara.UnprocessableEntityError):
        client.auto_scribe.studies.create(**study_body(assigned_to=no_npi))


def test_a_self_key_sees_only_its_own_viewer_studies(server: Server, clinic: ClinicFixture) -> None:
    other = make_key(clinic.clinic_id, study_scope="self")
    mine = _create(sdk(server.url, other.api_key))
    theirs = _create(sdk(server.url, clinic.api_key))
    client = sdk(server.url, other.api_key)
    assert [s.study_id for s in client.viewer.studies.list()] == [mine.study_id]
    with pytest.raises(avara.NotFoundError):
        client.viewer.studies.retrieve(theirs.study_id)
    with pytest.raises(avara.NotFoundError):
        client.viewer.studies.cancel(study_instance_uid=theirs.study_instance_uid)
    # The "all" key sees both.
    assert {s.study_id for s in sdk(server.url, clinic.api_key).viewer.studies.list()} == {
        mine.study_id,
        theirs.study_id,
    }
