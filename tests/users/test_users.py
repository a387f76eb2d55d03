"""The six /v1/autoScribe/users endpoints through the official SDK, with their failure cases."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import avara
import pytest
from sqlalchemy import select

from tests.conftest import ClinicFixture, Server
from tests.helpers import make_key, make_user, new_uid, sdk

VALID_NPI = "1234567893"
INVALID_NPI = "1234567890"


def invite_kwargs(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "can_create_reports": True,
        "can_manage_studies": False,
        "clinic_role": "Radiologist",
        "email": f"rad-{secrets.token_hex(4)}@example.test",
        "first_name": "Rita",
        "last_name": "Radiologist",
        "has_dashboard_access": False,
        "level": "member",
        "npi_number": VALID_NPI,
    }
    base.update(overrides)
    return base


def audit_actions(clinic_id: str, target_id: str) -> list[str]:
    from autoscribe.audit.models import AuditEvent
    from autoscribe.db import session_scope

    with session_scope() as session:
        return list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.clinic_id == uuid.UUID(clinic_id), AuditEvent.target_id == target_id)
                .order_by(AuditEvent.id)
            )
        )


def set_invitation(user_id: str, **values: Any) -> None:
    """Change a user's invitations directly (e.g. move its expiry into the past)."""
    from autoscribe.db import session_scope
    from autoscribe.users.models import Invitation

    with session_scope() as session:
        for invitation in session.scalars(
            select(Invitation).where(Invitation.user_id == uuid.UUID(user_id.removeprefix("usr_")))
        ):
            for key, value in values.items():
                setattr(invitation, key, value)


# ---- invite --------------------------------------------------------------------------------------------


