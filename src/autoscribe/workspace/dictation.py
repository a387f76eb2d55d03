"""Who is dictating: the workspace session behind the scribe engine's routes (/workspace/api/...).

Those routes do not name the study in their path, so the page's script names it in the
`X-Workspace-Study` header (`AutoScribeReport.studyId`); the study's own session cookie (sent to
every /workspace path) or the dashboard session must allow editing it. A custom header also
means another site cannot make a browser send these requests (it would need CORS).
"""

from __future__ import annotations

from fastapi import Request

from autoscribe.auth.sessions import SESSION_COOKIE
from autoscribe.db import get_sessionmaker
from autoscribe.dictation import routes as scribe_routes
from autoscribe.dictation.routes import DictationContext
from autoscribe.errors import AuthenticationFailed, InvalidRequest, PermissionDenied
from autoscribe.workspace import access as workspace_access

STUDY_HEADER = "X-Workspace-Study"


def dictation_context(request: Request) -> DictationContext:
    study_id = request.headers.get(STUDY_HEADER)
    if not study_id:
        if not any(
            n == SESSION_COOKIE or n.startswith(workspace_access.STUDY_COOKIE_PREFIX) for n in request.cookies
        ):
            raise AuthenticationFailed("Open the study in the workspace to dictate")
        raise InvalidRequest(
            f"Dictation calls name the study open in the workspace in the {STUDY_HEADER} header",
            param=STUDY_HEADER,
        )
    with get_sessionmaker()() as session:
        access = workspace_access.study_access(session, study_id, request.cookies)
        if not access.can_edit or access.user is None or access.study is None:
            raise PermissionDenied("This is a view-only session: it cannot dictate")
        return DictationContext(
            clinic_id=access.study.clinic_id, user_id=access.user.id, study_id=access.study.id
        )


SCRIPT = "workspace/dictation.js"


def install(page_scripts: list[str]) -> None:
    """Make the scribe engine's routes use workspace sessions, and load the dictation script
    (microphone button, pre-sign checks) on editable workspace pages."""
    scribe_routes.CONTEXT_PROVIDER = dictation_context
    if SCRIPT not in page_scripts:
        page_scripts.append(SCRIPT)
