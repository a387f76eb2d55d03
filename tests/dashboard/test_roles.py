"""Who may reach which dashboard page: members cannot reach API Config or users management
(neither the page nor a form post), admins manage everything but API keys, owners everything."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import ClinicFixture, Server
from tests.dashboard.conftest import owner_client, sign_in_as, submit
from tests.helpers import csrf_from, sdk

MANAGER_PAGES = ["/users", "/invitations", "/users/invite", "/express-customers", "/deliveries", "/audit-log"]


def _refused(response_text: str, status: int) -> bool:
    return status == 403 and "You do not have access to this page" in response_text


@pytest.mark.parametrize("reports", [True, False])
def test_a_member_cannot_reach_api_config_or_users(
    server: Server, clinic: ClinicFixture, reports: bool
) -> None:
    member = sign_in_as(
        server, clinic, level="member", can_create_reports=reports, npi="1234567893" if reports else None
    )
    client = member.client
    key_id = clinic.api_key_id
    owner_id = clinic.owner_id
    # Pages: refused with a page that says so, not a redirect or an empty 200.
    for path in [
        "/api-config",
        "/api-config/new",
        f"/api-config/keys/{key_id}/secret",
        f"/api-config/keys/{key_id}/endpoints",
        *MANAGER_PAGES,
        f"/users/{owner_id}",
        "/users/npi-check?npiNumber=1234567893",
    ]:
        page = client.get(path)
        assert _refused(page.text, page.status_code), path
        assert "whsec_" not in page.text
    # Posts with a valid CSRF token of the member's own session: refused, and nothing changed.
    token = csrf_from(client.get("/worklist").text)
    posts = {
        "/api-config/new": {
            "description": "sneaky",
            "studyScope": "all",
            "userAccess": "write",
            "expressAccess": "none",
        },
        f"/api-config/keys/{key_id}/endpoints": {"reportWebhookUrl": "https://attacker.example/hook"},
        f"/api-config/keys/{key_id}/rotate-secret": {},
        f"/api-config/keys/{key_id}/revoke": {},
        f"/api-config/keys/{key_id}/test": {"event": "report.delivered"},
        "/users/invite": {
            "email": "x@example.test",
            "firstName": "X",
            "lastName": "Y",
            "clinicRole": "Other",
            "level": "admin",
        },
        f"/users/{member.user_id}": {
            "firstName": "Me",
            "lastName": "Admin",
            "level": "admin",
            "clinicRole": "Other",
        },
        f"/users/{owner_id}/revoke-access": {},
        "/express-customers/new": {"expressCustomerName": "Mine"},
    }
    for path, data in posts.items():
        response = client.post(path, data={**data, "csrf_token": token})
        assert _refused(response.text, response.status_code), path

    from autoscribe.auth.models import ApiKey
    from autoscribe.db import session_scope
    from autoscribe.users.models import User

    with session_scope() as session:
        keys = session.query(ApiKey).filter(ApiKey.clinic_id == uuid.UUID(clinic.clinic_id)).all()
        assert [(k.description, k.report_webhook_url, k.revoked_at) for k in keys] == [
            (keys[0].description, None, None)
        ]
        me = session.get(User, uuid.UUID(member.user_id.removeprefix("usr_")))
        assert me is not None and me.level == "member"
    # The key still works with its old secret untouched.
    assert sdk(server.url, clinic.api_key).auto_scribe.studies.list().studies == []
    # The sidebar offers neither.
    home = client.get("/").text
    assert 'href="/api-config"' not in home and 'href="/users"' not in home


def test_an_admin_manages_everything_but_api_keys(server: Server, clinic: ClinicFixture) -> None:
    admin = sign_in_as(server, clinic, level="admin", can_create_reports=False, npi=None)
    for path in ["/worklist", "/worklist/new", *MANAGER_PAGES]:
        assert admin.client.get(path).status_code == 200, path
    page = admin.client.get("/api-config")
    assert _refused(page.text, page.status_code)
    response = submit(
        admin.client,
        "/worklist",
        "/api-config/new",
        {"description": "admin key", "studyScope": "all", "userAccess": "none", "expressAccess": "none"},
    )
    assert _refused(response.text, response.status_code)


def test_the_owner_reaches_every_page(server: Server, clinic: ClinicFixture) -> None:
    owner = owner_client(server, clinic)
    for path in ["/worklist", "/worklist/new", "/api-config", "/api-config/new", *MANAGER_PAGES]:
        assert owner.get(path).status_code == 200, path


def test_signed_out_visitors_go_to_sign_in(server: Server) -> None:
    from tests.helpers import web_client

    client = web_client(server.url)
    for path in ["/api-config", "/worklist", "/users", "/deliveries", "/audit-log", "/express-customers"]:
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next="), path
    # htmx polling after the session ended: a full-page redirect to sign in, not a fragment.
    live = client.get("/worklist/live", headers={"HX-Request": "true"})
    assert live.status_code == 401 and live.headers["HX-Redirect"].startswith("/login")


def test_forms_without_the_csrf_token_are_refused(server: Server, clinic: ClinicFixture) -> None:
    owner = owner_client(server, clinic)
    response = owner.post(
        "/api-config/new",
        data={"description": "no token", "studyScope": "all", "userAccess": "none", "expressAccess": "none"},
    )
    assert response.status_code == 403 and "This form could not be accepted" in response.text
