"""Dashboard sign-in over real HTTP: sessions in the database, revocation, CSRF, throttling."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from tests.conftest import ClinicFixture, Server, start_server, stop_server
from tests.helpers import csrf_from, make_user, post_form, random_loopback, sdk, web_client, web_login

PASSWORD = "a long enough password"


def person(clinic: ClinicFixture, **kwargs: Any) -> tuple[str, str]:
    """A user who can sign in: (user id, email)."""
    email = kwargs.pop("email", f"person-{secrets.token_hex(4)}@example.test")
    user_id = make_user(clinic.clinic_id, email=email, password=kwargs.pop("password", PASSWORD), **kwargs)
    return user_id, email


def heading(response: httpx.Response) -> str:
    start = response.text.index("<h1>") + 4
    return response.text[start : response.text.index("</h1>")]


def login(client: httpx.Client, email: str, password: str = PASSWORD, **extra: str) -> httpx.Response:
    return post_form(client, "/login", "/login", {"email": email, "password": password, **extra})


def sessions_of(user_id: str) -> list[Any]:
    from autoscribe.auth.models import WebSession
    from autoscribe.db import session_scope

    with session_scope() as session:
        return list(
            session.scalars(
                select(WebSession).where(WebSession.user_id == uuid.UUID(user_id.removeprefix("usr_")))
            )
        )


def age_sessions(user_id: str, **values: Any) -> None:
    from autoscribe.auth.models import WebSession
    from autoscribe.db import session_scope

    with session_scope() as session:
        session.execute(
            update(WebSession)
            .where(WebSession.user_id == uuid.UUID(user_id.removeprefix("usr_")))
            .values(**values)
        )


def audit_reasons(clinic_id: str, user_id: str) -> list[str]:
    from autoscribe.audit.models import AuditEvent
    from autoscribe.db import session_scope

    with session_scope() as session:
        rows = session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.clinic_id == uuid.UUID(clinic_id),
                AuditEvent.target_id == user_id,
                AuditEvent.action.like("auth.%"),
            )
            .order_by(AuditEvent.id)
        )
        return [
            r.action + (f":{r.details['reason']}" if r.details and "reason" in r.details else "")
            for r in rows
        ]


# ---- sign in, sign out ----------------------------------------------------------------------------------


def test_sign_in_and_out(server: Server, clinic: ClinicFixture) -> None:
    user_id, email = person(clinic, first_name="Iris")
    browser = web_client(server.url)
    assert browser.get("/").headers["location"] == "/login"
    response = login(browser, email.upper())  # emails are case-insensitive
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("as_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    (row,) = sessions_of(user_id)
    value = browser.cookies["as_session"]
    assert value not in (row.token_hash,) and len(row.token_hash) == 64  # only a hash is stored
    home = browser.get("/")
    assert home.status_code == 200 and "Welcome, Iris" in home.text
    assert sdk(server.url, clinic.api_key).auto_scribe.users.retrieve(user_id).last_login_at is not None
    assert browser.get("/login").headers["location"] == "/"  # already signed in

    confirm = browser.get("/logout")
    assert confirm.status_code == 200 and heading(confirm) == "Sign out"
    out = browser.post("/logout", data={"csrf_token": csrf_from(confirm.text)})
    assert out.status_code == 303 and out.headers["location"] == "/login?notice=signed_out"
    assert "You have signed out." in browser.get("/login?notice=signed_out").text
    assert browser.get("/").status_code == 303
    # The old cookie value is dead on the server, not just forgotten by the browser.
    replay = web_client(server.url)
    replay.cookies.set("as_session", value)
    assert replay.get("/").status_code == 303
    assert sessions_of(user_id)[0].ended_at is not None
    assert audit_reasons(clinic.clinic_id, user_id) == ["auth.login", "auth.logout"]


def test_wrong_password_and_unknown_accounts(server: Server, clinic: ClinicFixture) -> None:
    user_id, email = person(clinic)
    browser = web_client(server.url)
    wrong = login(browser, email, "not the password")
    assert wrong.status_code == 401 and "email address or password is incorrect" in wrong.text
    assert 'value="' + email + '"' in wrong.text  # the email is kept in the form
    unknown = login(browser, "nobody-" + email, PASSWORD)
    assert unknown.status_code == 401 and "email address or password is incorrect" in unknown.text
    empty = login(browser, email, "")
    assert empty.status_code == 400
    invited = sdk(server.url, clinic.api_key).auto_scribe.users.invite(
        can_create_reports=False, can_manage_studies=False, clinic_role="Scribe",
        email=f"pending-{secrets.token_hex(3)}@example.test", first_name="P", last_name="Q",
        has_dashboard_access=True, level="member",
    )  # fmt: skip
    assert login(browser, invited.email, PASSWORD).status_code == 401  # no password until accepted
    assert "as_session" not in browser.cookies
    assert audit_reasons(clinic.clinic_id, user_id) == ["auth.login_failed:bad_password"]


def test_next_page_and_open_redirects(server: Server, clinic: ClinicFixture) -> None:
    _user_id, email = person(clinic)
    browser = web_client(server.url)
    redirect = browser.get("/logout?x=1")
    assert redirect.status_code == 303
    to_login = browser.get("/")
    assert to_login.headers["location"] == "/login"
    page = browser.get("/login?next=%2Flogout%3Fx%3D1")
    assert 'name="next" value="/logout?x=1"' in page.text
    done = browser.post(
        "/login",
        data={
            "csrf_token": csrf_from(page.text),
            "email": email,
            "password": PASSWORD,
            "next": "/logout?x=1",
        },
    )
    assert done.headers["location"] == "/logout?x=1"
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        other = web_client(server.url)
        response = post_form(other, "/login", "/login", {"email": email, "password": PASSWORD, "next": evil})
        assert response.headers["location"] == "/", evil


def test_restricted_access_and_revoked_accounts(server: Server, clinic: ClinicFixture) -> None:
    _no_dashboard, email = person(clinic, has_dashboard_access=False)
    browser = web_client(server.url)
    restricted = login(browser, email)
    assert restricted.status_code == 403 and heading(restricted) == "Restricted access"
    assert "links your PACS, RIS or EHR gives you" in restricted.text
    assert "as_session" not in browser.cookies

    revoked_id, revoked_email = person(clinic, revoked=True)
    refused = login(browser, revoked_email)
    assert refused.status_code == 403 and "access to this clinic has been revoked" in refused.text
    assert "as_session" not in browser.cookies
    assert audit_reasons(clinic.clinic_id, revoked_id) == ["auth.login_failed:access_revoked"]


def test_one_email_in_two_clinics(server: Server, clinic: ClinicFixture, other_clinic: ClinicFixture) -> None:
    email = f"locum-{secrets.token_hex(4)}@example.test"
    here = make_user(clinic.clinic_id, email=email, password=PASSWORD, first_name="Here")
    make_user(other_clinic.clinic_id, email=email, password=PASSWORD, first_name="There")
    browser = web_client(server.url)
    choose = login(browser, email)
    assert choose.status_code == 200 and "accounts in several clinics" in choose.text
    assert clinic.clinic_id in choose.text and other_clinic.clinic_id in choose.text
    assert "as_session" not in browser.cookies
    done = login(browser, email, clinic=clinic.clinic_id)
    assert done.status_code == 303 and "Welcome, Here" in browser.get("/").text
    assert len(sessions_of(here)) == 1
    # With different passwords the password picks the account.
    solo = f"solo-{secrets.token_hex(4)}@example.test"
    make_user(clinic.clinic_id, email=solo, password=PASSWORD, first_name="First")
    make_user(other_clinic.clinic_id, email=solo, password="another long password", first_name="Second")
    other = web_client(server.url)
    assert login(other, solo, "another long password").status_code == 303
    assert "Welcome, Second" in other.get("/").text


# ---- the session ends when it should -------------------------------------------------------------------


def test_revoked_users_open_session_stops_on_the_next_request(server: Server, clinic: ClinicFixture) -> None:
    user_id, email = person(clinic, level="admin")
    browser = web_login(server.url, email, PASSWORD)
    assert browser.get("/").status_code == 200
    sdk(server.url, clinic.api_key).auto_scribe.users.revoke_access(user_id=user_id)
    after = browser.get("/")
    assert after.status_code == 303 and after.headers["location"] == "/login"
    assert all(s.ended_at is not None for s in sessions_of(user_id))
    # An htmx request gets told where to go instead of a page.
    htmx = browser.get("/", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/login"
    # Reactivation restores access, not the ended session.
    sdk(server.url, clinic.api_key).auto_scribe.users.reactivate(user_id=user_id)
    assert browser.get("/").status_code == 303
    assert web_login(server.url, email, PASSWORD).get("/").status_code == 200


def test_losing_dashboard_access_shows_the_restricted_page(server: Server, clinic: ClinicFixture) -> None:
    user_id, email = person(clinic)
    browser = web_login(server.url, email, PASSWORD)
    sdk(server.url, clinic.api_key).auto_scribe.users.update(user_id, has_dashboard_access=False)
    page = browser.get("/")
    assert page.status_code == 403 and heading(page) == "Restricted access"


def test_idle_and_absolute_expiry(server: Server, clinic: ClinicFixture) -> None:
    user_id, email = person(clinic)
    idle = web_login(server.url, email, PASSWORD)
    age_sessions(user_id, last_seen_at=datetime.now(UTC) - timedelta(minutes=121))  # idle limit is 120
    assert idle.get("/").status_code == 303

    fresh = web_login(server.url, email, PASSWORD)
    assert fresh.get("/").status_code == 200
    age_sessions(user_id, last_seen_at=datetime.now(UTC) - timedelta(minutes=119))
    assert fresh.get("/").status_code == 200  # active enough
    age_sessions(user_id, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert fresh.get("/").status_code == 303


def test_secure_cookies_under_https(database: str, clinic: ClinicFixture) -> None:
    """Behind a TLS-terminating proxy (public URL https), cookies are marked Secure."""
    https = start_server({"AUTOSCRIBE_PUBLIC_URL": "https://autoscribe.clinic.example"}, name="https")
    try:
        _user_id, email = person(clinic)
        browser = web_client(https.url)
        page = browser.get("/login")
        set_cookie = page.headers["set-cookie"]
        assert "Secure" in set_cookie
        # This test talks plain HTTP to the server behind the "proxy": hand the Secure cookie back.
        browser.cookies.set("as_csrf", set_cookie.split(";")[0].split("=", 1)[1])
        response = browser.post(
            "/login", data={"csrf_token": csrf_from(page.text), "email": email, "password": PASSWORD}
        )
        assert response.status_code == 303
        cookies = response.headers.get_list("set-cookie")
        assert all("Secure" in c and "HttpOnly" in c and "SameSite=lax" in c for c in cookies)
    finally:
        stop_server(https)


# ---- CSRF --------------------------------------------------------------------------------------------------


def test_form_posts_without_a_csrf_token_are_refused(server: Server, clinic: ClinicFixture) -> None:
    _user_id, email = person(clinic)
    browser = web_client(server.url)
    browser.get("/login")  # the browser has its CSRF cookie, but the post carries no token
    for action, data in (
        ("/login", {"email": email, "password": PASSWORD}),
        ("/forgot-password", {"email": email}),
        ("/reset-password", {"token": "x", "password": PASSWORD, "password_confirm": PASSWORD}),
        ("/invitations/accept", {"token": "x", "password": PASSWORD, "password_confirm": PASSWORD}),
        ("/invitations/reject", {"token": "x"}),
        ("/logout", {}),
    ):
        refused = browser.post(action, data=data)
        assert refused.status_code == 403, action
        assert heading(refused) == "This form could not be accepted"
    assert "as_session" not in browser.cookies

    # A token minted for another browser (another CSRF cookie) does not fit this one.
    other = web_client(server.url)
    foreign_token = csrf_from(other.get("/login").text)
    assert (
        browser.post(
            "/login", data={"email": email, "password": PASSWORD, "csrf_token": foreign_token}
        ).status_code
        == 403
    )
    # A browser without the CSRF cookie at all.
    bare = web_client(server.url)
    assert (
        bare.post(
            "/login", data={"email": email, "password": PASSWORD, "csrf_token": foreign_token}
        ).status_code
        == 403
    )
    # A cross-site post, even with a valid token.
    token = csrf_from(browser.get("/login").text)
    cross = browser.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403


def test_signed_in_posts_need_the_token_too(server: Server, clinic: ClinicFixture) -> None:
    _user_id, email = person(clinic)
    browser = web_login(server.url, email, PASSWORD)
    assert browser.post("/logout").status_code == 403
    assert browser.get("/").status_code == 200  # still signed in
    # htmx sends the token as a header (base.html puts it in hx-headers).
    page = browser.get("/")
    assert 'hx-headers=\'{"X-CSRF-Token": "' in page.text
    token = csrf_from(page.text)
    out = browser.post("/logout", headers={"X-CSRF-Token": token, "HX-Request": "true"})
    assert out.status_code == 303
    assert browser.get("/").status_code == 303


def test_the_csrf_token_changes_at_sign_in(server: Server, clinic: ClinicFixture) -> None:
    _user_id, email = person(clinic)
    browser = web_client(server.url)
    before = csrf_from(browser.get("/login").text)
    assert login(browser, email).status_code == 303
    after = csrf_from(browser.get("/").text)
    assert before != after
    assert browser.post("/logout", data={"csrf_token": before}).status_code == 403


def test_a_planted_csrf_cookie_does_not_work_against_another_session(
    server: Server, clinic: ClinicFixture
) -> None:
    """Cookie tossing: an attacker who can set cookies for our host (a sibling subdomain, plain
    HTTP) plants their own CSRF cookie and posts the token they were shown for it. Tokens are
    bound to the session: neither their signed-out token nor their own session's works."""
    _victim_id, victim_email = person(clinic)
    _attacker_id, attacker_email = person(clinic)
    attacker = web_client(server.url)
    signed_out_token = csrf_from(attacker.get("/login").text)
    planted = attacker.cookies["as_csrf"]
    attacker_session = web_login(server.url, attacker_email, PASSWORD)
    own_session_token = csrf_from(attacker_session.get("/").text)
    own_cookie = attacker_session.cookies["as_csrf"]

    victim = web_login(server.url, victim_email, PASSWORD)
    for cookie, token in ((planted, signed_out_token), (own_cookie, own_session_token)):
        victim.cookies.set("as_csrf", cookie)
        refused = victim.post("/logout", data={"csrf_token": token})
        assert refused.status_code == 403
        assert heading(refused) == "This form could not be accepted"
        assert victim.get("/").status_code == 200  # still signed in

    # The victim's own page, with the cookie it was shown with, still works.
    del victim.cookies["as_csrf"]
    page = victim.get("/")
    assert victim.post("/logout", data={"csrf_token": csrf_from(page.text)}).status_code == 303


