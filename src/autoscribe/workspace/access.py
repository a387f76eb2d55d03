"""Who may do what on /workspace/<study>, and the workspace's session cookies.

`study_access` finds it: a workspace session of that study (opened with a link, `links.open_link`),
or a signed-in dashboard user with canCreateReports to whom the study is assigned. Workspace
sessions never open the dashboard (their kind is not "dashboard" and their cookie is scoped to
the study's path), and stop working the moment their user's access or their API key is revoked.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from autoscribe.audit.service import Actor, record
from autoscribe.auth import permissions as perms
from autoscribe.auth.models import ApiKey, WebSession
from autoscribe.auth.sessions import SESSION_COOKIE, end_session, resolve_scoped_session, resolve_session
from autoscribe.errors import AuthenticationFailed, NotFound, PermissionDenied
from autoscribe.ids import Prefix, brand, parse
from autoscribe.reports import service as reports
from autoscribe.studies import service as studies
from autoscribe.studies.models import VIEWER, Study
from autoscribe.users import service as users
from autoscribe.users.models import User
from autoscribe.workspace.models import DICTATE, EPHEMERAL, IMAGES, VIEW, AccessLink

WORKSPACE = "workspace"  # web_sessions.kind
# Session cookies: one per study (several studies may be open in several tabs), sent to the
# workspace's paths only (the page, its JSON calls, the dictation routes under /workspace/api);
# an ephemeral session's cookie is sent to its own /ephemeral/<id> only.
STUDY_COOKIE_PATH = "/workspace"
STUDY_COOKIE_PREFIX = "as_ws_"
EPHEMERAL_COOKIE = "as_ws_ephemeral"


def study_cookie_name(study_uuid: uuid.UUID) -> str:
    return f"{STUDY_COOKIE_PREFIX}{study_uuid.hex}"


def stu(study: Study) -> str:
    return brand(Prefix.STUDY, study.id)


def study_path(study_id: str) -> str:
    return f"/workspace/{study_id}"


def ephemeral_path(link: AccessLink) -> str:
    return f"/ephemeral/{link.id.hex}"


def person_problem(session: Session, user: User, mode: str) -> str | None:
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
    if user is not None and person_problem(session, user, VIEW) is not None:
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
            session.commit()  # ended for good although this request is refused
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
