"""Temporary access views through the official SDK: reroute-url, viewer-only-reroute-url and
ephemeral-sessions (reference 4.2, 4.3.6, 4.3.9), their rules and failures."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import avara
import httpx
import pytest

from tests.conftest import ClinicFixture, Server
from tests.helpers import make_key, make_user, new_uid, sdk
from tests.reporting import PATIENT, create_study


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def _link_row(url: str) -> Any:
    from sqlalchemy import select

    from autoscribe.db import session_scope
    from autoscribe.workspace.models import AccessLink

    digest = hashlib.sha256(_token(url).encode()).hexdigest()
    with session_scope() as session:
        row = session.scalars(select(AccessLink).where(AccessLink.token_hash == digest)).first()
        assert row is not None, "the link's token is not stored (hashed)"
        session.expunge(row)
        return row


def _audit(clinic_id: str, action: str) -> list[Any]:
    from sqlalchemy import select

    from autoscribe.audit.models import AuditEvent
    from autoscribe.db import session_scope

    with session_scope() as session:
        rows = list(
            session.scalars(
                select(AuditEvent).where(
                    AuditEvent.clinic_id == uuid.UUID(clinic_id), AuditEvent.action == action
                )
            )
        )
        for row in rows:
            session.expunge(row)
        return rows


def _set_viewer_enabled(api_key_id: str, enabled: bool) -> None:
    from autoscribe.auth.models import ApiKey
    from autoscribe.db import session_scope

    with session_scope() as session:
        key = session.get(ApiKey, uuid.UUID(api_key_id))
        assert key is not None
        key.is_viewer_enabled = enabled


# ---- reroute-url --------------------------------------------------------------------------------------


def test_reroute_url_assigns_the_study_and_mints_a_short_lived_hashed_token(
    server: Server, clinic: ClinicFixture
) -> None:
    client = sdk(server.url, clinic.api_key)
    rad = make_user(clinic.clinic_id)
    study_id = create_study(client, None)
    assert client.auto_scribe.studies.retrieve(study_id).study_report_status == "unassigned"

    url = client.auto_scribe.studies.reroute_url(assigned_to_user_id=rad, study_id=study_id).url

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == server.url  # AUTOSCRIBE_PUBLIC_URL
    assert parts.path == f"/study/{study_id}"
    token = _token(url)
    assert len(token) >= 40  # 32 random bytes
    study = client.auto_scribe.studies.retrieve(study_id)
    assert study.assigned_to is not None and study.assigned_to.user_id == rad
    assert study.study_report_status == "assigned"

    row = _link_row(url)
    assert (row.mode, row.user_id.hex, row.study_id.hex) == ("dictate", rad[4:], study_id[4:])
    assert str(row.api_key_id) == clinic.api_key_id and str(row.clinic_id) == clinic.clinic_id
    lifetime = row.expires_at - row.created_at
    assert timedelta(seconds=299) <= lifetime <= timedelta(seconds=301)
    assert row.used_at is None
    # Only the hash is stored: the token appears in no column of the table.
    from sqlalchemy import text

    from autoscribe.db import session_scope

    with session_scope() as session:
        dump = json.dumps([list(map(str, r)) for r in session.execute(text("SELECT * FROM access_links"))])
    assert token not in dump

    created = _audit(clinic.clinic_id, "workspace.link_created")
    assert any(e.target_id == study_id and e.details["userId"] == rad for e in created)
    assigned = _audit(clinic.clinic_id, "study.assigned")
    assert any(e.target_id == study_id and e.details["assignedTo"] == rad for e in assigned)

    # Each call mints a new token; by studyInstanceUid works too.
    again = client.auto_scribe.studies.reroute_url(
        assigned_to_user_id=rad, study_instance_uid=study.study_instance_uid
    ).url
    assert _token(again) != token


def test_reroute_url_accepts_a_radiologist_whose_invitation_is_pending(
    server: Server, clinic: ClinicFixture
) -> None:
    client = sdk(server.url, clinic.api_key)
    invited = client.auto_scribe.users.invite(
        can_create_reports=True,
        can_manage_studies=False,
        clinic_role="Radiologist",
        email=f"pending-{secrets.token_hex(4)}@example.test",
        first_name="Pat",
        last_name="Pending",
        has_dashboard_access=False,
        level="member",
        npi_number="1245319599",
    )
    study_id = create_study(client, None)
    url = client.auto_scribe.studies.reroute_url(assigned_to_user_id=invited.user_id, study_id=study_id).url
    assert _link_row(url).user_id.hex == invited.user_id[4:]


def test_reroute_url_refusals(server: Server, clinic: ClinicFixture, other_clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    rad = make_user(clinic.clinic_id)
    study_id = create_study(client, None)

    def refused(error: type[Exception], **kwargs: Any) -> str:
        kwargs.setdefault("assigned_to_user_id", rad)
        kwargs.setdefault("study_id", study_id)
        with pytest.raises(error) as info:
            client.auto_scribe.studies.reroute_url(**kwargs)
        body: dict[str, Any] = info.value.body  # type: ignore[attr-defined]
        return f"{body['error'].get('param')}: {body['error']['message']}"

    unknown = "usr_" + uuid.uuid4().hex
    assert refused(avara.NotFoundError, assigned_to_user_id=unknown).startswith("assignedToUserId:")
    assert refused(avara.BadRequestError, assigned_to_user_id="not-a-user").startswith("assignedToUserId:")

    scheduler = make_user(clinic.clinic_id, can_create_reports=False, npi=None)
    assert "not allowed to create reports" in refused(
        avara.UnprocessableEntityError, assigned_to_user_id=scheduler
    )
    no_npi = make_user(clinic.clinic_id, npi="1234567890")  # fails the NPI check digit
    assert "NPI" in refused(avara.UnprocessableEntityError, assigned_to_user_id=no_npi)
    revoked = make_user(clinic.clinic_id, revoked=True)
    assert "revoked" in refused(avara.UnprocessableEntityError, assigned_to_user_id=revoked)
    other_rad = make_user(other_clinic.clinic_id)
    assert refused(avara.NotFoundError, assigned_to_user_id=other_rad).startswith("assignedToUserId:")

    # Another clinic's study, and a study another key created seen by a self-scoped key.
    other_study = create_study(sdk(server.url, other_clinic.api_key), None)
    assert refused(avara.NotFoundError, study_id=other_study).startswith("studyId:")
    mine_only = make_key(clinic.clinic_id, study_scope="self")
    with pytest.raises(avara.NotFoundError):
        sdk(server.url, mine_only.api_key).auto_scribe.studies.reroute_url(
            assigned_to_user_id=rad, study_id=study_id
        )
    own = create_study(sdk(server.url, mine_only.api_key), None)
    assert (
        sdk(server.url, mine_only.api_key)
        .auto_scribe.studies.reroute_url(assigned_to_user_id=rad, study_id=own)
        .url
    )

    # Neither identifier, or two that disagree.
    assert "studyId or studyInstanceUid" in refused(avara.BadRequestError, study_id=avara.omit)
    assert refused(avara.BadRequestError, study_instance_uid=new_uid()).startswith("studyInstanceUid:")

    # A cancelled study is refused clearly; restored, it works again.
    client.auto_scribe.studies.cancel(study_id=study_id)
    assert "cancelled" in refused(avara.ConflictError)
    client.auto_scribe.studies.uncancel(study_id=study_id)
    assert client.auto_scribe.studies.reroute_url(assigned_to_user_id=rad, study_id=study_id).url

    # Nothing was assigned by the refused calls.
    assert client.auto_scribe.studies.retrieve(study_id).assigned_to.user_id == rad  # type: ignore[union-attr]

    # Archive studies have no report to dictate (viewer-only links still open them).
    archive = client.auto_scribe.studies.external.create(
        severity="normal",
        study_description="CT Chest (2019, outside hospital)",
        study_instance_uid=new_uid(),
        report_metadata={"patient_name": "Archie Archive"},
    )
    assert "archive study" in refused(avara.ConflictError, study_id=archive.study_id)
    assert client.auto_scribe.studies.viewer_only_reroute_url(study_id=archive.study_id).url


def test_reroute_url_unknown_user_leaves_the_assignment_alone(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    first = make_user(clinic.clinic_id, first_name="First")
    study_id = create_study(client, first)
    with pytest.raises(avara.UnprocessableEntityError):
        client.auto_scribe.studies.reroute_url(
            assigned_to_user_id=make_user(clinic.clinic_id, revoked=True), study_id=study_id
        )
    assert client.auto_scribe.studies.retrieve(study_id).assigned_to.user_id == first  # type: ignore[union-attr]


# ---- viewer-only-reroute-url ---------------------------------------------------------------------------


def test_viewer_only_reroute_url(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    rad = make_user(clinic.clinic_id)
    study_id = create_study(client, rad)

    anonymous = client.auto_scribe.studies.viewer_only_reroute_url(study_id=study_id).url
    assert urlsplit(anonymous).path == f"/study/{study_id}"
    row = _link_row(anonymous)
    assert (row.mode, row.user_id) == ("view", None)

    referrer = make_user(clinic.clinic_id, can_create_reports=False, npi=None, first_name="Ref")
    named = client.auto_scribe.studies.viewer_only_reroute_url(study_id=study_id, user_id=referrer).url
    assert _link_row(named).user_id.hex == referrer[4:]
    # Viewing assigns nothing.
    assert client.auto_scribe.studies.retrieve(study_id).assigned_to.user_id == rad  # type: ignore[union-attr]

    with pytest.raises(avara.NotFoundError):
        client.auto_scribe.studies.viewer_only_reroute_url(
            study_id=study_id, user_id="usr_" + uuid.uuid4().hex
        )
    with pytest.raises(avara.UnprocessableEntityError):
        client.auto_scribe.studies.viewer_only_reroute_url(
            study_id=study_id, user_id=make_user(clinic.clinic_id, revoked=True)
        )
    with pytest.raises(avara.NotFoundError):
        client.auto_scribe.studies.viewer_only_reroute_url(study_id="stu_" + uuid.uuid4().hex)

    client.auto_scribe.studies.cancel(study_id=study_id)
    with pytest.raises(avara.ConflictError):
        client.auto_scribe.studies.viewer_only_reroute_url(study_id=study_id)
    client.auto_scribe.studies.uncancel(study_id=study_id)

    # The key must have the viewer enabled.
    _set_viewer_enabled(clinic.api_key_id, False)
    try:
        with pytest.raises(avara.PermissionDeniedError) as info:
            client.auto_scribe.studies.viewer_only_reroute_url(study_id=study_id)
        assert "isViewerEnabled" in str(info.value)
    finally:
        _set_viewer_enabled(clinic.api_key_id, True)


# ---- ephemeral-sessions --------------------------------------------------------------------------------


def test_ephemeral_session_needs_a_study_webhook(server: Server, clinic: ClinicFixture) -> None:
    with pytest.raises(avara.UnprocessableEntityError) as info:
        sdk(server.url, clinic.api_key).auto_scribe.ephemeral_sessions.create(retrieval_id="order-1")
    assert "studyWebhookUrl" in str(info.value)


def test_ephemeral_session_url_and_its_validation(server: Server, clinic: ClinicFixture) -> None:
    key = make_key(clinic.clinic_id, study_webhook_url="http://127.0.0.1:9/webhooks")
    client = sdk(server.url, key.api_key)
    options = {"studyInstanceUids": [new_uid(), new_uid()], "note": "Zoë"}
    url = client.auto_scribe.ephemeral_sessions.create(
        retrieval_id="order-12345",
        hanging_protocol={
            "layout": "2x2",
            "viewportAssignments": ["Axial T1", "Axial T2", None, "Sagittal T2"],
        },
        options=options,
    ).url
    assert urlsplit(url).path == "/ephemeral" and url.startswith(server.url)
    row = _link_row(url)
    assert (row.mode, row.user_id, row.study_id, row.retrieval_id) == ("ephemeral", None, None, "order-12345")
    assert row.options == options
    assert row.hanging_protocol == {
        "layout": "2x2",
        "viewportAssignments": ["Axial T1", "Axial T2", None, "Sagittal T2"],
    }
    assert timedelta(seconds=29) <= row.expires_at - row.created_at <= timedelta(seconds=31)

    def bad(body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(
            f"{server.url}/v1/autoScribe/ephemeral-sessions",
            json=body,
            headers={"Authorization": f"Bearer {key.api_key}"},
        )
        assert response.status_code == 400, response.text
        error: dict[str, Any] = response.json()["error"]
        return error

    assert bad({})["param"] == "retrievalId"
    assert bad({"retrievalId": ""})["param"] == "retrievalId"
    assert bad({"retrievalId": "r", "hangingProtocol": {"layout": "5x5", "viewportAssignments": []}})[
        "param"
    ].startswith("hangingProtocol.layout")
    assert bad({"retrievalId": "r", "hangingProtocol": {"layout": "2x2"}})["param"] == (
        "hangingProtocol.viewportAssignments"
    )
    too_many = bad(
        {"retrievalId": "r", "hangingProtocol": {"layout": "1x2", "viewportAssignments": ["a", "b", "c"]}}
    )
    assert "2 viewports" in too_many["message"]
    assert bad({"retrievalId": "r", "hangingProtocol": {"layout": "1x1", "viewportAssignments": [1]}})[
        "param"
    ].startswith("hangingProtocol.viewportAssignments")
    assert bad({"retrievalId": "r", "options": ["not", "an", "object"]})["param"] == "options"

    # options: at most 3072 bytes of compact JSON (UTF-8), like JSON.stringify.
    filler = "x" * (3072 - len('{"k":""}'))
    assert client.auto_scribe.ephemeral_sessions.create(retrieval_id="r", options={"k": filler}).url
    big = bad({"retrievalId": "r", "options": {"k": filler + "x"}})
    assert big["param"] == "options" and "3073 bytes" in big["message"]
    multibyte = bad({"retrievalId": "r", "options": {"k": "é" * 1600}})
    assert multibyte["param"] == "options"

    # The SDK's typed errors, as integrators see them.
    with pytest.raises(avara.BadRequestError):
        client.auto_scribe.ephemeral_sessions.create(
            retrieval_id="r",
            hanging_protocol={"layout": "9x9", "viewportAssignments": []},  # type: ignore[typeddict-item]
        )


def test_the_endpoints_need_an_api_key(server: Server) -> None:
    for path in ("studies/reroute-url", "studies/viewer-only-reroute-url", "ephemeral-sessions"):
        assert httpx.post(f"{server.url}/v1/autoScribe/{path}", json={}).status_code == 401


def test_reroute_url_with_patient_data_stays_out_of_the_link(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    rad = make_user(clinic.clinic_id)
    study_id = create_study(client, None)
    url = client.auto_scribe.studies.reroute_url(assigned_to_user_id=rad, study_id=study_id).url
    for value in (PATIENT["patient_name"], PATIENT["mrn"], rad):
        assert str(value) not in url