# ---- throttling --------------------------------------------------------------------------------------------


def shift_attempts(minutes: int, **where: Any) -> None:
    """Move sign-in attempts into the past (as if time had passed)."""
    from autoscribe.auth.models import LoginAttempt
    from autoscribe.db import session_scope

    with session_scope() as session:
        for row in session.scalars(select(LoginAttempt).filter_by(**where)):
            row.attempted_at = row.attempted_at - timedelta(minutes=minutes)


STRICT = {"AUTOSCRIBE_LOGIN_MAX_FAILURES_PER_ACCOUNT": "3", "AUTOSCRIBE_LOGIN_MAX_FAILURES_PER_ADDRESS": "5"}


@pytest.fixture(scope="module")
def strict(database: str) -> Iterator[tuple[Server, Server]]:
    """Two server processes with small limits (each failed attempt costs a password hash)."""
    first = start_server(STRICT, name="strict-1")
    second = start_server(STRICT, name="strict-2")
    yield first, second
    stop_server(first)
    stop_server(second)


def test_failed_sign_ins_throttle_the_account(strict: tuple[Server, Server], clinic: ClinicFixture) -> None:
    from autoscribe.auth.throttle import account_key

    server = strict[0]
    user_id, email = person(clinic)
    browser = web_client(server.url)
    for _ in range(3):
        assert login(browser, email, "wrong password!").status_code == 401
    blocked = login(browser, email)  # even the right password waits
    assert blocked.status_code == 429
    assert "Too many failed sign-in attempts for this account" in blocked.text
    assert "try again after" in blocked.text and "UTC" in blocked.text
    assert 800 < int(blocked.headers["retry-after"]) <= 900
    assert "as_session" not in browser.cookies
    # Per account, not per browser: another address is refused as well.
    elsewhere = web_client(server.url, local_address=random_loopback())
    assert login(elsewhere, email).status_code == 429
    assert audit_reasons(clinic.clinic_id, user_id) == ["auth.login_failed:bad_password"] * 3
    from autoscribe.audit.models import AuditEvent
    from autoscribe.db import session_scope

    with session_scope() as session:  # refused attempts are audited too
        assert session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "auth.login_failed",
                AuditEvent.details["reason"].as_string() == "throttled_account",
            )
        )

    shift_attempts(16, account_hash=account_key(email))  # the window is 15 minutes
    assert login(browser, email).status_code == 303
    # A success starts the count again.
    again = web_client(server.url)
    for _ in range(2):
        assert login(again, email, "wrong password!").status_code == 401
    assert login(again, email).status_code == 303


