"""CSRF protection for every state-changing form and htmx request.

Signed double-submit: each browser gets a random `as_csrf` cookie (HttpOnly, SameSite=Lax); the
token a page embeds is an HMAC of that cookie under the deployment's secret key, so another site
can neither read nor forge it. Forms send it as the hidden field `csrf_token`; htmx sends it as
the `X-CSRF-Token` header (base.html sets `hx-headers` on <body>). The cookie is replaced at sign-in
and sign-out, so a token from before never outlives the session it was shown in. Requests whose
Origin header names another site are refused too.

Tokens are also bound to the session the page was shown in (dashboard or workspace): the token is
`<session id>.<HMAC of cookie and session id>`, and a state-changing request whose route resolves
a different session (`bind_session`) is refused. So a CSRF cookie planted from a sibling domain,
with a token its planter obtained for it, is useless against someone else's session.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response

from autoscribe.auth import crypto
from autoscribe.config import get_settings

CSRF_COOKIE = "as_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class CsrfFailed(Exception):
    """A state-changing request without a valid token: answered with a 403 page."""


def _cookie_value(request: Request) -> str:
    """This browser's CSRF cookie, minting one (sent with the response by `render`) if missing."""
    value = getattr(request.state, "csrf_cookie", None)
    if value:
        return str(value)
    value = request.cookies.get(CSRF_COOKIE)
    if not value or len(value) > 100:
        value = secrets.token_urlsafe(32)
        request.state.csrf_cookie_new = True
    request.state.csrf_cookie = value
    return value


def _mac(cookie: str, session_id: str) -> str:
    return crypto.sign(f"{cookie}|{session_id}".encode(), "csrf")


def csrf_token(request: Request) -> str:
    """The token to embed in this page's forms (hidden field) and htmx headers: bound to this
    browser's CSRF cookie and to the session this request resolved (none on sign-in pages)."""
    session_id = getattr(request.state, "csrf_session", "")
    return f"{session_id}.{_mac(_cookie_value(request), session_id)}"


def bind_session(request: Request, session_id: uuid.UUID) -> None:
    """Called wherever a request resolves its dashboard or workspace session. Pages rendered
    from here on carry tokens for that session; a state-changing request whose token was issued
    for another session (or for none) is refused."""
    bound = session_id.hex
    request.state.csrf_session = bound
    claimed = getattr(request.state, "csrf_claimed_session", None)
    if claimed is not None and not hmac.compare_digest(claimed, bound):
        raise CsrfFailed("session")


def rotate(request: Request) -> None:
    """New cookie (and so new tokens) from this response on: at sign-in and sign-out."""
    request.state.csrf_cookie = secrets.token_urlsafe(32)
    request.state.csrf_cookie_new = True


def set_cookie_if_needed(request: Request, response: Response) -> None:
    if getattr(request.state, "csrf_cookie_new", False):
        response.set_cookie(
            CSRF_COOKIE,
            request.state.csrf_cookie,
            httponly=True,
            samesite="lax",
            secure=get_settings().secure_cookies,
            path="/",
        )


def _origin_allowed(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        # Older browsers, non-browser clients, and privacy settings that hide the origin ("null"):
        # the token still has to match.
        return True
    public = urlsplit(get_settings().public_url)
    allowed = {f"{public.scheme}://{public.netloc}".lower()}
    host = request.headers.get("host")
    if host:
        allowed.add(f"{request.url.scheme}://{host}".lower())
    return origin.lower().rstrip("/") in allowed


async def verify_csrf(request: Request) -> None:
    """FastAPI dependency for state-changing web routes."""
    if request.method in SAFE_METHODS:
        return
    if not _origin_allowed(request):
        raise CsrfFailed("origin")
    cookie = request.cookies.get(CSRF_COOKIE)
    submitted = request.headers.get(CSRF_HEADER)
    if not submitted:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            submitted = value if isinstance(value, str) else None
    if not cookie or not submitted:
        raise CsrfFailed("missing")
    session_id, _, mac = submitted.rpartition(".")
    if not hmac.compare_digest(_mac(cookie, session_id), mac):
        raise CsrfFailed("mismatch")
    # Which session the token belongs to is checked when the route resolves its session
    # (at once if a dependency already did).
    request.state.csrf_claimed_session = session_id
    bound = getattr(request.state, "csrf_session", None)
    if bound is not None and not hmac.compare_digest(session_id, bound):
        raise CsrfFailed("session")


CsrfProtected = Depends(verify_csrf)
