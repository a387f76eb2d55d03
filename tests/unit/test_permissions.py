"""The permission rules, one place for API and web (autoscribe.auth.permissions)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from autoscribe.auth import permissions as perms
from autoscribe.errors import InvalidRequest, PermissionDenied, Unprocessable
from autoscribe.users.models import User

CLINIC = uuid.uuid4()


def user(**values: object) -> User:
    base: dict[str, object] = {
        "id": uuid.uuid4(),
        "clinic_id": CLINIC,
        "email": "a@example.test",
        "first_name": "A",
        "last_name": "B",
        "level": "member",
        "can_create_reports": False,
        "can_manage_studies": False,
        "has_dashboard_access": True,
        "joined": True,
        "npi_number": None,
        "revoked_at": None,
    }
    base.update(values)
    return User(**base)


def test_levels_and_flags() -> None:
    owner, admin, member = user(level="owner"), user(level="admin"), user()
    assert perms.can_manage_api_keys(owner) and not perms.can_manage_api_keys(admin)
    assert (
        perms.can_manage_users(owner) and perms.can_manage_users(admin) and not perms.can_manage_users(member)
    )
    assert not perms.can_manage_studies(member) and perms.can_manage_studies(user(can_manage_studies=True))
    assert perms.can_manage_studies(admin)
    reporter = user(can_create_reports=True, npi_number="1234567893")
    assert perms.can_create_reports(reporter)
    assert not perms.can_create_reports(user(can_create_reports=True, npi_number="1234567890"))
    assert not perms.can_create_reports(user(can_create_reports=False, npi_number="1234567893"))
    # An invited radiologist who has not joined may report through temporary access views...
    invited = user(can_create_reports=True, npi_number="1234567893", joined=False)
    assert perms.can_create_reports(invited)
    # ...but nobody uses the dashboard before joining, and revocation removes everything.
    assert not perms.has_dashboard_access(invited)
    revoked = user(
        level="owner", can_create_reports=True, npi_number="1234567893", revoked_at=datetime.now(UTC)
    )
    for rule in (
        perms.has_dashboard_access, perms.can_manage_users, perms.can_manage_api_keys,
        perms.can_manage_studies, perms.can_create_reports, perms.can_view_audit_log,
    ):  # fmt: skip
        assert not rule(revoked), rule.__name__
    assert not perms.can_manage_users(user(level="admin", has_dashboard_access=False))


def test_who_may_change_whom() -> None:
    owner, admin, member = user(level="owner"), user(level="admin"), user()
    assert perms.can_edit_user(admin, member) and perms.can_edit_user(admin, admin)
    assert not perms.can_edit_user(admin, owner) and perms.can_edit_user(owner, owner)
    assert not perms.can_edit_user(member, member)
    assert not perms.can_edit_user(admin, user(clinic_id=uuid.uuid4()))
    assert perms.can_change_access(admin, member) and perms.can_change_access(owner, admin)
    assert not perms.can_change_access(admin, owner) and not perms.can_change_access(admin, admin)


def test_profile_rules() -> None:
    perms.check_profile(level="member", has_dashboard_access=False, can_create_reports=False, npi=None)
    with pytest.raises(Unprocessable) as admin:
        perms.check_profile(level="admin", has_dashboard_access=False, can_create_reports=False, npi=None)
    assert admin.value.param == "hasDashboardAccess"
    with pytest.raises(InvalidRequest) as missing:
        perms.check_profile(level="member", has_dashboard_access=False, can_create_reports=True, npi=None)
    assert missing.value.param == "npiNumber"
    with pytest.raises(Unprocessable) as luhn:
        perms.check_npi("1234567890")
    assert luhn.value.param == "npiNumber"
    with pytest.raises(InvalidRequest):
        perms.check_npi("\uff11234567893")  # a full-width digit is not an ASCII digit
    assert perms.check_npi("1234567893") == "1234567893"
    with pytest.raises(Unprocessable):
        perms.check_assignable_level("owner")
    with pytest.raises(InvalidRequest):
        perms.check_assignable_level("root")
    with pytest.raises(PermissionDenied):
        perms.ensure_api_may_change(user(level="owner"))
    perms.ensure_api_may_change(user(level="admin"))


def test_sidebar() -> None:
    keys = lambda u: [e.key for e in perms.sidebar_entries(u)]  # noqa: E731
    assert keys(user(level="owner")) == [
        "worklist",
        "api_config",
        "dicom",
        "users",
        "express",
        "deliveries",
        "audit",
        "templates",
    ]
    assert keys(user(level="admin")) == ["worklist", "users", "express", "deliveries", "audit", "templates"]
    assert keys(user()) == ["worklist"]
    assert keys(user(can_create_reports=True, npi_number="1234567893")) == ["worklist", "templates"]
    assert keys(user(has_dashboard_access=False)) == []
    assert all(e.href.startswith("/") for e in perms.sidebar_entries(user(level="owner")))
