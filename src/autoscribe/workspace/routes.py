"""The reading workspace over HTTP.

- `router`: `POST /v1/autoScribe/ephemeral-sessions` (the reroute URLs are under /studies);
- `pages`: opening links (`/study/<studyId>?token=`, `/ephemeral?token=`), the workspace page
  `/workspace/<studyId>` and its JSON calls (images, starting the report, draft, sign, addenda),
  the ephemeral viewer.

GETs read (and audit the read); every change is a CSRF-protected PUT or POST. The page does not
start the report: its script sends `POST /workspace/<studyId>/report/start` when the reader may
edit.

The JSON calls answer errors in the API's error shape, so that the viewer and the report pane
can show the message.
"""

from __future__ import annotations

import re
from functools import lru_cache
from hashlib import sha256
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from autoscribe.audit import service as audit
from autoscribe.auth.context import ApiContextDep, SessionDep, client_address
from autoscribe.config import get_settings
from autoscribe.documents.render import report_css
from autoscribe.errors import APIError, InvalidRequest
from autoscribe.ids import Prefix, parse
from autoscribe.reports import service as reports
from autoscribe.schemas import UrlResponse
from autoscribe.web import csrf
from autoscribe.web.csrf import CsrfProtected
from autoscribe.web.deps import LoginRequired, RestrictedAccess, login_path_for
from autoscribe.web.templating import DEFAULT_CSP, redirect, render, templates
from autoscribe.workspace import access as workspace_access
from autoscribe.workspace import capture, images, links, report_pane
from autoscribe.workspace.access import Access, NoDashboardAccess, SessionMissing
from autoscribe.workspace.links import LinkProblem
from autoscribe.workspace.models import IMAGES, VIEW
from autoscribe.workspace.schemas import (
    DraftSave,
    DraftSaved,
    EphemeralSessionCreate,
    PaneOut,
    ReportSelector,
    ReportStarted,
    SignRequest,
)

router = APIRouter(tags=["ephemeral sessions"])
pages = APIRouter(include_in_schema=False)

# Extra scripts for the workspace page (paths under static/), loaded after report.js, so that
# window.AutoScribeReport exists when they run, and only when the page may edit the report: the
# microphone button and pre-sign checks (over autoscribe.dictation.routes).
PAGE_SCRIPTS: list[str] = ["workspace/dictation.js"]


# ---- public API -------------------------------------------------------------------------------------


@router.post("/v1/autoScribe/ephemeral-sessions", response_model=UrlResponse)
def create_ephemeral_session(
    body: EphemeralSessionCreate, ctx: ApiContextDep, session: SessionDep
) -> UrlResponse:
    return UrlResponse(url=links.create_ephemeral_link(session, ctx, body))


# ---- helpers ----------------------------------------------------------------------------------------


def workspace_csp() -> str:
    """The default policy, plus fetching DICOM files from the integrator's storage (any origin:
    the URLs arrive at run time) and the viewer's blob: thumbnails."""
    sources = "https:" if get_settings().public_url.lower().startswith("https://") else "http: https:"
    return DEFAULT_CSP.replace("connect-src 'self'", f"connect-src 'self' {sources}").replace(
        "img-src 'self' data:", "img-src 'self' data: blob:"
    )


@lru_cache(maxsize=1)
def report_css_version() -> str:
    return sha256(report_css().encode()).hexdigest()[:12]


def _address(request: Request) -> str | None:
    return client_address(request)


def request_access(request: Request, session: SessionDep, study_id: str) -> Access:
    """Who may do what on /workspace/<study_id> for this request (raises the API's errors: 401,
    403, 404). Other parts serving the workspace (dictation uploads) call this too, and check
    `access.can_edit` before changing anything."""
    access = workspace_access.study_access(session, study_id, request.cookies)
    csrf.bind_session(request, access.web_session.id)
    return access


_UID = re.compile(r"[0-9]+(\.[0-9]+)*")

_TITLES = {
    400: "This study cannot be opened",
    401: "Your session has ended",
    403: "You cannot open this study",
    404: "Study not found",
    409: "This study cannot be opened now",
}


def _problem_page(
    request: Request, status: int, title: str, message: str, *, sign_in: bool = False
) -> Response:
    return render(
        request,
        "workspace/problem.html",
        {"title": title, "message": message, "show_login": sign_in},
        status_code=status,
    )


def _set_cookie(response: Response, opened: links.Opened) -> None:
    response.set_cookie(
        opened.cookie_name,
        opened.cookie_value,
        max_age=opened.max_age,
        path=opened.cookie_path,
        httponly=True,
        samesite="lax",
        secure=get_settings().secure_cookies,
    )


def _pane_context(
    session: SessionDep, pane: report_pane.Pane, access: Access, study_id: str
) -> dict[str, Any]:
    assert access.study is not None
    return {
        "pane": pane,
        "study_id": study_id,
        "access": access,
        "study_priors": reports.priors_for(session, access.study),
    }


def _fragment(name: str, context: dict[str, Any]) -> str:
    return templates().env.get_template(f"workspace/{name}").render(**context)


