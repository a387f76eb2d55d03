"""Users and invitations pages: NPI checked as typed, inviting with errors next to fields, search,
editing permissions, revoking and reactivating access, the invitations list with resend/revoke."""

from __future__ import annotations

import re
import secrets

from tests.conftest import ClinicFixture, Server
from tests.dashboard.conftest import PASSWORD, field_error, flash_of, owner_client, sign_in_as, submit
from tests.helpers import make_user, outbox_messages, web_client


def test_npi_is_checked_as_it_is_typed(server: Server, clinic: ClinicFixture) -> None:
    owner = owner_client(server, clinic)

    def feedback(npi: str) -> str:
        response = owner.get("/users/npi-check", params={"npiNumber": npi}, headers={"HX-Request": "true"})
        assert response.status_code == 200 and "<html" not in response.text
        return re.sub(r"<[^>]+>", "", response.text).replace("✓", "").strip()

    assert feedback("") == ""
    assert feedback("123") == "3 of 10 digits."
    assert feedback("12a") == "An NPI has digits only."
    assert feedback("1234567890") == "Not a valid NPI: the check digit does not match. Check for a typo."
    assert feedback("1234567893") == "Valid NPI."
    assert feedback("12345678931") == "An NPI has exactly 10 digits."
    # The invite form asks for it as the field changes.
    form = owner.get("/users/invite").text
    assert 'hx-get="/users/npi-check"' in form and "input changed" in form


def test_invite_resend_revoke(server: Server, clinic: ClinicFixture) -> None:
    owner = owner_client(server, clinic)
    email = f"nora.{secrets.token_hex(3)}@example.test"
    base = {
        "email": email,
        "firstName": "Nora",
        "lastName": "Nakamura",
        "clinicRole": "Radiologist",
        "level": "member",
        "canCreateReports": "on",
        "hasDashboardAccess": "on",
    }
    response = submit(owner, "/users/invite", "/users/invite", base)
    assert response.status_code == 400
    assert "npiNumber is required when canCreateReports is true" in (
        field_error(response.text, "npiNumber") or ""
    )
    response = submit(owner, "/users/invite", "/users/invite", {**base, "npiNumber": "1234567890"})
    assert "is not a valid NPI: its check digit does not match" in (
        field_error(response.text, "npiNumber") or ""
    )
    assert 'value="Nakamura"' in response.text and re.search(
        r'id="canCreateReports"[^>]*checked', response.text
    )
    response = submit(
        owner,
        "/users/invite",
        "/users/invite",
        {**base, "npiNumber": "1234567893", "level": "admin", "hasDashboardAccess": ""},
    )
    assert "Admins need dashboard access" in (field_error(response.text, "hasDashboardAccess") or "")
    response = submit(
        owner, "/users/invite", "/users/invite", {**base, "email": "not-an-email", "npiNumber": "1234567893"}
    )
    assert "must be an email address" in (field_error(response.text, "email") or "").lower()
    assert outbox_messages(email) == []

    response = submit(owner, "/users/invite", "/users/invite", {**base, "npiNumber": "1234567893"})
    assert flash_of(owner, response).startswith(f"Invitation sent to {email}.")
    user_page = response.headers["location"]
    assert len(outbox_messages(email)) == 1
    assert "Invited" in owner.get("/users").text and email in owner.get("/users?q=nakam").text
    invitations = owner.get("/invitations?status=sent").text
    ref = re.search(
        rf'id="invitation-(inv_[0-9a-f]{{32}})">\s*<td data-label="Person">'
        rf'<a class="row-link" href="{user_page}"',
        invitations,
    )
    assert ref, invitations[:3000]
    invitation = ref.group(1)

    response = submit(owner, "/invitations", f"/invitations/{invitation}/resend", {})
    assert "A new invitation link was sent" in flash_of(owner, response)
    assert len(outbox_messages(email)) == 2
    response = submit(owner, user_page, f"/invitations/{invitation}/revoke?back={user_page}", {})
    assert response.headers["location"] == user_page
    assert "revoked: its link no longer works" in flash_of(owner, response)
    assert "Revoked" in owner.get("/invitations?status=revoked").text
    # Never joined and the invitation is over: left out of the users list.
    assert email not in owner.get("/users").text
    response = submit(owner, "/invitations", f"/invitations/{invitation}/resend", {})
    assert "Not sent" in flash_of(owner, response)