def test_failed_sign_ins_throttle_the_address(strict: tuple[Server, Server], clinic: ClinicFixture) -> None:
    server = strict[0]
    _user_id, email = person(clinic)
    address = random_loopback()
    browser = web_client(server.url, local_address=address)
    for i in range(5):  # many accounts from one address
        assert login(browser, f"guess-{i}-{secrets.token_hex(3)}@example.test", "guess").status_code == 401
    blocked = login(browser, email)
    assert blocked.status_code == 429 and "for your network address" in blocked.text
    # The account itself is fine from elsewhere.
    assert login(web_client(server.url), email).status_code == 303
    shift_attempts(16, address=address)
    assert login(browser, email).status_code == 303


def test_throttling_is_shared_by_every_server_process(
    strict: tuple[Server, Server], clinic: ClinicFixture
) -> None:
    _user_id, email = person(clinic)
    address = random_loopback()
    for url in (strict[0].url, strict[1].url, strict[0].url):
        assert login(web_client(url, local_address=address), email, "wrong password!").status_code == 401
    for url in (strict[1].url, strict[0].url):
        assert login(web_client(url, local_address=address), email).status_code == 429


@pytest.mark.parametrize("path", ["/login", "/forgot-password", "/"])
def test_pages_carry_security_headers(server: Server, path: str) -> None:
    response = web_client(server.url).get(path, follow_redirects=True)
    assert response.status_code == 200
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["cache-control"] == "no-store"