def _pane_out(session: SessionDep, access: Access, study_id: str) -> PaneOut:
    pane = report_pane.pane(session, access)
    return PaneOut(
        html=_fragment("_report.html", {"pane": pane, "study_id": study_id, "access": access}),
        report_id=pane.report_id,
        version=pane.draft.version if pane.draft else None,
        status=pane.status,
        content=pane.content,
    )


# ---- opening links ----------------------------------------------------------------------------------


@pages.get("/study/{study_id}")
def open_study_link(request: Request, study_id: str, session: SessionDep) -> Response:
    """Reroute URLs: spend the token, set the study's session cookie, and go to the token-free address."""
    token = request.query_params.get("token")
    if token is None:
        # Without a token this is just another address of the workspace page.
        try:
            parse(Prefix.STUDY, study_id, "studyId")
        except APIError:
            return _problem_page(request, 404, _TITLES[404], f"There is no study {study_id}.")
        return redirect(request, workspace_access.study_path(study_id))
    try:
        opened = links.open_link(
            session,
            token,
            study_id=study_id,
            address=_address(request),
            user_agent=request.headers.get("user-agent"),
        )
    except LinkProblem as problem:
        return _problem_page(request, problem.status_code, problem.title, problem.message)
    response = redirect(request, opened.location)
    _set_cookie(response, opened)
    return response


@pages.get("/ephemeral")
def open_ephemeral_link(request: Request, session: SessionDep) -> Response:
    try:
        opened = links.open_link(
            session,
            request.query_params.get("token"),
            study_id=None,
            address=_address(request),
            user_agent=request.headers.get("user-agent"),
        )
    except LinkProblem as problem:
        return _problem_page(request, problem.status_code, problem.title, problem.message)
    response = redirect(request, opened.location)
    _set_cookie(response, opened)
    return response


@pages.get("/assets/report.css")
def report_stylesheet() -> Response:
    """The report's stylesheet (the PDF's), for the on-screen report."""
    return Response(report_css(), media_type="text/css", headers={"Cache-Control": "public, max-age=86400"})


# ---- the workspace page -----------------------------------------------------------------------------


@pages.get("/workspace/{study_id}")
def workspace_page(request: Request, study_id: str, session: SessionDep) -> Response:
    try:
        access = request_access(request, session, study_id)
    except SessionMissing as exc:
        if not exc.had_link_session:
            raise LoginRequired(login_path_for(request)) from None
        return _problem_page(request, 401, _TITLES[401], exc.message, sign_in=True)
    except NoDashboardAccess as exc:
        raise RestrictedAccess(exc.user) from None
    except APIError as exc:
        status = exc.status_code if exc.status_code in _TITLES else 400
        if status == 400:
            status, exc.message = 404, f"There is no study {study_id}."
        return _problem_page(request, status, _TITLES[status], exc.message)
    study = access.study
    assert study is not None
    if access.via == "dashboard":
        workspace_access.record_dashboard_open(session, access, _address(request))
    else:
        # Every load of a link session's page (the link itself was audited when it was spent).
        details = {"mode": access.mode, "via": "link"}
        audit.record_read(session, access.actor(_address(request)), study, "read.workspace", details=details)
    if access.mode == IMAGES:
        # A Viewer study: the images alone, no report pane, no dictation.
        viewer: dict[str, Any] = {
            "mode": IMAGES,
            "study_id": study_id,
            "subtitle": study.study_description,
            "severity": study.severity,
            "images_url": f"/workspace/{study_id}/images",
        }
        return render(request, "workspace/images.html", viewer, csp=workspace_csp())
    pane = report_pane.pane(session, access, with_context=True)
    context = {
        **_pane_context(session, pane, access, study_id),
        "study": study,
        "start_report": report_pane.start_due(access),
        "header": pane.header,
        "images_url": f"/workspace/{study_id}/images",
        "report_css_url": f"/assets/report.css?v={report_css_version()}",
        "view_only": access.mode == VIEW,
        "page_scripts": PAGE_SCRIPTS if access.can_edit else [],
    }
    return render(request, "workspace/page.html", context, csp=workspace_csp())


@pages.get("/workspace/{study_id}/images")
def workspace_images(request: Request, study_id: str, session: SessionDep) -> JSONResponse:
    access = request_access(request, session, study_id)
    return JSONResponse(images.study_images(session, access), headers={"Cache-Control": "no-store"})


@pages.get("/workspace/{study_id}/archive/{sop_instance_uid}")
def workspace_archived_image(
    request: Request, study_id: str, sop_instance_uid: str, session: SessionDep
) -> Response:
    """One archived image of the open study, decodable by the viewer (compressed ones transcoded)."""
    if len(sop_instance_uid) > 64 or not _UID.fullmatch(sop_instance_uid):
        raise InvalidRequest("sopInstanceUid is not a DICOM UID", param="sopInstanceUid")
    access = request_access(request, session, study_id)
    data = images.archived_instance(session, access, sop_instance_uid)
    # Private: the bytes are patient data; the browser may keep them while the study is open.
    headers = {"Cache-Control": "private, max-age=600"}
    return Response(data, media_type="application/dicom", headers=headers)


