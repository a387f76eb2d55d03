"""Temporary access links to the reading workspace (reroute URLs, ephemeral-session URLs).

- minted by the API (`create_reroute_link`, `create_viewer_link`, `create_images_link`,
  `create_ephemeral_link`): an opaque random token whose SHA-256 is stored with what it is bound
  to (clinic, mode, API key, user and study, or retrievalId), valid for a short time;
- opened once (`open_link`): one conditional UPDATE (`... WHERE used_at IS NULL AND expires_at >
  now`) spends the token, so two browsers racing on one URL cannot both get in; the winner gets a
  workspace session (a `web_sessions` row of kind "workspace", bound to the same study and mode)
  and the open is audited. Reused, expired and tampered tokens raise `LinkProblem`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, exists, update
from sqlalchemy.orm import Session

from autoscribe.audit.service import Actor, record
from autoscribe.auth import permissions as perms
from autoscribe.auth import tokens
from autoscribe.auth.context import ApiContext
from autoscribe.auth.models import ApiKey, WebSession
from autoscribe.auth.sessions import create_session
from autoscribe.config import get_settings
from autoscribe.db import utcnow
from autoscribe.errors import Conflict, Unprocessable
from autoscribe.ids import Prefix, brand
from autoscribe.reports import service as reports
from autoscribe.studies import service as studies
from autoscribe.studies.models import Study
from autoscribe.studies.schemas import StudySelector
from autoscribe.studies.service import StudyScope
from autoscribe.users import service as users
from autoscribe.users.models import User
from autoscribe.webhooks import sync
from autoscribe.workspace.access import (
    EPHEMERAL_COOKIE,
    STUDY_COOKIE_PATH,
    WORKSPACE,
    ephemeral_path,
    person_problem,
    stu,
    study_cookie_name,
    study_path,
)
from autoscribe.workspace.models import DICTATE, EPHEMERAL, IMAGES, VIEW, AccessLink
from autoscribe.workspace.schemas import (
    EphemeralSessionCreate,
    RerouteUrlRequest,
    ViewerOnlyRerouteUrlRequest,
)

# Unused links are deleted this long after they expire ("already used" pages need used ones,
# which their sessions keep anyway).
LINK_RETENTION = timedelta(days=2)


# ---- minting (public API) ---------------------------------------------------------------------------


def _mint(
    session: Session,
    ctx: ApiContext,
    *,
    mode: str,
    ttl_seconds: float,
    user: User | None = None,
    study: Study | None = None,
    retrieval_id: str | None = None,
    hanging_protocol: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
) -> tuple[AccessLink, str]:
    now = utcnow()
    session.execute(
        delete(AccessLink).where(
            AccessLink.clinic_id == ctx.clinic_id,
            AccessLink.expires_at < now - LINK_RETENTION,
            ~exists().where(WebSession.access_link_id == AccessLink.id),
        )
    )
    token, token_hash = tokens.new_token()
    link = AccessLink(
        token_hash=token_hash,
        clinic_id=ctx.clinic_id,
        mode=mode,
        api_key_id=ctx.api_key.id,
        user_id=user.id if user else None,
        study_id=study.id if study else None,
        retrieval_id=retrieval_id,
        hanging_protocol=hanging_protocol,
        options=options,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )
    session.add(link)
    session.flush()
    details: dict[str, Any] = {"mode": mode, "expiresAt": link.expires_at.isoformat()}
    if user is not None:
        details["userId"] = brand(Prefix.USER, user.id)
    if retrieval_id is not None:
        details["retrievalId"] = retrieval_id
    record(
        session,
        clinic_id=ctx.clinic_id,
        actor=ctx.actor,
        action="workspace.link_created",
        target_type="study" if study else "ephemeral_session",
        target_id=stu(study) if study else link.id.hex,
        details=details,
    )
    return link, token


def _openable(study: Study, *, dictate: bool) -> None:
    if study.is_cancelled:
        raise Conflict(
            f"Study {stu(study)} is cancelled; uncancel it before opening it in the workspace",
            param="studyId",
        )
    if dictate and study.study_type != "standard":
        raise Conflict(
            f"Study {stu(study)} is an archive study: it has no report to dictate "
            "(use viewer-only-reroute-url to show it)",
            param="studyId",
        )


def create_reroute_link(session: Session, ctx: ApiContext, scope: StudyScope, body: RerouteUrlRequest) -> str:
    """reroute-url: assign the study to the radiologist and mint their one-time workspace link."""
    study = studies.select_study(session, scope, body.study_id, body.study_instance_uid)
    _openable(study, dictate=True)
    user = studies.assign(session, study, body.assigned_to_user_id, ctx.actor, param="assignedToUserId")
    _, token = _mint(
        session,
        ctx,
        mode=DICTATE,
        ttl_seconds=get_settings().reroute_token_ttl_seconds,
        user=user,
        study=study,
    )
    url = f"{get_settings().public_url_base}/study/{stu(study)}?token={token}"
    return url


def create_viewer_link(
    session: Session, ctx: ApiContext, scope: StudyScope, body: ViewerOnlyRerouteUrlRequest
) -> str:
    """viewer-only-reroute-url: images and the report, read-only; userId only names who for the audit."""
    perms.require_viewer(ctx, "create viewer-only URLs")
    study = studies.select_study(session, scope, body.study_id, body.study_instance_uid)
    _openable(study, dictate=False)
    user = None
    if body.user_id is not None:
        user = users.get_user(session, ctx.clinic_id, body.user_id, "userId")
        if not user.is_active:
            raise Unprocessable(f"User {body.user_id} has had their access revoked", param="userId")
    _, token = _mint(
        session, ctx, mode=VIEW, ttl_seconds=get_settings().reroute_token_ttl_seconds, user=user, study=study
    )
    url = f"{get_settings().public_url_base}/study/{stu(study)}?token={token}"
    return url


def create_images_link(session: Session, ctx: ApiContext, scope: StudyScope, body: StudySelector) -> str:
    """The Viewer's reroute-url: a one-time link to the study's images alone (no report pane, no
    dictation), for no one in particular (the Viewer's reroute-url names no user)."""
    study = studies.select_study(session, scope, body.study_id, body.study_instance_uid)
    _openable(study, dictate=False)
    _, token = _mint(
        session, ctx, mode=IMAGES, ttl_seconds=get_settings().reroute_token_ttl_seconds, study=study
    )
    url = f"{get_settings().public_url_base}/study/{stu(study)}?token={token}"
    return url


def create_ephemeral_link(session: Session, ctx: ApiContext, body: EphemeralSessionCreate) -> str:
    """ephemeral-sessions (reference 4.2): a 30-second landing URL for a viewer on retrievalId."""
    # The images come from ephemeral.access_requested: without a study webhook there is nothing to show.
    sync.require_endpoint(ctx.api_key, "ephemeral.access_requested")
    _, token = _mint(
        session,
        ctx,
        mode=EPHEMERAL,
        ttl_seconds=get_settings().ephemeral_token_ttl_seconds,
        retrieval_id=body.retrieval_id,
        hanging_protocol=body.hanging_protocol.model_dump(by_alias=True) if body.hanging_protocol else None,
        options=body.options,
    )
    url = f"{get_settings().public_url_base}/ephemeral?token={token}"
    return url


# ---- opening a link ---------------------------------------------------------------------------------


class LinkProblem(Exception):
    """A link that cannot be opened: shown as a page with this status, title and explanation."""

    def __init__(self, status_code: int, title: str, message: str) -> None:
        super().__init__(title)
        self.status_code = status_code
        self.title = title
        self.message = message


_ASK_AGAIN = "Open the study again from the system that sent you here to get a new link."


def _invalid() -> LinkProblem:
    return LinkProblem(
        404,
        "This link is not valid",
        "The address is incomplete or has been altered. Links must be opened exactly as they were "
        f"given. {_ASK_AGAIN}",
    )


@dataclass(frozen=True)
class Opened:
    cookie_name: str
    cookie_value: str
    cookie_path: str
    location: str  # where the browser goes next (token-free)
    max_age: int


def open_link(
    session: Session,
    token: str | None,
    *,
    study_id: str | None,
    address: str | None,
    user_agent: str | None,
) -> Opened:
    """Spend a link token (once) for a workspace session. study_id is the study named in the
    address (/study/<studyId>), None for /ephemeral."""
    link = tokens.find(session, AccessLink, token)
    if link is None:
        raise _invalid()
    if study_id is None:
        if link.mode != EPHEMERAL:
            raise _invalid()
    elif link.mode == EPHEMERAL or link.study_id is None or brand(Prefix.STUDY, link.study_id) != study_id:
        raise _invalid()
    now = utcnow()
    if link.used_at is not None:
        raise LinkProblem(
            410,
            "This link has already been used",
            f"Each link opens the workspace once, and this one was opened before. {_ASK_AGAIN}",
        )
    if link.expires_at <= now:
        raise LinkProblem(
            410,
            "This link has expired",
            f"Links work for a few minutes only, and this one is too old now. {_ASK_AGAIN}",
        )
    key = session.get(ApiKey, link.api_key_id)
    if key is None or not key.is_active:
        raise LinkProblem(
            403,
            "This link can no longer be used",
            "The integration that created it has been switched off. Ask your administrator.",
        )
    user = session.get(User, link.user_id) if link.user_id else None
    if user is not None:
        problem = person_problem(session, user, link.mode)
        if problem:
            raise LinkProblem(403, "You cannot open this study", problem)
    study = session.get(Study, link.study_id) if link.study_id else None
    if study is not None and (study.is_cancelled or study.deleted_at is not None):
        raise LinkProblem(
            409, "This study is no longer available", "It was cancelled after the link was created."
        )
    spent = session.execute(
        update(AccessLink)
        .where(AccessLink.id == link.id, AccessLink.used_at.is_(None), AccessLink.expires_at > now)
        .values(used_at=now, used_address=address)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        # Someone opened it in the very same moment: the token is theirs.
        session.rollback()
        raise LinkProblem(
            410,
            "This link has already been used",
            f"Each link opens the workspace once, and this one was opened before. {_ASK_AGAIN}",
        )
    lifetime = timedelta(hours=get_settings().session_max_hours)
    new = create_session(
        session,
        user,
        kind=WORKSPACE,
        lifetime=lifetime,
        study_id=link.study_id,
        mode=link.mode,
        address=address,
        user_agent=user_agent,
        clinic_id=link.clinic_id,
        access_link_id=link.id,
    )
    details: dict[str, Any] = {"mode": link.mode, "via": "link", "apiKeyId": str(link.api_key_id)}
    if user is not None:
        details["userId"] = brand(Prefix.USER, user.id)
    if link.retrieval_id is not None:
        details["retrievalId"] = link.retrieval_id
    record(
        session,
        clinic_id=link.clinic_id,
        actor=reports.user_actor(user, address) if user else Actor("api_key", str(link.api_key_id), address),
        action="workspace.opened",
        target_type="study" if study else "ephemeral_session",
        target_id=stu(study) if study else link.id.hex,
        details=details,
        patient=study,
    )
    max_age = int(lifetime.total_seconds())
    if study is not None:
        return Opened(
            study_cookie_name(study.id), new.token, STUDY_COOKIE_PATH, study_path(stu(study)), max_age
        )
    return Opened(EPHEMERAL_COOKIE, new.token, ephemeral_path(link), ephemeral_path(link), max_age)