def test_invite_returns_the_user_with_every_field(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    email = f"Dr.Who-{secrets.token_hex(3)}@Example.test"
    user = client.auto_scribe.users.invite(
        **invite_kwargs(
            email=email,
            first_name="  Gregory ",
            middle_name="House",
            last_name="Radiologist",
            suffix1="MD",
            suffix2="PhD",
            phone_number="+1 (813) 555-0100",
            clinic_role="Radiologist",
            has_dashboard_access=True,
            can_manage_studies=True,
        )
    )
    assert user.user_id.startswith("usr_") and len(user.user_id) == 36
    assert user.email == email
    assert (user.first_name, user.middle_name, user.last_name) == ("Gregory", "House", "Radiologist")
    assert (user.suffix1, user.suffix2) == ("MD", "PhD")
    assert user.phone_number == "18135550100"
    assert user.npi_number == VALID_NPI
    assert user.clinic_role == "Radiologist"
    assert user.level == "member"
    assert user.can_create_reports and user.can_manage_studies and user.has_dashboard_access
    assert user.invited_source == "api"
    assert user.last_login_at is None
    assert user.created_at is not None
    fetched = client.auto_scribe.users.retrieve(user.user_id)
    assert fetched.model_dump() == user.model_dump()

    invitations = list(client.auto_scribe.users.invitations.list(user_id=user.user_id))
    assert len(invitations) == 1
    invitation = invitations[0]
    assert invitation.status == "sent"
    assert invitation.user_id == user.user_id
    assert invitation.email == email
    assert invitation.clinic_id == clinic.clinic_id
    assert invitation.invited_source == "api"
    assert invitation.invited_by_api_key_id == clinic.api_key_id
    # Sent through the API: inviterId names the person answerable for the key (the SDK types it
    # as a usr_ string): its creator in API Config, else, as for this bootstrap key, the owner.
    assert invitation.inviter_id == clinic.owner_id
    assert invitation.expiry is not None
    assert timedelta(days=6, hours=23) < invitation.expiry - datetime.now(UTC) <= timedelta(days=7)
    assert "invitation.sent" in audit_actions(clinic.clinic_id, invitation.invitation_id)


def test_inviter_id_of_api_invitations_is_the_person_answerable_for_the_key(
    server: Server, clinic: ClinicFixture
) -> None:
    """The SDK types inviterId as a string: an API invitation names the key's creator, else the
    owner, and the body validates with the SDK's model in strict mode."""
    from avara.types.auto_scribe.users import InvitationRetrieveResponse

    from autoscribe.auth.models import ApiKey
    from autoscribe.db import session_scope
    from tests.reporting import user_row

    cli_key = make_key(clinic.clinic_id)  # made like the CLI does: no creator
    admin_key = make_key(clinic.clinic_id)
    admin = make_user(clinic.clinic_id, level="admin", can_create_reports=False, npi=None)
    with session_scope() as session:
        row = session.get(ApiKey, uuid.UUID(admin_key.api_key_id))
        assert row is not None
        row.created_by_user_id = user_row(session, admin).id  # as if the admin had made it in API Config
    for key, inviter in ((cli_key, clinic.owner_id), (admin_key, admin)):
        client = sdk(server.url, key.api_key)
        user = client.auto_scribe.users.invite(**invite_kwargs())
        (invitation,) = client.auto_scribe.users.invitations.list(user_id=user.user_id)
        raw = client.auto_scribe.users.invitations.with_raw_response.retrieve(invitation.invitation_id)
        strict = InvitationRetrieveResponse.model_validate_json(raw.http_response.content, strict=True)
        assert strict.inviter_id == inviter and strict.invited_by_api_key_id == key.api_key_id
        assert strict.invited_source == "api"


def test_invite_requires_a_valid_npi_for_report_writers(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    kwargs = invite_kwargs()
    del kwargs["npi_number"]
    with pytest.raises(avara.BadRequestError) as missing:
        client.auto_scribe.users.invite(**kwargs)
    assert missing.value.body["error"]["param"] == "npiNumber"
    assert "required" in missing.value.body["error"]["message"]

    with pytest.raises(avara.UnprocessableEntityError) as invalid:
        client.auto_scribe.users.invite(**invite_kwargs(npi_number=INVALID_NPI))
    assert invalid.value.body["error"]["param"] == "npiNumber"
    assert "check digit" in invalid.value.body["error"]["message"]

    for malformed in ("12345", "123456789a", "12345678933"):
        with pytest.raises(avara.BadRequestError) as bad:
            client.auto_scribe.users.invite(**invite_kwargs(npi_number=malformed))
        assert bad.value.body["error"]["param"] == "npiNumber"

    # A scheduler who does not report needs no NPI, and a valid one is kept.
    scheduler = client.auto_scribe.users.invite(**{**kwargs, "can_create_reports": False})
    assert scheduler.npi_number is None
    assert (
        client.auto_scribe.users.invite(**invite_kwargs(npi_number="1245319599")).npi_number == "1245319599"
    )


def test_duplicate_email_conflicts_case_insensitively(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    kwargs = invite_kwargs(email=f"dup-{secrets.token_hex(3)}@example.test")
    client.auto_scribe.users.invite(**kwargs)
    with pytest.raises(avara.ConflictError) as pending:
        client.auto_scribe.users.invite(**{**kwargs, "email": kwargs["email"].upper()})
    assert pending.value.body["error"]["param"] == "email"
    assert "pending invitation" in pending.value.body["error"]["message"]
    # The owner's address is taken too.
    with pytest.raises(avara.ConflictError) as taken:
        client.auto_scribe.users.invite(**invite_kwargs(email=clinic.owner_email.upper()))
    assert "already exists" in taken.value.body["error"]["message"]


def test_the_same_email_may_be_invited_in_another_clinic(
    server: Server, clinic: ClinicFixture, other_clinic: ClinicFixture
) -> None:
    email = f"shared-{secrets.token_hex(3)}@example.test"
    first = sdk(server.url, clinic.api_key).auto_scribe.users.invite(**invite_kwargs(email=email))
    second = sdk(server.url, other_clinic.api_key).auto_scribe.users.invite(**invite_kwargs(email=email))
    assert first.user_id != second.user_id


def test_level_and_dashboard_rules(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    with pytest.raises(avara.UnprocessableEntityError) as owner:
        client.auto_scribe.users.invite(**invite_kwargs(level="owner"))
    assert owner.value.body["error"]["param"] == "level"
    assert "owner" in owner.value.body["error"]["message"]
    with pytest.raises(avara.BadRequestError) as unknown:
        client.auto_scribe.users.invite(**invite_kwargs(level="superuser"))
    assert unknown.value.body["error"]["param"] == "level"
    with pytest.raises(avara.UnprocessableEntityError) as admin:
        client.auto_scribe.users.invite(**invite_kwargs(level="admin", has_dashboard_access=False))
    assert admin.value.body["error"]["param"] == "hasDashboardAccess"
    made = client.auto_scribe.users.invite(**invite_kwargs(level="admin", has_dashboard_access=True))
    assert made.level == "admin"


def test_invite_body_validation_names_the_field(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    cases: list[tuple[dict[str, Any], str]] = [
        (invite_kwargs(clinic_role="Wizard"), "clinicRole"),
        (invite_kwargs(email="not-an-email"), "email"),
        (invite_kwargs(first_name="   "), "firstName"),
        (invite_kwargs(last_name=""), "lastName"),
        (invite_kwargs(phone_number="12345"), "phoneNumber"),
        (invite_kwargs(suffix1=""), "suffix1"),
    ]
    for kwargs, param in cases:
        with pytest.raises(avara.BadRequestError) as err:
            client.auto_scribe.users.invite(**kwargs)
        assert err.value.body["error"]["param"] == param, kwargs
    with pytest.raises(avara.BadRequestError) as extra:
        client.auto_scribe.users.invite(**invite_kwargs(), extra_body={"isSuperuser": True})
    assert extra.value.body["error"]["param"] == "isSuperuser"
    # The legacy clinic role older clients send is accepted under its current name.
    legacy = client.auto_scribe.users.invite(**invite_kwargs(clinic_role="PACS Administrator"))
    assert legacy.clinic_role == "IT Administrator"


# ---- the key's user access ------------------------------------------------------------------------------


def test_read_only_key_reads_but_cannot_change(server: Server, clinic: ClinicFixture) -> None:
    writer = sdk(server.url, clinic.api_key)
    user = writer.auto_scribe.users.invite(**invite_kwargs())
    invitation = next(iter(writer.auto_scribe.users.invitations.list(user_id=user.user_id)))
    reader = sdk(server.url, make_key(clinic.clinic_id, user_access="read").api_key)

    assert reader.auto_scribe.users.retrieve(user.user_id).user_id == user.user_id
    assert any(u.user_id == user.user_id for u in reader.auto_scribe.users.list())
    assert reader.auto_scribe.users.invitations.retrieve(invitation.invitation_id).status == "sent"
    assert any(i.user_id == user.user_id for i in reader.auto_scribe.users.invitations.list())

    refused = [
        lambda: reader.auto_scribe.users.invite(**invite_kwargs()),
        # Refused before the body is looked at: an invalid body still gets 403.
        lambda: reader.auto_scribe.users.invite(**invite_kwargs(npi_number=INVALID_NPI, level="owner")),
        lambda: reader.auto_scribe.users.invite(**invite_kwargs(clinic_role="Wizard", email="x")),
        lambda: reader.auto_scribe.users.update(user.user_id, first_name="X"),
        lambda: reader.auto_scribe.users.revoke_access(user_id=user.user_id),
        lambda: reader.auto_scribe.users.reactivate(user_id=user.user_id),
        lambda: reader.auto_scribe.users.invitations.update(invitation.invitation_id, first_name="X"),
        lambda: reader.auto_scribe.users.invitations.revoke(invitation_id=invitation.invitation_id),
    ]
    for call in refused:
        with pytest.raises(avara.PermissionDeniedError) as err:
            call()
        assert "user access is 'read'" in err.value.body["error"]["message"]
    assert writer.auto_scribe.users.retrieve(user.user_id).first_name == "Rita"


def test_key_without_user_access_gets_403_everywhere(server: Server, clinic: ClinicFixture) -> None:
    user_id = make_user(clinic.clinic_id)
    client = sdk(server.url, make_key(clinic.clinic_id, user_access="none").api_key)
    calls = [
        lambda: client.auto_scribe.users.list(),
        lambda: client.auto_scribe.users.retrieve(user_id),
        lambda: client.auto_scribe.users.invite(**invite_kwargs()),
        lambda: client.auto_scribe.users.update(user_id, first_name="X"),
        lambda: client.auto_scribe.users.revoke_access(user_id=user_id),
        lambda: client.auto_scribe.users.reactivate(user_id=user_id),
        lambda: client.auto_scribe.users.invitations.list(),
        lambda: client.auto_scribe.users.invitations.retrieve("inv_" + "0" * 32),
        lambda: client.auto_scribe.users.invitations.update("inv_" + "0" * 32, first_name="X"),
        lambda: client.auto_scribe.users.invitations.revoke(user_id=user_id),
    ]
    for call in calls:
        with pytest.raises(avara.PermissionDeniedError):
            call()


# ---- retrieve ----------------------------------------------------------------------------------------------


def test_retrieve_is_scoped_to_the_clinic(
    server: Server, clinic: ClinicFixture, other_clinic: ClinicFixture
) -> None:
    theirs = make_user(other_clinic.clinic_id)
    client = sdk(server.url, clinic.api_key)
    with pytest.raises(avara.NotFoundError) as err:
        client.auto_scribe.users.retrieve(theirs)
    assert err.value.body["error"]["param"] == "userId"
    with pytest.raises(avara.BadRequestError) as bad:
        client.auto_scribe.users.retrieve("usr_nothex")
    assert bad.value.body["error"]["param"] == "userId"
    owner = client.auto_scribe.users.retrieve(clinic.owner_id)
    assert owner.level == "owner" and owner.invited_source == "dashboard"


# ---- update ------------------------------------------------------------------------------------------------


def test_update_changes_and_clears_fields(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    user = client.auto_scribe.users.invite(
        **invite_kwargs(middle_name="M", suffix1="Jr.", suffix2="MD", phone_number="8135550100")
    )
    updated = client.auto_scribe.users.update(
        user.user_id,
        first_name="Rosa",
        last_name="Reader",
        clinic_role="Nuclear Medicine Physician",
        middle_name=None,
        phone_number=None,
        suffix1=None,
        suffix2="DO",
        can_manage_studies=True,
        has_dashboard_access=True,
        level="admin",
    )
    assert (updated.first_name, updated.last_name) == ("Rosa", "Reader")
    assert updated.clinic_role == "Nuclear Medicine Physician"
    assert updated.middle_name is None and updated.phone_number is None and updated.suffix1 is None
    assert updated.suffix2 == "DO"
    assert updated.level == "admin" and updated.can_manage_studies and updated.has_dashboard_access
    # Fields left out stay as they were; a null role means "Other".
    again = client.auto_scribe.users.update(user.user_id, clinic_role=None)
    assert again.clinic_role == "Other" and again.first_name == "Rosa" and again.npi_number == VALID_NPI
    assert client.auto_scribe.users.retrieve(user.user_id).model_dump() == again.model_dump()
    assert "user.updated" in audit_actions(clinic.clinic_id, user.user_id)


def test_update_enforces_the_permission_rules(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    scheduler = client.auto_scribe.users.invite(**invite_kwargs(can_create_reports=False, npi_number=None))
    with pytest.raises(avara.BadRequestError) as needs_npi:
        client.auto_scribe.users.update(scheduler.user_id, can_create_reports=True)
    assert needs_npi.value.body["error"]["param"] == "npiNumber"
    with pytest.raises(avara.UnprocessableEntityError) as bad_npi:
        client.auto_scribe.users.update(scheduler.user_id, can_create_reports=True, npi_number=INVALID_NPI)
    assert bad_npi.value.body["error"]["param"] == "npiNumber"
    enabled = client.auto_scribe.users.update(
        scheduler.user_id, can_create_reports=True, npi_number=VALID_NPI
    )
    assert enabled.can_create_reports and enabled.npi_number == VALID_NPI
    with pytest.raises(avara.BadRequestError) as clear_npi:
        client.auto_scribe.users.update(scheduler.user_id, npi_number=None)
    assert clear_npi.value.body["error"]["param"] == "npiNumber"
    # Dropping report creation and the NPI together is fine.
    dropped = client.auto_scribe.users.update(scheduler.user_id, can_create_reports=False, npi_number=None)
    assert not dropped.can_create_reports and dropped.npi_number is None

    with pytest.raises(avara.UnprocessableEntityError) as admin:
        client.auto_scribe.users.update(scheduler.user_id, level="admin")
    assert admin.value.body["error"]["param"] == "hasDashboardAccess"
    with pytest.raises(avara.UnprocessableEntityError) as owner_level:
        client.auto_scribe.users.update(scheduler.user_id, level="owner")
    assert owner_level.value.body["error"]["param"] == "level"
    with pytest.raises(avara.BadRequestError) as null_name:
        client.auto_scribe.users.update(scheduler.user_id, first_name=None)  # type: ignore[arg-type]
    assert null_name.value.body["error"]["param"] == "firstName"
    with pytest.raises(avara.BadRequestError) as email:
        client.auto_scribe.users.update(scheduler.user_id, extra_body={"email": "new@example.test"})
    assert email.value.body["error"]["param"] == "email"

    admin_user = client.auto_scribe.users.update(scheduler.user_id, level="admin", has_dashboard_access=True)
    with pytest.raises(avara.UnprocessableEntityError) as lose_dashboard:
        client.auto_scribe.users.update(admin_user.user_id, has_dashboard_access=False)
    assert lose_dashboard.value.body["error"]["param"] == "hasDashboardAccess"


def test_the_owner_cannot_be_changed_through_the_api(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    for call in (
        lambda: client.auto_scribe.users.update(clinic.owner_id, first_name="Mallory"),
        lambda: client.auto_scribe.users.update(clinic.owner_id, level="member"),
        lambda: client.auto_scribe.users.revoke_access(user_id=clinic.owner_id),
        lambda: client.auto_scribe.users.reactivate(user_id=clinic.owner_id),
    ):
        with pytest.raises(avara.PermissionDeniedError) as err:
            call()
        assert "owner" in err.value.body["error"]["message"]
    owner = client.auto_scribe.users.retrieve(clinic.owner_id)
    assert owner.first_name == "Clinic" and owner.level == "owner"


def test_update_unknown_user_is_404(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    with pytest.raises(avara.NotFoundError):
        client.auto_scribe.users.update("usr_" + uuid.uuid4().hex, first_name="X")


# ---- list --------------------------------------------------------------------------------------------------


def test_list_filters(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    tag = secrets.token_hex(3)
    alice = client.auto_scribe.users.invite(
        **invite_kwargs(first_name=f"Alice{tag}", last_name=f"Zeta{tag}", email=f"alice-{tag}@example.test")
    )
    bob = client.auto_scribe.users.invite(
        **invite_kwargs(
            first_name=f"Bob{tag}",
            last_name=f"Zetterberg{tag}",
            can_create_reports=False,
            npi_number=None,
            level="admin",
            has_dashboard_access=True,
        )
    )
    dashboard_user = make_user(clinic.clinic_id, first_name=f"Carol{tag}", last_name="Member")
    from autoscribe.db import session_scope
    from autoscribe.users.models import User

    with session_scope() as session:  # make_user marks users as API-invited; make this one a dashboard invite
        row = session.get(User, uuid.UUID(dashboard_user.removeprefix("usr_")))
        assert row is not None
        row.invited_source = "dashboard"

    def ids(**filters: Any) -> set[str]:
        return {u.user_id for u in client.auto_scribe.users.list(**filters)}

    everyone = ids()
    assert {alice.user_id, bob.user_id, dashboard_user, clinic.owner_id} <= everyone
    assert ids(can_create_reports=True) == {alice.user_id, dashboard_user}
    assert ids(can_create_reports=False) == {bob.user_id, clinic.owner_id}
    assert ids(email=alice.email.upper()) == {alice.user_id}
    assert ids(email="nobody@example.test") == set()
    assert ids(first_name=f"ice{tag}".upper()) == {alice.user_id}
    assert ids(last_name=f"zetterberg{tag}") == {bob.user_id}
    assert ids(last_name=f"eta{tag}") == {alice.user_id}
    assert ids(last_name="%") == set()  # LIKE wildcards are matched literally
    assert ids(invited_source="api") == {alice.user_id, bob.user_id}
    assert ids(invited_source="dashboard") == {dashboard_user, clinic.owner_id}
    assert ids(level="admin") == {bob.user_id}
    assert ids(level="owner") == {clinic.owner_id}
    assert ids(level="member") == {alice.user_id, dashboard_user}
    assert ids(level="member", can_create_reports=True, first_name="Carol") == {dashboard_user}


def test_list_pages_newest_first(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    made = [client.auto_scribe.users.invite(**invite_kwargs()).user_id for _ in range(5)]
    page = client.auto_scribe.users.list(limit=2)
    assert [u.user_id for u in page.users] == made[::-1][:2]
    assert page.has_more and page.cursor
    seen = [u.user_id for u in client.auto_scribe.users.list(limit=2)]
    assert seen == [*made[::-1], clinic.owner_id]
    for bad in (0, 101, 2.5):
        with pytest.raises(avara.BadRequestError) as err:
            client.auto_scribe.users.list(limit=bad)
        assert err.value.body["error"]["param"] == "limit"
    for bad_filter, param in (({"level": "root"}, "level"), ({"invited_source": "fax"}, "invitedSource")):
        with pytest.raises(avara.BadRequestError) as err:
            client.auto_scribe.users.list(**bad_filter)  # type: ignore[arg-type]
        assert err.value.body["error"]["param"] == param
    with pytest.raises(avara.BadRequestError) as bad_cursor:
        client.auto_scribe.users.list(cursor="garbage")
    assert bad_cursor.value.body["error"]["param"] == "cursor"


def test_people_who_never_joined_leave_the_list_but_stay_retrievable(
    server: Server, clinic: ClinicFixture
) -> None:
    client = sdk(server.url, clinic.api_key)
    withdrawn = client.auto_scribe.users.invite(**invite_kwargs())
    client.auto_scribe.users.invitations.revoke(user_id=withdrawn.user_id)
    lapsed = client.auto_scribe.users.invite(**invite_kwargs())
    set_invitation(lapsed.user_id, expires_at=datetime.now(UTC) - timedelta(minutes=1))
    pending = client.auto_scribe.users.invite(**invite_kwargs())
    revoked_member = make_user(clinic.clinic_id, revoked=True)

    listed = {u.user_id for u in client.auto_scribe.users.list()}
    assert pending.user_id in listed and revoked_member in listed
    assert withdrawn.user_id not in listed and lapsed.user_id not in listed
    assert client.auto_scribe.users.retrieve(withdrawn.user_id).email == withdrawn.email
    assert client.auto_scribe.users.retrieve(lapsed.user_id).email == lapsed.email

    # Inviting the address again reuses the row: the id never changes.
    again = client.auto_scribe.users.invite(**invite_kwargs(email=withdrawn.email, first_name="Second"))
    assert again.user_id == withdrawn.user_id and again.first_name == "Second"
    assert withdrawn.user_id in {u.user_id for u in client.auto_scribe.users.list()}
    statuses = sorted(i.status for i in client.auto_scribe.users.invitations.list(user_id=withdrawn.user_id))
    assert statuses == ["revoked", "sent"]


# ---- revoke access / reactivate ----------------------------------------------------------------------------


def _study_assigned_to(client: avara.Avara, user_id: str) -> Any:
    return client.auto_scribe.studies.create(
        severity="normal",
        study_description="CT Head",
        study_instance_uid=new_uid(),
        report_metadata={},
        assigned_to=user_id,
    )


def test_revoke_and_reactivate(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    user_id = make_user(clinic.clinic_id, level="admin", can_manage_studies=True)
    before = client.auto_scribe.users.retrieve(user_id)
    assert _study_assigned_to(client, user_id).assigned_to is not None

    revoked = client.auto_scribe.users.revoke_access(user_id=user_id)
    assert revoked.success and "revoked" in (revoked.message or "")
    with pytest.raises(avara.UnprocessableEntityError) as refused:
        _study_assigned_to(client, user_id)
    assert refused.value.body["error"]["param"] == "assignedTo"
    assert "revoked" in refused.value.body["error"]["message"]
    # Data is kept, and the user is still listed and retrievable.
    assert client.auto_scribe.users.retrieve(user_id).model_dump() == before.model_dump()
    assert user_id in {u.user_id for u in client.auto_scribe.users.list()}
    again = client.auto_scribe.users.revoke_access(user_id=user_id)
    assert again.success and "already" in (again.message or "")

    restored = client.auto_scribe.users.reactivate(user_id=user_id)
    assert restored.success and "restored" in (restored.message or "")
    after = client.auto_scribe.users.retrieve(user_id)
    assert after.model_dump() == before.model_dump()  # the previous permissions, unchanged
    assert _study_assigned_to(client, user_id).assigned_to is not None
    assert "already" in (client.auto_scribe.users.reactivate(user_id=user_id).message or "")
    assert audit_actions(clinic.clinic_id, user_id) == ["user.access_revoked", "user.access_reactivated"]

    with pytest.raises(avara.NotFoundError):
        client.auto_scribe.users.revoke_access(user_id="usr_" + uuid.uuid4().hex)
    with pytest.raises(avara.BadRequestError) as malformed:
        client.auto_scribe.users.reactivate(user_id="someone")
    assert malformed.value.body["error"]["param"] == "userId"


def test_invited_radiologists_can_be_assigned_until_their_invitation_lapses(
    server: Server, clinic: ClinicFixture
) -> None:
    client = sdk(server.url, clinic.api_key)
    pending = client.auto_scribe.users.invite(**invite_kwargs())
    study = _study_assigned_to(client, pending.user_id)
    assert study.assigned_to is not None and study.assigned_to.user_id == pending.user_id

    set_invitation(pending.user_id, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    with pytest.raises(avara.UnprocessableEntityError) as expired:
        _study_assigned_to(client, pending.user_id)
    assert "no longer valid" in expired.value.body["error"]["message"]

    withdrawn = client.auto_scribe.users.invite(**invite_kwargs())
    client.auto_scribe.users.invitations.revoke(user_id=withdrawn.user_id)
    with pytest.raises(avara.UnprocessableEntityError):
        _study_assigned_to(client, withdrawn.user_id)

    blocked = client.auto_scribe.users.invite(**invite_kwargs())
    client.auto_scribe.users.revoke_access(user_id=blocked.user_id)
    with pytest.raises(avara.UnprocessableEntityError) as revoked:
        _study_assigned_to(client, blocked.user_id)
    assert "revoked" in revoked.value.body["error"]["message"]
    with pytest.raises(avara.ConflictError) as reinvite:
        client.auto_scribe.users.invite(**invite_kwargs(email=blocked.email))
    assert "reactivate" in reinvite.value.body["error"]["message"]