@pages.get("/workspace/{study_id}/report", response_model=PaneOut)
def workspace_report(request: Request, study_id: str, session: SessionDep) -> PaneOut:
    access = request_access(request, session, study_id)
    out = _pane_out(session, access, study_id)
    assert access.study is not None
    actor, details = access.actor(_address(request)), {"mode": access.mode, "via": access.via}
    audit.record_read(session, actor, access.study, "read.workspace_report", details=details)
    return out


@pages.post("/workspace/{study_id}/report/start", response_model=ReportStarted, dependencies=[CsrfProtected])
def start_report(request: Request, study_id: str, session: SessionDep) -> ReportStarted:
    """The page's script, when its reader may edit: open or resume the draft (clinical-context
    enrichment the first time). Answers the pane as it now is, with the clinical context and the
    priors panel; a second call answers the same draft."""
    access = request_access(request, session, study_id)
    pane = report_pane.start(session, access, _address(request))
    context = _pane_context(session, pane, access, study_id)
    assert access.study is not None
    # The answer is the report pane and the priors: a read of patient data like GET .../report.
    actor, details = access.actor(_address(request)), {"mode": access.mode, "via": access.via}
    audit.record_read(session, actor, access.study, "read.workspace_report", details=details)
    return ReportStarted(
        html=_fragment("_report.html", context),
        report_id=pane.report_id,
        version=pane.draft.version if pane.draft else None,
        status=pane.status,
        content=pane.content,
        clinical_context_html=_fragment("_clinical_context.html", context),
        priors_html=_fragment("_priors.html", context),
    )


@pages.put("/workspace/{study_id}/report/draft", response_model=DraftSaved, dependencies=[CsrfProtected])
def save_draft(request: Request, study_id: str, body: DraftSave, session: SessionDep) -> DraftSaved:
    access = request_access(request, session, study_id)
    report = report_pane.save(
        session, access, body.report_id, body.content, body.base_version, _address(request)
    )
    assert report.updated_at is not None
    return DraftSaved(
        report_id=reports.rid(report), version=report.version, saved_at=report.updated_at.isoformat()
    )


@pages.post("/workspace/{study_id}/report/sign", response_model=PaneOut, dependencies=[CsrfProtected])
def sign_report(request: Request, study_id: str, body: SignRequest, session: SessionDep) -> PaneOut:
    access = request_access(request, session, study_id)
    report_pane.sign(
        session,
        access,
        body.report_id,
        base_version=body.base_version,
        is_critical=body.is_critical,
        address=_address(request),
    )
    return _pane_out(session, access, study_id)


@pages.post("/workspace/{study_id}/report/addendum", response_model=PaneOut, dependencies=[CsrfProtected])
def open_addendum(request: Request, study_id: str, session: SessionDep) -> PaneOut:
    access = request_access(request, session, study_id)
    report_pane.open_addendum(session, access, _address(request))
    return _pane_out(session, access, study_id)


@pages.post(
    "/workspace/{study_id}/report/addendum/cancel", response_model=PaneOut, dependencies=[CsrfProtected]
)
def cancel_addendum(request: Request, study_id: str, body: ReportSelector, session: SessionDep) -> PaneOut:
    access = request_access(request, session, study_id)
    report_pane.cancel_addendum(session, access, body.report_id, _address(request))
    return _pane_out(session, access, study_id)


@pages.post(
    "/workspace/{study_id}/key-images", response_model=capture.KeyImageResult, dependencies=[CsrfProtected]
)
def save_key_image(
    request: Request, study_id: str, body: capture.KeyImageRequest, session: SessionDep
) -> capture.KeyImageResult:
    """The viewer's "Save key image": a Secondary Capture object for the integrator (capture.py)."""
    access = request_access(request, session, study_id)
    return capture.save_key_image(session, access, body, _address(request))


# ---- ephemeral sessions -----------------------------------------------------------------------------


@pages.get("/ephemeral/{link_id}")
def ephemeral_page(request: Request, link_id: str, session: SessionDep) -> Response:
    try:
        access = workspace_access.ephemeral_access(session, link_id, request.cookies)
    except SessionMissing as exc:
        return _problem_page(request, 401, "This viewing session has ended", exc.message)
    csrf.bind_session(request, access.web_session.id)
    link = access.link
    assert link is not None
    audit.record_read_of(
        session,
        access.actor(_address(request)),
        link.clinic_id,
        "read.workspace",
        target_type="ephemeral_session",
        target_id=link.id.hex,
        details={"mode": access.mode, "via": "link", "retrievalId": link.retrieval_id},
    )
    context = {
        "mode": access.mode,
        "images_url": f"/ephemeral/{link_id}/images",
        "subtitle": link.retrieval_id,
        "hanging_protocol": link.hanging_protocol,
    }
    return render(request, "workspace/images.html", context, csp=workspace_csp())


@pages.get("/ephemeral/{link_id}/images")
def ephemeral_images(request: Request, link_id: str, session: SessionDep) -> JSONResponse:
    access = workspace_access.ephemeral_access(session, link_id, request.cookies)
    return JSONResponse(images.ephemeral_images(session, access), headers={"Cache-Control": "no-store"})
