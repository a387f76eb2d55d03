"""Temporary access to the reading workspace, and what a workspace session may do.

Links (reroute URLs, ephemeral-session URLs):

- minted by the API (`create_reroute_link`, `create_viewer_link`, `create_ephemeral_link`): an
  opaque random token whose SHA-256 is stored with what it is bound to (clinic, mode, API key,
  user and study, or retrievalId), valid for a short time;
- opened once (`open_link`): one conditional UPDATE (`... WHERE used_at IS NULL AND expires_at >
  now`) spends the token, so two browsers racing on one URL cannot both get in; the winner gets a
  workspace session (a `web_sessions` row of kind "workspace", bound to the same study and mode)
  and the open is audited. Reused, expired and tampered tokens raise `LinkProblem`.

Sessions: `study_access` finds who may do what on /workspace/<study> — a workspace session of
that study, or a signed-in dashboard user with canCreateReports to whom the study is assigned.
Workspace sessions never open the dashboard (their kind is not "dashboard" and their cookie is
scoped to the study's path), and stop working the moment their user's access or their API key
is revoked.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from markupsafe import Markup
from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from autoscribe.audit.service import Actor, record
from autoscribe.auth import permissions as perms
from autoscribe.auth import tokens
from autoscribe.auth.context import ApiContext
from autoscribe.auth.models import ApiKey, WebSession
from autoscribe.auth.sessions import (
    SESSION_COOKIE,
    create_session,
    end_session,
    resolve_scoped_session,
    resolve_session,
)
from autoscribe.config import get_settings
from autoscribe.context import service as enrichment
from autoscribe.db import utcnow
from autoscribe.dicom import viewing
from autoscribe.documents.model import Header, ReportDocument
from autoscribe.documents.render import render_fragment
from autoscribe.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    Unprocessable,
    WebhookNotConfigured,
)
from autoscribe.ids import Prefix, brand, parse
from autoscribe.reports import service as reports
from autoscribe.reports.models import Report
from autoscribe.reports.schemas import ReportContent
from autoscribe.studies import service as studies
from autoscribe.studies.models import VIEWER, Study
from autoscribe.studies.schemas import StudySelector
from autoscribe.studies.service import StudyScope
from autoscribe.users import service as users
from autoscribe.users.models import User
from autoscribe.webhooks import sync
from autoscribe.workspace.models import DICTATE, EPHEMERAL, IMAGES, VIEW, AccessLink
from autoscribe.workspace.schemas import (
    EphemeralSessionCreate,
    RerouteUrlRequest,
    ViewerOnlyRerouteUrlRequest,
)

WORKSPACE = "workspace"  # web_sessions.kind
# Session cookies: one per study (several studies may be open in several tabs), sent to the
# workspace's paths only (the page, its JSON calls, the dictation routes under /workspace/api);
# an ephemeral session's cookie is sent to its own /ephemeral/<id> only.
STUDY_COOKIE_PATH = "/workspace"
STUDY_COOKIE_PREFIX = "as_ws_"
EPHEMERAL_COOKIE = "as_ws_ephemeral"


def study_cookie_name(study_uuid: uuid.UUID) -> str:
    return f"{STUDY_COOKIE_PREFIX}{study_uuid.hex}"


# Unused links are deleted this long after they expire ("already used" pages need used ones,
# which their sessions keep anyway).
LINK_RETENTION = timedelta(days=2)


def stu(study: Study) -> str:
    return brand(Prefix.STUDY, study.id)


def study_path(study_id: str) -> str:
    return f"/workspace/{study_id}"


def ephemeral_path(link: AccessLink) -> str:
    return f"/ephemeral/{link.id.hex}"


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
    session.commit()
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
    session.commit()
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
    session.commit()
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
    session.commit()
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
        problem = _person_problem(session, user, link.mode)
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
    session.commit()
    max_age = int(lifetime.total_seconds())
    if study is not None:
        return Opened(
            study_cookie_name(study.id), new.token, STUDY_COOKIE_PATH, study_path(stu(study)), max_age
        )
    return Opened(EPHEMERAL_COOKIE, new.token, ephemeral_path(link), ephemeral_path(link), max_age)


def _person_problem(session: Session, user: User, mode: str) -> str | None:
    """Why this person may not use a workspace session of this mode now (None: they may)."""
    if not user.is_active:
        return "Your access to this clinic has been revoked."
    if mode != DICTATE:
        # Viewer-only links name a person for the audit only.
        return None
    if users.standing(session, user) == "lapsed":
        return "Your invitation to this clinic is no longer valid. Ask to be invited again."
    return perms.report_permission_problem(user)


# ---- who may do what --------------------------------------------------------------------------------


class SessionMissing(AuthenticationFailed):
    """No usable session for this study. `had_link_session`: a workspace cookie was sent but has
    ended (the page then says so instead of offering the dashboard sign-in)."""

    def __init__(self, message: str, *, had_link_session: bool) -> None:
        super().__init__(message)
        self.had_link_session = had_link_session


class NoDashboardAccess(PermissionDenied):
    def __init__(self, user: User) -> None:
        super().__init__("Your account does not include the dashboard; open studies from your own system")
        self.user = user


@dataclass
class Access:
    """What the current request may do in the workspace."""

    mode: str  # dictate | view | ephemeral
    via: str  # "link" | "dashboard"
    web_session: WebSession
    user: User | None
    study: Study | None
    link: AccessLink | None
    api_key: ApiKey | None  # the key that minted the link

    @property
    def can_edit(self) -> bool:
        return self.mode == DICTATE and self.user is not None

    def actor(self, address: str | None) -> Actor:
        if self.user is not None:
            return reports.user_actor(self.user, address)
        assert self.link is not None
        return Actor("api_key", str(self.link.api_key_id), address)


_ENDED = "Your session for this study has ended. Open the study again from the system that sent you here."


def _link_session(
    session: Session, cookie: str | None
) -> tuple[WebSession, User | None, AccessLink, ApiKey] | None:
    found = resolve_scoped_session(session, cookie, kind=WORKSPACE)
    if found is None:
        return None
    row, user = found
    link = session.get(AccessLink, row.access_link_id) if row.access_link_id else None
    key = session.get(ApiKey, link.api_key_id) if link else None
    if link is None or key is None or not key.is_active:
        return None
    if user is not None and _person_problem(session, user, VIEW) is not None:
        return None
    return row, user, link, key


def _link_still_covers(study: Study, row: WebSession, user: User | None) -> bool:
    """A link session shows its study only while the reason it was issued holds: the study is
    not cancelled and, for a reading link, is still assigned to the radiologist it was sent to
    (a user who lost access is already refused by _link_session)."""
    if study.is_cancelled:
        return False
    return not (row.mode == DICTATE and user is not None and study.assigned_to_user_id != user.id)


def _load_study(session: Session, clinic_id: uuid.UUID, study_uuid: uuid.UUID, study_id: str) -> Study:
    study = session.get(Study, study_uuid)
    if study is None or study.clinic_id != clinic_id or study.deleted_at is not None:
        raise NotFound(f"No study {study_id}", param="studyId")
    return study


def study_access(session: Session, study_id: str, cookies: Mapping[str, str]) -> Access:
    """The workspace session of this study (its own cookie), else a signed-in dashboard
    radiologist to whom the study is assigned. Raises SessionMissing (401), NoDashboardAccess /
    PermissionDenied (403) or NotFound (404)."""
    study_uuid = parse(Prefix.STUDY, study_id, "studyId")
    workspace_cookie = cookies.get(study_cookie_name(study_uuid))
    found = _link_session(session, workspace_cookie)
    # The row's binding decides, not the cookie's name: a value copied under another study's
    # name opens nothing.
    if found is not None and found[0].study_id == study_uuid:
        row, user, link, key = found
        study = _load_study(session, row.clinic_id, study_uuid, study_id)
        if not _link_still_covers(study, row, user):
            # Ended for good: the session does not come back if the study is reassigned back.
            end_session(session, row)
            session.commit()
            raise SessionMissing(_ENDED, had_link_session=True)
        return Access(row.mode or VIEW, "link", row, user, study, link, key)
    dashboard_cookie = cookies.get(SESSION_COOKIE)
    dash = resolve_session(session, dashboard_cookie)
    if dash is None:
        raise SessionMissing(
            _ENDED if workspace_cookie else "Sign in to open this study",
            had_link_session=bool(workspace_cookie),
        )
    row, user = dash
    if not perms.has_dashboard_access(user):
        raise NoDashboardAccess(user)
    study = _load_study(session, user.clinic_id, study_uuid, study_id)
    if study.study_type == VIEWER:
        # A Viewer study is images only: whoever sees it in the worklist may look at them.
        studies.get_study(session, studies.scope_for_user(session, user), study_id)
        return Access(IMAGES, "dashboard", row, user, study, None, None)
    problem = perms.report_permission_problem(user)
    if problem:
        raise PermissionDenied(f"{problem}, so studies cannot be opened for reading", param="studyId")
    if study.assigned_to_user_id != user.id:
        raise PermissionDenied(f"Study {study_id} is not assigned to you", param="studyId")
    return Access(DICTATE, "dashboard", row, user, study, None, None)


def ephemeral_access(session: Session, link_id: str, cookies: Mapping[str, str]) -> Access:
    workspace_cookie = cookies.get(EPHEMERAL_COOKIE)
    found = _link_session(session, workspace_cookie)
    if found is None or found[2].id.hex != link_id or found[2].mode != EPHEMERAL:
        raise SessionMissing(
            "This viewing session has ended. Open it again from the system that sent you here.",
            had_link_session=bool(workspace_cookie),
        )
    row, user, link, key = found
    return Access(EPHEMERAL, "link", row, user, None, link, key)


def record_dashboard_open(session: Session, access: Access, address: str | None) -> None:
    """Dashboard users open studies without a link: each page open is audited like a link's."""
    assert access.study is not None and access.user is not None
    record(
        session,
        clinic_id=access.study.clinic_id,
        actor=access.actor(address),
        action="workspace.opened",
        target_type="study",
        target_id=stu(access.study),
        details={"mode": access.mode, "via": "dashboard", "userId": brand(Prefix.USER, access.user.id)},
        patient=access.study,
    )
    session.commit()


