"""The Jinja2 environment and the one way pages are rendered (security headers, CSRF cookie,
the signed-in user and their sidebar in every template)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from autoscribe.auth import crypto
from autoscribe.auth.permissions import sidebar_entries
from autoscribe.config import get_settings
from autoscribe.db import utcnow
from autoscribe.web import csrf

WEB_DIR = Path(__file__).parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

# Pages load only their own scripts and styles. Pages that need more (the workspace's viewer)
# pass their own policy to render().
DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # One-time tokens travel in link query strings: never pass them on to another site.
    # ("no-referrer" would also make browsers send `Origin: null` on our own form posts.)
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@lru_cache(maxsize=256)
def _static_version(path: str) -> str:
    file = STATIC_DIR / path
    try:
        return hashlib.sha256(file.read_bytes()).hexdigest()[:12]
    except OSError:
        return "0"


def static_url(path: str) -> str:
    """/static/<path>?v=<content hash>, so that browsers may cache files until they change."""
    return f"/static/{path}?v={_static_version(path)}"


def format_time(value: datetime | None) -> str:
    """Dashboard times are UTC, said so once per value: 2026-05-30 14:02 UTC."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def time_ago(value: datetime | None) -> str:
    """ "3 min ago", "in 5 min": next to exact times in lists."""
    if value is None:
        return ""
    seconds = (utcnow() - value).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 45:
        text = "a few seconds"
    elif seconds < 3600:
        text = f"{max(1, round(seconds / 60))} min"
    elif seconds < 86400:
        hours = round(seconds / 3600)
        text = f"{hours} hour{'s' if hours != 1 else ''}"
    else:
        days = round(seconds / 86400)
        text = f"{days} day{'s' if days != 1 else ''}"
    return f"in {text}" if future else f"{text} ago"


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    engine = Jinja2Templates(directory=str(TEMPLATES_DIR))
    engine.env.globals["static_url"] = static_url
    engine.env.globals["app_name"] = "AutoScribe"
    engine.env.filters["when"] = format_time
    engine.env.filters["ago"] = time_ago
    return engine


# ---- one-time messages across a redirect ("Endpoints saved") --------------------------------------

FLASH_COOKIE = "as_flash"


def _flash_signature(raw: bytes) -> str:
    return crypto.sign(raw, "flash")[:32]


def flash(response: Response, message: str) -> Response:
    """Show `message` once on the next page this browser renders (a signed, short-lived cookie)."""
    raw = message.encode("utf-8")[:500]
    value = base64.urlsafe_b64encode(raw).decode().rstrip("=") + "." + _flash_signature(raw)
    response.set_cookie(
        FLASH_COOKIE,
        value,
        max_age=120,
        httponly=True,
        samesite="lax",
        secure=get_settings().secure_cookies,
        path="/",
    )
    return response


def _read_flash(request: Request) -> str | None:
    value = request.cookies.get(FLASH_COOKIE)
    if not value or "." not in value or len(value) > 1000:
        return None
    encoded, _, signature = value.rpartition(".")
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        return None
    if not hmac.compare_digest(_flash_signature(raw), signature):
        return None
    return raw.decode("utf-8", errors="replace")


def in_modal(request: Request) -> bool:
    """An htmx request for the dialog (base.html's #modal-body): answer with the fragment only."""
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "modal-body"


def secure_headers(response: Response, csp: str = DEFAULT_CSP) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Content-Security-Policy", csp)
    return response


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    csp: str = DEFAULT_CSP,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page. The context gets `csrf_token`, `user` (the signed-in User or None),
    `sidebar` (the entries that user may see) and `active` (the current sidebar key)."""
    ctx: dict[str, Any] = {"active": None, "user": None, "clinic_name": None}
    web_user = getattr(request.state, "web_user", None)
    if web_user is not None:
        ctx["user"] = web_user.user
        ctx["clinic_name"] = web_user.clinic_name
    ctx["partial"] = in_modal(request)
    # A one-time message is shown by full pages only (not by fragments htmx fetches meanwhile).
    show_flash = not request.headers.get("hx-request") and FLASH_COOKIE in request.cookies
    ctx["flash"] = _read_flash(request) if show_flash else None
    ctx.update(context or {})
    ctx["csrf_token"] = csrf.csrf_token(request)
    ctx["sidebar"] = sidebar_entries(ctx["user"]) if ctx["user"] is not None else []
    response = templates().TemplateResponse(request, name, ctx, status_code=status_code, headers=headers)
    if show_flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    csrf.set_cookie_if_needed(request, response)
    secure_headers(response, csp)
    return response


def redirect(request: Request, url: str, status_code: int = 303) -> RedirectResponse:
    response = RedirectResponse(url, status_code=status_code)
    csrf.set_cookie_if_needed(request, response)
    secure_headers(response)
    return response


def safe_next(value: str | None, default: str = "/") -> str:
    """Only same-site paths: never redirect a signed-in user to another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 2000:
        return default
    if any(ord(ch) < 32 for ch in value):
        return default
    return value
