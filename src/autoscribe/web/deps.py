"""Who is signed in, for web pages. Reusable FastAPI dependencies:

- ``CurrentUser``: the signed-in ``WebUser`` or None (from the session cookie);
- ``DashboardUser``: a signed-in user with dashboard access (otherwise: to the sign-in page, or
  the "restricted access" page);
- ``require_permission(rule)``: a DashboardUser for whom ``rule(user)`` from
  ``autoscribe.auth.permissions`` holds (otherwise a 403 page), e.g.
  ``Annotated[WebUser, Depends(require_permission(perms.can_manage_users))]``;
- ``CsrfProtected`` (from ``autoscribe.web.csrf``) on every state-changing route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from autoscribe.auth import permissions as perms
from autoscribe.auth.context import SessionDep
from autoscribe.auth.models import WebSession
from autoscribe.auth.sessions import SESSION_COOKIE, resolve_session
from autoscribe.clinics.models import Clinic
from autoscribe.users.models import User
from autoscribe.web import csrf


@dataclass(frozen=True)
class WebUser:
    user: User
    session: WebSession
    clinic_name: str


class LoginRequired(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class RestrictedAccess(Exception):
    def __init__(self, user: User) -> None:
        super().__init__("restricted")
        self.user = user


class PageError(Exception):
    """Shown as a page with a title and an explanation (never a stack trace)."""

    def __init__(self, status_code: int, title: str, message: str) -> None:
        super().__init__(title)
        self.status_code = status_code
        self.title = title
        self.message = message


def current_user(request: Request, session: SessionDep) -> WebUser | None:
    if hasattr(request.state, "web_user"):
        cached: WebUser | None = request.state.web_user
        return cached
    found = resolve_session(session, request.cookies.get(SESSION_COOKIE))
    web_user = None
    if found is not None:
        row, user = found
        csrf.bind_session(request, row.id)
        clinic = session.get(Clinic, user.clinic_id)
        web_user = WebUser(user=user, session=row, clinic_name=clinic.name if clinic else "")
    request.state.web_user = web_user
    return web_user


CurrentUser = Annotated[WebUser | None, Depends(current_user)]


def login_path_for(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login" if target == "/" else f"/login?next={quote(target, safe='')}"


def require_dashboard_user(request: Request, web_user: CurrentUser) -> WebUser:
    if web_user is None:
        raise LoginRequired(login_path_for(request))
    if not perms.has_dashboard_access(web_user.user):
        raise RestrictedAccess(web_user.user)
    return web_user


DashboardUser = Annotated[WebUser, Depends(require_dashboard_user)]


def require_permission(rule: Callable[[User], bool]) -> Callable[[WebUser], WebUser]:
    def dependency(web_user: DashboardUser) -> WebUser:
        if not rule(web_user.user):
            raise PageError(
                403,
                "You do not have access to this page",
                "Your account does not include this part of the dashboard. "
                "Ask your clinic's owner or an administrator if you need it.",
            )
        return web_user

    return dependency