# ---- images -----------------------------------------------------------------------------------------


def _image_key(session: Session, access: Access) -> ApiKey:
    """Who is asked for the images: the key that minted the link, else the key that created the
    study, else (dashboard studies) the clinic's oldest active key with scope "all"."""
    study = access.study
    assert study is not None
    candidates: list[ApiKey | None] = [access.api_key]
    if study.created_by_api_key_id is not None:
        candidates.append(session.get(ApiKey, study.created_by_api_key_id))
    if access.via == "dashboard":
        candidates += list(
            session.scalars(
                select(ApiKey)
                .where(
                    ApiKey.clinic_id == study.clinic_id,
                    ApiKey.revoked_at.is_(None),
                    ApiKey.study_scope == "all",
                    ApiKey.study_webhook_url.is_not(None),
                )
                .order_by(ApiKey.created_at)
            )
        )
    for key in candidates:
        if key is not None and key.clinic_id == study.clinic_id and key.is_active and key.study_webhook_url:
            return key
    raise WebhookNotConfigured(
        "No study data webhook (studyWebhookUrl) is configured for this study's integration, so its "
        "images cannot be requested",
        param="studyWebhookUrl",
    )


def study_images(session: Session, access: Access) -> dict[str, Any]:
    """study.access_requested, answered as the viewer expects: {authorized, urls, manifest?,
    mediaUrls?, error?}. Upstream failures raise (422/502/504) with a message for the reader."""
    study = access.study
    assert study is not None
    archived = viewing.archived_images(session, study, f"{study_path(stu(study))}/archive")
    try:
        key = _image_key(session, access)
    except WebhookNotConfigured:
        if archived is None:
            raise
        return viewing.archive_only_answer(archived)
    data = {"studyId": stu(study), "studyInstanceUid": study.study_instance_uid}
    # Nothing uncommitted may be held while the integrator answers (SQLite: one writer).
    session.commit()
    answer = sync.study_access(session, key, data).model_dump(by_alias=True, exclude_none=True)
    if archived is None or not answer.get("authorized"):
        return answer
    return viewing.merge_answer(archived, answer)


