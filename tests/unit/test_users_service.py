"""The users service enforces the permission rules for dashboard users too (the dashboard's
pages call it with `by=` the signed-in user)."""

from __future__ import annotations

import uuid

import pytest

from autoscribe.audit.service import Actor
from autoscribe.db import session_scope
from autoscribe.errors import PermissionDenied
from autoscribe.users import invitations, service
from autoscribe.users.models import User
from autoscribe.users.schemas import ProfileUpdate, UserInvite
from tests.conftest import ClinicFixture
from tests.helpers import make_user


def row(session: object, user_id: str) -> User:
    found = session.get(User, uuid.UUID(user_id.removeprefix("usr_")))  # type: ignore[attr-defined]
    assert found is not None
    return found


def test_dashboard_actors_follow_the_rules(clinic: ClinicFixture) -> None:
    admin_id = make_user(clinic.clinic_id, level="admin")
    member_id = make_user(clinic.clinic_id)
    other_id = make_user(clinic.clinic_id)
    with session_scope() as session:
        admin, member, other = row(session, admin_id), row(session, member_id), row(session, other_id)
        owner = row(session, clinic.owner_id)
        actor = Actor("user", admin_id)
        rename = ProfileUpdate.model_validate({"firstName": "Renamed"})

        assert service.update_user(session, member, rename, actor=actor, by=admin).first_name == "Renamed"
        with pytest.raises(PermissionDenied):
            service.update_user(session, owner, rename, actor=actor, by=admin)
        with pytest.raises(PermissionDenied):
            service.update_user(session, other, rename, actor=Actor("user", member_id), by=member)
        # The owner edits their own profile, but does not give up ownership that way.
        assert service.update_user(session, owner, rename, actor=actor, by=owner).first_name == "Renamed"
        with pytest.raises(PermissionDenied):
            service.update_user(
                session, owner, ProfileUpdate.model_validate({"level": "admin"}), actor=actor, by=owner
            )

        assert "revoked" in service.revoke_access(session, member, actor=actor, by=admin)
        with pytest.raises(PermissionDenied):
            service.revoke_access(session, admin, actor=actor, by=admin)  # not oneself
        with pytest.raises(PermissionDenied):
            service.revoke_access(session, owner, actor=actor, by=admin)
        assert "restored" in service.reactivate(session, member, actor=actor, by=owner)

        invite = UserInvite.model_validate(
            {
                "canCreateReports": False, "canManageStudies": False, "clinicRole": "Scribe",
                "email": f"{uuid.uuid4().hex[:8]}@example.test", "firstName": "S", "lastName": "T",
                "hasDashboardAccess": False, "level": "member",
            }
        )  # fmt: skip
        with pytest.raises(PermissionDenied):
            invitations.invite_user(
                session,
                admin.clinic_id,
                invite,
                invitations.Inviter(actor=Actor("user", member_id), source="dashboard", user=member),
            )
        made, invitation = invitations.invite_user(
            session, admin.clinic_id, invite, invitations.Inviter(actor=actor, source="dashboard", user=admin)
        )
        assert made.invited_source == "dashboard" and invitation.inviter_user_id == admin.id
        out = invitations.invitations_out(session, [invitation])[0]
        assert out.inviter_id == admin_id and out.invited_by_api_key_id is None
