"""The four /v1/autoScribe/users/invitations endpoints through the official SDK."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import avara
import pytest
from avara.types.auto_scribe.users import InvitationListResponse

from tests.conftest import ClinicFixture, Server
from tests.helpers import sdk
from tests.users.test_users import INVALID_NPI, VALID_NPI, audit_actions, invite_kwargs, set_invitation


def _invitation_of(client: avara.Avara, user_id: str) -> InvitationListResponse:
    (invitation,) = list(client.auto_scribe.users.invitations.list(user_id=user_id))
    return invitation


def test_retrieve(server: Server, clinic: ClinicFixture, other_clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    user = client.auto_scribe.users.invite(**invite_kwargs(middle_name="Q", phone_number="8135550100"))
    listed = _invitation_of(client, user.user_id)
    invitation = client.auto_scribe.users.invitations.retrieve(listed.invitation_id)
    assert invitation.model_dump() == listed.model_dump()
    assert invitation.invitation_id.startswith("inv_") and len(invitation.invitation_id) == 36
    assert (invitation.first_name, invitation.middle_name, invitation.last_name) == (
        "Rita",
        "Q",
        "Radiologist",
    )
    assert invitation.npi_number == VALID_NPI and invitation.phone_number == "8135550100"
    assert invitation.level == "member" and invitation.clinic_role == "Radiologist"
    assert invitation.created_at is not None and invitation.updated_at is not None

    theirs = sdk(server.url, other_clinic.api_key)
    with pytest.raises(avara.NotFoundError) as err:
        theirs.auto_scribe.users.invitations.retrieve(invitation.invitation_id)
    assert err.value.body["error"]["param"] == "invitationId"
    with pytest.raises(avara.BadRequestError) as bad:
        client.auto_scribe.users.invitations.retrieve(user.user_id)  # a usr_ id is not an inv_ id
    assert bad.value.body["error"]["param"] == "invitationId"


def test_update_pending_invitation(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    user = client.auto_scribe.users.invite(**invite_kwargs(can_create_reports=False, npi_number=None))
    invitation = _invitation_of(client, user.user_id)

    with pytest.raises(avara.BadRequestError) as needs_npi:
        client.auto_scribe.users.invitations.update(invitation.invitation_id, can_create_reports=True)
    assert needs_npi.value.body["error"]["param"] == "npiNumber"
    with pytest.raises(avara.UnprocessableEntityError) as bad_npi:
        client.auto_scribe.users.invitations.update(
            invitation.invitation_id, can_create_reports=True, npi_number=INVALID_NPI
        )
    assert bad_npi.value.body["error"]["param"] == "npiNumber"
    with pytest.raises(avara.UnprocessableEntityError) as owner:
        client.auto_scribe.users.invitations.update(invitation.invitation_id, level="owner")
    assert owner.value.body["error"]["param"] == "level"

    updated = client.auto_scribe.users.invitations.update(
        invitation.invitation_id,
        can_create_reports=True,
        npi_number=VALID_NPI,
        level="admin",
        has_dashboard_access=True,
        first_name="Renata",
        suffix1="MD",
    )
    assert updated.can_create_reports and updated.npi_number == VALID_NPI
    assert updated.level == "admin" and updated.first_name == "Renata" and updated.suffix1 == "MD"
    assert updated.status == "sent" and updated.invitation_id == invitation.invitation_id
    # The invitation edits the invited user: one profile, one id.
    person = client.auto_scribe.users.retrieve(user.user_id)
    assert (person.first_name, person.level, person.npi_number) == ("Renata", "admin", VALID_NPI)
    assert "invitation.updated" in audit_actions(clinic.clinic_id, invitation.invitation_id)


def test_processed_or_expired_invitations_cannot_be_updated(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    revoked = client.auto_scribe.users.invite(**invite_kwargs())
    revoked_invitation = _invitation_of(client, revoked.user_id)
    client.auto_scribe.users.invitations.revoke(invitation_id=revoked_invitation.invitation_id)
    with pytest.raises(avara.UnprocessableEntityError) as err:
        client.auto_scribe.users.invitations.update(revoked_invitation.invitation_id, first_name="X")
    assert "revoked" in err.value.body["error"]["message"]

    expired = client.auto_scribe.users.invite(**invite_kwargs())
    set_invitation(expired.user_id, expires_at=datetime.now(UTC) - timedelta(minutes=5))
    with pytest.raises(avara.UnprocessableEntityError) as late:
        client.auto_scribe.users.invitations.update(
            _invitation_of(client, expired.user_id).invitation_id, first_name="X"
        )
    assert "expired" in late.value.body["error"]["message"]
    with pytest.raises(avara.NotFoundError):
        client.auto_scribe.users.invitations.update("inv_" + uuid.uuid4().hex, first_name="X")


def test_revoke_by_invitation_or_user(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    first = client.auto_scribe.users.invite(**invite_kwargs())
    first_invitation = _invitation_of(client, first.user_id)
    result = client.auto_scribe.users.invitations.revoke(invitation_id=first_invitation.invitation_id)
    assert result.success and first_invitation.invitation_id in (result.message or "")
    after = client.auto_scribe.users.invitations.retrieve(first_invitation.invitation_id)
    assert after.status == "revoked"
    assert after.updated_at is not None and first_invitation.updated_at is not None
    assert after.updated_at >= first_invitation.updated_at
    assert "invitation.revoked" in audit_actions(clinic.clinic_id, first_invitation.invitation_id)

    with pytest.raises(avara.UnprocessableEntityError) as twice:
        client.auto_scribe.users.invitations.revoke(invitation_id=first_invitation.invitation_id)
    assert "already revoked" in twice.value.body["error"]["message"]

    second = client.auto_scribe.users.invite(**invite_kwargs())
    assert client.auto_scribe.users.invitations.revoke(user_id=second.user_id).success
    assert _invitation_of(client, second.user_id).status == "revoked"
    with pytest.raises(avara.UnprocessableEntityError) as none_pending:
        client.auto_scribe.users.invitations.revoke(user_id=second.user_id)
    assert none_pending.value.body["error"]["param"] == "userId"
    with pytest.raises(avara.UnprocessableEntityError):
        client.auto_scribe.users.invitations.revoke(user_id=clinic.owner_id)

    third = client.auto_scribe.users.invite(**invite_kwargs())
    third_invitation = _invitation_of(client, third.user_id)
    with pytest.raises(avara.BadRequestError) as mismatch:
        client.auto_scribe.users.invitations.revoke(
            invitation_id=third_invitation.invitation_id, user_id=first.user_id
        )
    assert mismatch.value.body["error"]["param"] == "userId"
    assert client.auto_scribe.users.invitations.revoke(
        invitation_id=third_invitation.invitation_id, user_id=third.user_id
    ).success
    with pytest.raises(avara.BadRequestError) as neither:
        client.auto_scribe.users.invitations.revoke()
    assert neither.value.body["error"]["param"] == "invitationId"


def test_list_filters(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    pending = client.auto_scribe.users.invite(**invite_kwargs())
    revoked = client.auto_scribe.users.invite(**invite_kwargs())
    client.auto_scribe.users.invitations.revoke(user_id=revoked.user_id)
    expired = client.auto_scribe.users.invite(**invite_kwargs())
    set_invitation(expired.user_id, expires_at=datetime.now(UTC) - timedelta(hours=1))
    old = client.auto_scribe.users.invite(**invite_kwargs())
    set_invitation(old.user_id, created_at=datetime(2026, 1, 15, 12, 0, tzinfo=UTC))

    def users(**filters: object) -> set[str]:
        return {i.user_id for i in client.auto_scribe.users.invitations.list(**filters)}  # type: ignore[arg-type]

    everyone = {pending.user_id, revoked.user_id, expired.user_id, old.user_id}
    assert users() == everyone
    assert users(status=["sent"]) == {pending.user_id, expired.user_id, old.user_id}
    assert users(status=["revoked"]) == {revoked.user_id}
    assert users(status=["sent", "revoked"]) == everyone
    assert users(status=["accepted", "rejected"]) == set()
    assert users(expired="all") == everyone
    assert users(expired="expired") == {expired.user_id}
    assert users(expired="not-expired") == {pending.user_id, revoked.user_id, old.user_id}
    assert users(status=["sent"], expired="not-expired") == {pending.user_id, old.user_id}
    assert users(user_id=revoked.user_id) == {revoked.user_id}

    # The day the recent ones were made, from the server: a run that crosses midnight stays right.
    made_at = _invitation_of(client, pending.user_id).created_at
    assert made_at is not None
    today = made_at.astimezone(UTC).date()
    assert users(start_date=today.isoformat()) == everyone - {old.user_id}
    assert users(start_date=(today + timedelta(days=1)).isoformat()) == set()
    assert users(end_date=(today - timedelta(days=1)).isoformat()) == {old.user_id}
    assert users(start_date="2026-01-15", end_date="2026-01-15") == {old.user_id}
    assert users(start_date="2026-01-16", end_date=today.isoformat()) == everyone - {old.user_id}

    for bad, param in (
        ({"start_date": "15/01/2026"}, "startDate"),
        ({"end_date": "2026-02-30"}, "endDate"),
        ({"start_date": "2026-03-01", "end_date": "2026-02-01"}, "startDate"),
        ({"expired": "sometimes"}, "expired"),
        ({"status": ["sent", "lost"]}, "status"),
        ({"user_id": "usr_123"}, "userId"),
        ({"limit": 0}, "limit"),
    ):
        with pytest.raises(avara.BadRequestError) as err:
            users(**bad)
        assert err.value.body["error"]["param"] == param, bad


def test_list_pages_newest_first(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    made = [client.auto_scribe.users.invite(**invite_kwargs()).user_id for _ in range(5)]
    first = client.auto_scribe.users.invitations.list(limit=2)
    assert [i.user_id for i in first.invitations] == made[::-1][:2] and first.has_more
    assert [i.user_id for i in client.auto_scribe.users.invitations.list(limit=2)] == made[::-1]