def archived_instance(session: Session, access: Access, sop_instance_uid: str) -> bytes:
    """An archived image of the study the reader has open (the viewer's URLs from study_images)."""
    assert access.study is not None
    return viewing.viewer_instance(session, access.study, sop_instance_uid)


def ephemeral_images(session: Session, access: Access) -> dict[str, Any]:
    """ephemeral.access_requested with the link's retrievalId and options (echoed verbatim)."""
    link, key = access.link, access.api_key
    assert link is not None and key is not None
    data: dict[str, Any] = {"retrievalId": link.retrieval_id}
    if link.options is not None:
        data["options"] = link.options
    session.commit()
    answer = sync.ephemeral_access(session, key, data)
    return answer.model_dump(by_alias=True, exclude_none=True)


# ---- the report pane --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedChecks:
    """The pre-sign checks recorded when a report or addendum was signed (what was signed through)."""

    label: str  # "Report" or "Addendum"
    report_id: str
    results: list[dict[str, Any]]


def signed_checks(session: Session, study: Study) -> list[SignedChecks]:
    """Signed reports of the study that recorded their checks, in signing order."""
    signed = [r for r in reports.reports_of_study(session, study) if r.status == "completed"]
    signed.sort(key=lambda r: (r.signed_at is None, r.signed_at, r.id))
    return [
        SignedChecks("Addendum" if r.is_addendum else "Report", reports.rid(r), list(r.sign_checks))
        for r in signed
        if r.sign_checks is not None
    ]


