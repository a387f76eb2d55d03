"""Viewer users and invitations through the official SDK (`client.viewer.users`): AutoScribe's
people without canCreateReports and npiNumber, validated with the SDK's models in strict mode."""

from __future__ import annotations

import secrets
from typing import Any

import avara
import pytest

from tests.conftest import ClinicFixture, Server
from tests.helpers import error_param, make_key, make_user, sdk, strict_call

REPORTING = {"canCreateReports", "npiNumber"}


def invite_kwargs(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "can_manage_studies": True,
        "clinic_role": "Imaging Technologist",
        "email": f"viewer-{secrets.token_hex(4)}@example.test",
        "first_name": "Vic",
        "last_name": "Viewer",
        "has_dashboard_access": True,
        "level": "member",
        "phone_number": "+1 (813) 555-0100",
        "suffix1": "RT",
    }
    base.update(overrides)
    return base


def test_invite_retrieve_update_revoke_and_reactivate(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    kwargs = invite_kwargs()
    user = strict_call(client.viewer.users.invite, **kwargs)
    assert user.user_id.startswith("usr_") and user.email == kwargs["email"]
    assert (user.first_name, user.last_name, user.suffix1, user.phone_number) == (
        "Vic",
        "Viewer",
        "RT",
        "18135550100",
    )
    assert (user.level, user.clinic_role, user.invited_source) == ("member", "Imaging Technologist", "api")
    assert user.can_manage_studies is True and user.has_dashboard_access is True
    raw = client.viewer.users.with_raw_response.retrieve(user.user_id).http_response.json()
    assert not REPORTING & set(raw)
    # The same person in AutoScribe's API: someone who does not report.
    same = client.auto_scribe.users.retrieve(user.user_id)
    assert same.can_create_reports is False and same.npi_number is None

    assert strict_call(client.viewer.users.retrieve, user.user_id).model_dump() == user.model_dump()
    changed = strict_call(
        client.viewer.users.update, user.user_id, first_name="Victoria", suffix1=None, level="admin"
    )
    assert (changed.first_name, changed.suffix1, changed.level) == ("Victoria", None, "admin")

    assert strict_call(client.viewer.users.revoke_access, user_id=user.user_id).success is True
    assert strict_call(client.viewer.users.reactivate, user_id=user.user_id).success is True

    listed = strict_call(client.viewer.users.list, email=kwargs["email"].upper())
    assert [u.user_id for u in listed.users] == [user.user_id]
    assert strict_call(client.viewer.users.list, first_name="victor").users[0].user_id == user.user_id
    page = strict_call(client.viewer.users.list, limit=1)
    assert len(page.users) == 1 and page.has_more is True and page.cursor


def test_reporting_fields_are_not_the_viewers(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    for extra in ({"canCreateReports": True}, {"npiNumber": "1234567893"}):
        with pytest.raises(avara.BadRequestError) as refused:
            client.viewer.users.invite(**invite_kwargs(), extra_body=extra)
        assert error_param(refused.value) == next(iter(extra))
    radiologist = make_user(clinic.clinic_id, npi="1234567893")
    with pytest.raises(avara.BadRequestError) as refused:
        client.viewer.users.update(radiologist, extra_body={"canCreateReports": False})
    assert error_param(refused.value) == "canCreateReports"
    # A Viewer edit leaves an AutoScribe radiologist's reporting rights as they were.
    client.viewer.users.update(radiologist, first_name="Renamed")
    same = client.auto_scribe.users.retrieve(radiologist)
    assert same.first_name == "Renamed" and same.can_create_reports and same.npi_number == "1234567893"
    # The same rules as AutoScribe's: an admin needs the dashboard, owners are not made here.
    with pytest.raises(avara.UnprocessableEntityError):
        client.viewer.users.invite(**invite_kwargs(level="admin", has_dashboard_access=False))
    with pytest.raises(avara.UnprocessableEntityError):
        client.viewer.users.invite(**invite_kwargs(level="owner"))  # type: ignore[arg-type]
    with pytest.raises(avara.BadRequestError) as bad:
        client.viewer.users.invite(**invite_kwargs(email="not-an-email"))
    assert error_param(bad.value) == "email"


def test_invitations(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    user = client.viewer.users.invite(**invite_kwargs())
    page = strict_call(client.viewer.users.invitations.list, user_id=user.user_id)
    (invitation,) = page.invitations
    assert invitation.status == "sent" and invitation.user_id == user.user_id
    assert invitation.invited_source == "api" and invitation.invited_by_api_key_id == clinic.api_key_id
    # inviterId is a usr_ id (the SDK types it as a string): the owner, who made this key.
    assert invitation.inviter_id == clinic.owner_id and invitation.clinic_id == clinic.clinic_id
    raw = client.viewer.users.invitations.with_raw_response.retrieve(invitation.invitation_id)
    assert not REPORTING & set(raw.http_response.json())

    fetched = strict_call(client.viewer.users.invitations.retrieve, invitation.invitation_id)
    assert fetched.model_dump() == invitation.model_dump()
    updated = strict_call(
        client.viewer.users.invitations.update,
        invitation.invitation_id,
        last_name="Viewpoint",
        middle_name="Q",
    )
    assert (updated.last_name, updated.middle_name) == ("Viewpoint", "Q")
    assert client.viewer.users.retrieve(user.user_id).last_name == "Viewpoint"
    with pytest.raises(avara.BadRequestError) as refused:
        client.viewer.users.invitations.update(
            invitation.invitation_id, extra_body={"npiNumber": "1234567893"}
        )
    assert error_param(refused.value) == "npiNumber"

    assert strict_call(
        client.viewer.users.invitations.list, status=["sent"], expired="not-expired"
    ).invitations
    assert strict_call(client.viewer.users.invitations.revoke, invitation_id=invitation.invitation_id).success
    assert client.viewer.users.invitations.retrieve(invitation.invitation_id).status == "revoked"
    with pytest.raises(avara.UnprocessableEntityError):
        client.viewer.users.invitations.revoke(user_id=user.user_id)
    assert [i.invitation_id for i in client.viewer.users.invitations.list(status=["revoked"])] == [
        invitation.invitation_id
    ]


def test_user_access_of_the_key_applies(server: Server, clinic: ClinicFixture) -> None:
    reader = sdk(server.url, make_key(clinic.clinic_id, user_access="read").api_key)
    assert reader.viewer.users.list().users
    with pytest.raises(avara.PermissionDeniedError):
        reader.viewer.users.invite(**invite_kwargs())
    none = sdk(server.url, make_key(clinic.clinic_id, user_access="none").api_key)
    with pytest.raises(avara.PermissionDeniedError):
        none.viewer.users.list()
    with pytest.raises(avara.PermissionDeniedError):
        none.viewer.users.invitations.list()
