"""The emails the platform sends, rendered from templates in mail/templates/."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from autoscribe.mail.sender import OutgoingMail


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def _when(value: datetime | None) -> str:
    return value.strftime("%d %B %Y at %H:%M UTC") if value else "never"


def _render(name: str, **context: Any) -> tuple[str, str]:
    env = _env()
    return env.get_template(f"{name}.txt").render(**context), env.get_template(f"{name}.html").render(
        **context
    )


def invitation_mail(
    *,
    to: str,
    first_name: str,
    clinic_name: str,
    inviter_name: str | None,
    link: str,
    expires_at: datetime | None,
) -> OutgoingMail:
    text, html = _render(
        "invitation",
        first_name=first_name,
        clinic_name=clinic_name,
        inviter_name=inviter_name,
        link=link,
        expires=_when(expires_at) if expires_at else None,
    )
    return OutgoingMail(
        to=to, subject=f"You are invited to join {clinic_name} on AutoScribe", text=text, html=html, link=link
    )


def password_reset_mail(
    *, to: str, first_name: str, clinic_name: str, link: str, expires_at: datetime
) -> OutgoingMail:
    text, html = _render(
        "password_reset", first_name=first_name, clinic_name=clinic_name, link=link, expires=_when(expires_at)
    )
    return OutgoingMail(to=to, subject="Reset your AutoScribe password", text=text, html=html, link=link)