@dataclass
class Pane:
    """Everything the report pane shows (templates/workspace/_report.html)."""

    mode: str
    editable: bool
    header: Header
    draft: Report | None  # the report or addendum being written (dictate mode)
    content: dict[str, Any] | None  # its sections
    document: Markup | None  # the signed parts (dictate) or the whole report (view)
    has_signed: bool
    can_open_addendum: bool
    status: str  # the study's report status
    signer_name: str | None
    signer_npi: str | None
    problem: str | None = None  # why editing is not possible (study state)
    checks_at_signing: list[SignedChecks] = field(default_factory=list)
    # What clinical-context enrichment brought (the page only: notes, priors, documents).
    clinical_context: enrichment.PageContext | None = None

    @property
    def report_id(self) -> str | None:
        return reports.rid(self.draft) if self.draft is not None else None


def _render(doc: ReportDocument) -> Markup | None:
    return render_fragment(doc) if doc.parts else None


def pane(session: Session, access: Access, *, start: bool = False) -> Pane:
    """The report pane for this access. With start (the page opening in dictate mode) the draft
    is opened or resumed: the study goes assigned → in_progress."""
    study = access.study
    assert study is not None
    if access.mode == IMAGES:
        raise PermissionDenied("This is a Viewer session: it shows the study's images only, no report")
    problem = None
    if start and access.can_edit and study.study_report_status in ("assigned", "in_progress"):
        assert access.user is not None
        try:
            reports.start_report(session, study, access.user, actor=access.actor(None))
        except (Conflict, PermissionDenied) as exc:
            problem = exc.message
        else:
            # The first read asks the integrator's EHR for the clinical context (soft, once).
            enrichment.enrich_on_first_read(session, study, access.user)
    session.refresh(study)
    doc = reports.study_document(session, study)
    draft = reports.current_draft(session, study) if access.can_edit else None
    if draft is not None and access.user is not None and study.assigned_to_user_id != access.user.id:
        problem = f"Study {stu(study)} is now assigned to someone else"
        draft = None
    signed = replace(doc, parts=tuple(p for p in doc.parts if p.signature is not None))
    editable = access.can_edit and draft is not None and problem is None
    user = access.user
    return Pane(
        mode=access.mode,
        editable=editable,
        header=doc.header,
        draft=draft if editable else None,
        content=ReportContent.model_validate(draft.content or {}).stored() if editable and draft else None,
        document=_render(signed if access.can_edit else doc),
        has_signed=bool(signed.parts),
        can_open_addendum=access.can_edit and problem is None and study.study_report_status == "completed",
        status=study.study_report_status,
        signer_name=user.display_name if user else None,
        signer_npi=user.npi_number if user else None,
        problem=problem,
        checks_at_signing=signed_checks(session, study),
        clinical_context=enrichment.page_context(session, study, issued_for=access.actor(None).ref)
        if start
        else None,
    )


def _editable_draft(session: Session, access: Access, report_id: str) -> tuple[Report, User]:
    if not access.can_edit or access.user is None or access.study is None:
        raise PermissionDenied("This is a view-only session: the report cannot be changed from it")
    draft = reports.current_draft(session, access.study)
    if draft is None or reports.rid(draft) != report_id:
        raise Conflict(
            f"Report {report_id} is not the draft in progress any more (it was signed or discarded "
            "elsewhere); reload to see the report as it is now",
            param="reportId",
        )
    return draft, access.user


def save(
    session: Session,
    access: Access,
    report_id: str,
    content: dict[str, Any],
    base_version: int,
    address: str | None,
) -> Report:
    draft, user = _editable_draft(session, access, report_id)
    return reports.save_draft(session, draft, user, content, base_version, actor=access.actor(address))


def sign(
    session: Session,
    access: Access,
    report_id: str,
    *,
    base_version: int,
    is_critical: bool,
    address: str | None,
) -> Report:
    draft, user = _editable_draft(session, access, report_id)
    return reports.sign_report(
        session, draft, user, is_critical=is_critical, base_version=base_version, actor=access.actor(address)
    )


def open_addendum(session: Session, access: Access, address: str | None) -> Report:
    if not access.can_edit or access.user is None or access.study is None:
        raise PermissionDenied("This is a view-only session: the report cannot be changed from it")
    signed = [r for r in reports.reports_of_study(session, access.study) if r.status == "completed"]
    if not signed:
        raise Conflict("This study has no signed report to amend yet", param="reportId")
    # Any signed report names the study's addendum; the latest is the natural one to amend.
    latest = max(signed, key=lambda r: (r.signed_at is not None, r.signed_at, r.id))
    return reports.open_addendum(session, latest, access.actor(address), user=access.user)


def cancel_addendum(session: Session, access: Access, report_id: str, address: str | None) -> None:
    draft, _ = _editable_draft(session, access, report_id)
    if not draft.is_addendum:
        raise Conflict("Only an addendum can be discarded; a report in progress is signed", param="reportId")
    reports.cancel_addendum(session, draft, access.actor(address))
