"""Sign-in, sign-out, password reset and invitation acceptance (the signed-in home page is
web.dashboard.home)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from autoscribe.auth import permissions as perms
from autoscribe.auth.context import SessionDep, client_address
from autoscribe.auth.sessions import SESSION_COOKIE
from autoscribe.auth.signin import open_dashboard_session, sign_in, sign_out
from autoscribe.config import get_settings
from autoscribe.db import utcnow
from autoscribe.errors import InvalidRequest
from autoscribe.users import invitations, password_reset
from autoscribe.users import service as users
from autoscribe.web import csrf
from autoscribe.web.csrf import CsrfProtected
from autoscribe.web.deps import CurrentUser
from autoscribe.web.templating import redirect, render, safe_next

router = APIRouter(include_in_schema=False)

FormStr = Annotated[str, Form(max_length=2048)]
Password = Annotated[str, Form(max_length=4096)]


def _address(request: Request) -> str:
    return client_address(request) or "unknown"


def _set_session_cookie(response: Response, token: str) -> None:
    settings = get_settings()
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.session_max_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def _clear_session_cookie(response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=get_settings().secure_cookies
    )


def _retry_text(when: datetime) -> str:
    minutes = max(1, math.ceil((when - utcnow()).total_seconds() / 60))
    return f"{when.strftime('%H:%M')} UTC (in about {minutes} minute{'s' if minutes != 1 else ''})"


# ---- sign in / out ---------------------------------------------------------------------------------------

_LOGIN_NOTICES = {
    "signed_out": "You have signed out.",
    "password_reset": "Your password has been changed. Sign in with the new one.",
    "expired": "Your session has ended. Sign in again to continue.",
}


@router.get("/login")
def login_page(
    request: Request,
    web_user: CurrentUser,
    next: str | None = Query(None, max_length=2000),
    notice: str | None = Query(None, max_length=40),
) -> Response:
    if web_user is not None and perms.has_dashboard_access(web_user.user):
        return redirect(request, safe_next(next))
    return render(
        request,
        "login.html",
        {"next": safe_next(next, ""), "notice": _LOGIN_NOTICES.get(notice or ""), "email": ""},
    )


@router.post("/login", dependencies=[CsrfProtected])
def login_submit(
    request: Request,
    session: SessionDep,
    email: FormStr = "",
    password: Password = "",
    clinic: FormStr = "",
    next: FormStr = "",
) -> Response:
    context: dict[str, Any] = {"next": safe_next(next, ""), "email": email.strip(), "notice": None}
    if not email.strip() or not password:
        context["error"] = "Enter your email address and your password."
        return render(request, "login.html", context, status_code=400)
    result = sign_in(
        session,
        email=email,
        password=password,
        address=_address(request),
        clinic_id=clinic or None,
        user_agent=request.headers.get("user-agent"),
    )
    if result.outcome == "ok" and result.new_session is not None:
        csrf.rotate(request)
        response = redirect(request, safe_next(next))
        _set_session_cookie(response, result.new_session.token)
        return response
    if result.outcome == "throttled" and result.throttle is not None:
        who = "this account" if result.throttle.scope == "account" else "your network address"
        context["error"] = (
            f"Too many failed sign-in attempts for {who}. For your security, sign-in is paused: "
            f"try again after {_retry_text(result.throttle.retry_at)}. "
            "If you have forgotten your password, you can reset it."
        )
        seconds = max(1, math.ceil((result.throttle.retry_at - utcnow()).total_seconds()))
        return render(request, "login.html", context, status_code=429, headers={"Retry-After": str(seconds)})
    if result.outcome == "choose_clinic":
        context["clinics"] = result.clinics
        context["notice"] = (
            "This email address has accounts in several clinics. "
            "Choose the clinic and enter your password again."
        )
        return render(request, "login.html", context)
    if result.outcome == "revoked":
        context["error"] = (
            "Your access to this clinic has been revoked. Contact your clinic's administrator if you think "
            "this is a mistake."
        )
        return render(request, "login.html", context, status_code=403)
    if result.outcome == "no_dashboard" and result.user is not None:
        return render(request, "restricted.html", {"person": result.user}, status_code=403)
    context["error"] = "The email address or password is incorrect."
    return render(request, "login.html", context, status_code=401)


@router.get("/logout")
def logout_page(request: Request, web_user: CurrentUser) -> Response:
    if web_user is None:
        return redirect(request, "/login")
    return render(request, "logout.html")


@router.post("/logout", dependencies=[CsrfProtected])
def logout_submit(request: Request, session: SessionDep, web_user: CurrentUser) -> Response:
    if web_user is not None:
        sign_out(session, web_user.session, web_user.user, address=_address(request))
    csrf.rotate(request)
    response = redirect(request, "/login?notice=signed_out")
    _clear_session_cookie(response)
    return response


# ---- invitations -------------------------------------------------------------------------------------------

_INVITATION_PROBLEMS = {
    "invalid": (
        404,
        "This invitation link is not valid",
        "The link may have been copied incompletely, or replaced by a newer invitation. "
        "Open the link from the most recent invitation email, "
        "or ask your clinic's administrator to send a new one.",
    ),
    "accepted": (
        410,
        "This invitation has already been used",
        "The invitation was accepted and its link works only once. "
        "Sign in with your email address and password.",
    ),
    "rejected": (
        410,
        "This invitation was declined",
        "The invitation was declined and its link no longer works. If that was a mistake, "
        "ask your clinic's administrator to invite you again.",
    ),
    "revoked": (
        410,
        "This invitation was withdrawn",
        "Your clinic's administrator revoked this invitation. "
        "Ask them to invite you again if you should have access.",
    ),
    "expired": (
        410,
        "This invitation has expired",
        "Invitation links are valid for a limited time. "
        "Ask your clinic's administrator to send you a new invitation.",
    ),
    "access_revoked": (
        403,
        "Your access has been revoked",
        "Your clinic's administrator revoked your access, so this invitation cannot be accepted. "
        "Contact them if you think this is a mistake.",
    ),
}


def _invitation_problem(request: Request, reason: str) -> Response:
    status, title, message = _INVITATION_PROBLEMS[reason]
    show_login = reason == "accepted"
    return render(
        request,
        "link_problem.html",
        {"title": title, "message": message, "show_login": show_login},
        status_code=status,
    )


@router.get("/invitations/accept")
def invitation_page(
    request: Request, session: SessionDep, token: str | None = Query(None, max_length=200)
) -> Response:
    found = invitations.invitation_by_token(session, token)
    if found is None:
        return _invitation_problem(request, "invalid")
    invitation, person = found
    reason = invitations.why_unusable(invitation, person)
    if reason:
        return _invitation_problem(request, reason)
    return render(
        request,
        "invitation_accept.html",
        {
            "token": token,
            "invitation": invitation,
            "person": person,
            "clinic_name": users.clinic_name(session, person.clinic_id),
        },
    )


@router.post("/invitations/accept", dependencies=[CsrfProtected])
def invitation_accept(
    request: Request,
    session: SessionDep,
    token: FormStr = "",
    password: Password = "",
    password_confirm: Password = "",
) -> Response:
    found = invitations.invitation_by_token(session, token)
    if found is None:
        return _invitation_problem(request, "invalid")
    invitation, person = found
    try:
        invitations.accept_invitation(
            session,
            invitation,
            person,
            password=password,
            confirm=password_confirm,
            address=_address(request),
        )
    except invitations.InvitationUnusable as exc:
        return _invitation_problem(request, exc.reason)
    except InvalidRequest as exc:
        return render(
            request,
            "invitation_accept.html",
            {
                "token": token,
                "invitation": invitation,
                "person": person,
                "clinic_name": users.clinic_name(session, person.clinic_id),
                "error": exc.message,
            },
            status_code=400,
        )
    if not perms.has_dashboard_access(person):
        return render(request, "invitation_done.html", {"person": person, "accepted": True})
    new = open_dashboard_session(
        session,
        person,
        address=_address(request),
        user_agent=request.headers.get("user-agent"),
        how="invitation",
    )
    csrf.rotate(request)
    response = redirect(request, "/?welcome=1")
    _set_session_cookie(response, new.token)
    return response


@router.post("/invitations/reject", dependencies=[CsrfProtected])
def invitation_reject(request: Request, session: SessionDep, token: FormStr = "") -> Response:
    found = invitations.invitation_by_token(session, token)
    if found is None:
        return _invitation_problem(request, "invalid")
    invitation, person = found
    try:
        invitations.reject_invitation(session, invitation, person, address=_address(request))
    except invitations.InvitationUnusable as exc:
        return _invitation_problem(request, exc.reason)
    return render(request, "invitation_done.html", {"person": person, "accepted": False})


# ---- password reset -------------------------------------------------------------------------------------

_RESET_PROBLEMS = {
    "invalid": (
        404,
        "This password reset link is not valid",
        "The link may have been copied incompletely, or replaced by a newer one. Ask for a new link.",
    ),
    "used": (
        410,
        "This password reset link has already been used",
        "Each link works once. If you still need to change your password, ask for a new link.",
    ),
    "expired": (
        410,
        "This password reset link has expired",
        "Reset links are valid for a short time. Ask for a new link.",
    ),
    "access_revoked": (
        403,
        "Your access has been revoked",
        "Your clinic's administrator revoked your access. Contact them if you think this is a mistake.",
    ),
}


def _reset_problem(request: Request, reason: str) -> Response:
    status, title, message = _RESET_PROBLEMS[reason]
    return render(
        request,
        "link_problem.html",
        {"title": title, "message": message, "show_forgot": True},
        status_code=status,
    )


@router.get("/forgot-password")
def forgot_page(request: Request) -> Response:
    return render(request, "forgot_password.html", {"email": ""})


@router.post("/forgot-password", dependencies=[CsrfProtected])
def forgot_submit(request: Request, session: SessionDep, email: FormStr = "") -> Response:
    if not email.strip():
        return render(
            request,
            "forgot_password.html",
            {"email": "", "error": "Enter your email address."},
            status_code=400,
        )
    password_reset.request_reset(session, email, address=_address(request))
    # The same answer whether or not an account exists.
    return render(request, "forgot_sent.html", {"email": email.strip()})


@router.get("/reset-password")
def reset_page(
    request: Request, session: SessionDep, token: str | None = Query(None, max_length=200)
) -> Response:
    found = password_reset.reset_by_token(session, token)
    if found is None:
        return _reset_problem(request, "invalid")
    reason = password_reset.why_unusable(*found)
    if reason:
        return _reset_problem(request, reason)
    return render(request, "reset_password.html", {"token": token, "person": found[1]})


@router.post("/reset-password", dependencies=[CsrfProtected])
def reset_submit(
    request: Request,
    session: SessionDep,
    token: FormStr = "",
    password: Password = "",
    password_confirm: Password = "",
) -> Response:
    found = password_reset.reset_by_token(session, token)
    if found is None:
        return _reset_problem(request, "invalid")
    reset, person = found
    try:
        password_reset.complete_reset(
            session, reset, person, password=password, confirm=password_confirm, address=_address(request)
        )
    except password_reset.ResetUnusable as exc:
        return _reset_problem(request, exc.reason)
    except InvalidRequest as exc:
        return render(
            request,
            "reset_password.html",
            {"token": token, "person": person, "error": exc.message},
            status_code=400,
        )
    csrf.rotate(request)
    response = redirect(request, "/login?notice=password_reset")
    _clear_session_cookie(response)
    return response
