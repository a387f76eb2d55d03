"""A real browser: accepting an invitation, signing out and in, at desktop and phone sizes."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, console_errors, snap
from tests.conftest import ClinicFixture, Server
from tests.helpers import latest_outbox_link, sdk
from tests.users.test_users import invite_kwargs

pytestmark = pytest.mark.browser

PASSWORD = "violet harbour lantern"


def test_accept_invitation_then_sign_out_and_in(page: Page, server: Server, clinic: ClinicFixture) -> None:
    email = f"Nora.{secrets.token_hex(3)}@example.test"
    user = sdk(server.url, clinic.api_key).auto_scribe.users.invite(
        **invite_kwargs(email=email, first_name="Nora", has_dashboard_access=True, level="admin")
    )
    link = latest_outbox_link(email, "/invitations/accept")

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Join Test Clinic [0-9a-f]{6}$"))
    expect(page.get_by_text("Welcome, Nora")).to_be_visible()
    # Keyboard only: the password field has focus, Tab moves to the confirmation, Enter submits.
    expect(page.get_by_label("Choose a password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD + "x")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_have_text("The two passwords do not match")
    snap(page, "people-invitation-accept")
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_label("Type it again").fill(PASSWORD)
    page.get_by_role("button", name="Accept and set password").click()

    expect(page).to_have_url(re.compile(r"/\?welcome=1$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Nora")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Users")).to_be_visible()
    expect(nav.get_by_role("link", name="API Config")).to_have_count(0)  # owners only
    assert sdk(server.url, clinic.api_key).auto_scribe.users.retrieve(user.user_id).last_login_at is not None

    page.get_by_text("Nora Radiologist").click()  # the account menu
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login\?notice=signed_out$"))
    expect(page.get_by_role("status")).to_have_text("You have signed out.")

    # The invitation link is spent.
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("This invitation has already been used")

    page.goto(server.url + "/login")
    page.get_by_label("Email address").fill(email.lower())
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("email address or password is incorrect")
    snap(page, "people-login-error")
    expect(page.get_by_label("Email address")).to_have_value(email.lower())
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Nora")
    assert console_errors(page) == []


def test_decline_and_broken_links(page: Page, server: Server, clinic: ClinicFixture) -> None:
    email = f"decline.{secrets.token_hex(3)}@example.test"
    sdk(server.url, clinic.api_key).auto_scribe.users.invite(**invite_kwargs(email=email))
    link = latest_outbox_link(email, "/invitations/accept")
    page.goto(link)
    page.get_by_role("button", name="Decline the invitation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invitation declined")
    page.goto(server.url + "/invitations/accept?token=not-a-real-token")
    expect(page.get_by_role("heading", level=1)).to_have_text("This invitation link is not valid")
    expect(page.get_by_text("Traceback")).to_have_count(0)
    assert console_errors(page) == []


def test_keyboard_focus_is_visible(page: Page, server: Server) -> None:
    page.goto(server.url + "/login")
    # The email field has focus on arrival; Tab moves on, and the focus ring is always drawn.
    expect(page.get_by_label("Email address")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    ring = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth]; })()"
    )
    assert ring == ["solid", "3px"]
    # On a page without a form, the first Tab reaches the skip link, shown on screen.
    page.goto(server.url + "/no/such/page")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_pages_fit_a_phone(make_page: Callable[..., Page], server: Server, clinic: ClinicFixture) -> None:
    phone = make_page(*PHONE, name="phone")
    phone.goto(server.url + "/login")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.get_by_label("Email address").fill(clinic.owner_email)
    phone.get_by_label("Password").fill(clinic.owner_password)
    phone.get_by_role("button", name="Sign in").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Welcome to Test Clinic"))
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    expect(phone.get_by_role("navigation", name="Main").get_by_role("link", name="Worklist")).to_be_visible()
    assert console_errors(phone) == []