def test_search_and_edit_permissions(server: Server, clinic: ClinicFixture) -> None:
    owner = owner_client(server, clinic)
    user_id = make_user(
        clinic.clinic_id,
        first_name="Ångel",
        last_name="Ortiz",
        email=f"angel-{secrets.token_hex(3)}@example.test",
    )
    make_user(clinic.clinic_id, first_name="Bea", last_name="Brown", level="admin")
    listing = owner.get("/users?q=ÅNGEL").text
    assert "Ångel Ortiz" in listing and "Bea Brown" not in listing
    assert (
        "Bea Brown" in owner.get("/users?level=admin").text
        and "Ångel Ortiz" not in owner.get("/users?level=admin").text
    )
    assert "Nobody matches this search" in owner.get("/users?q=zzzz").text

    page = f"/users/{user_id}"
    form = {
        "firstName": "Ångel",
        "lastName": "Ortiz",
        "clinicRole": "Radiologist",
        "level": "admin",
        "npiNumber": "1234567893",
        "canCreateReports": "on",
        "canManageStudies": "on",
        "hasDashboardAccess": "on",
    }
    response = submit(owner, page, page, {**form, "npiNumber": "12345"})
    assert (
        response.status_code == 400
        and field_error(response.text, "npiNumber") == "npiNumber must be exactly 10 digits"
    )
    response = submit(owner, page, page, {**form, "firstName": ""})
    assert field_error(response.text, "firstName") == "Required"
    response = submit(owner, page, page, form)
    assert flash_of(owner, response) == "Changes to Ångel Ortiz saved."
    html = owner.get(page).text
    assert re.search(r'id="level-admin"[^>]*checked', html) and re.search(
        r'id="canManageStudies"[^>]*checked', html
    )
    assert "User changed" in owner.get("/audit-log?action=user.").text

    # An admin may not change the owner.
    admin = sign_in_as(server, clinic, level="admin", can_create_reports=False, npi=None)
    owner_page = admin.client.get(f"/users/{clinic.owner_id}").text
    assert "Only the owner can change the owner's profile" in owner_page and "Revoke access" not in owner_page
    response = submit(
        admin.client,
        f"/users/{clinic.owner_id}",
        f"/users/{clinic.owner_id}",
        {"firstName": "Hijacked", "lastName": "Owner", "clinicRole": "Other", "hasDashboardAccess": "on"},
    )
    assert response.status_code == 403 and "You cannot change this user" in response.text


def test_revoke_and_reactivate_access(server: Server, clinic: ClinicFixture) -> None:
    owner = owner_client(server, clinic)
    person = sign_in_as(server, clinic, level="member", first_name="Ravi", last_name="Rao")
    page = f"/users/{person.user_id}"
    assert person.client.get("/worklist").status_code == 200
    assert "Revoke access for Ravi Rao?" in owner.get(page + "/revoke-access").text
    response = submit(owner, page, page + "/revoke-access", {})
    assert flash_of(owner, response).startswith("Access revoked for Ravi Rao")
    # Their open session ended at once.
    assert person.client.get("/worklist").status_code == 303
    assert "Access revoked" in owner.get(page).text
    response = submit(owner, page, page + "/reactivate", {})
    assert flash_of(owner, response) == "Access restored for Ravi Rao, with the permissions they had."
    from tests.helpers import post_form

    client = web_client(server.url)
    assert (
        post_form(client, "/login", "/login", {"email": person.email, "password": PASSWORD}).status_code
        == 303
    )
    # Nobody revokes the owner, nor themselves.
    assert "Revoke access" not in owner.get(f"/users/{clinic.owner_id}").text
    response = submit(owner, page, f"/users/{clinic.owner_id}/revoke-access", {})
    assert "Access not revoked: You are not allowed to change this user." in flash_of(owner, response)
