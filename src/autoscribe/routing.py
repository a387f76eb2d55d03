"""Every router of every domain package, mounted in one place."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from autoscribe.archive.routes import router as archive_router
from autoscribe.dicom.routes import router as dicomweb_router
from autoscribe.dictation.routes import router as scribe_router
from autoscribe.express.routes import router as express_router
from autoscribe.references.routes import router as references_router
from autoscribe.reports.routes import router as reports_router
from autoscribe.schemas import ErrorBody
from autoscribe.storage.routes import router as files_router
from autoscribe.studies.routes import router as studies_router
from autoscribe.users.routes import router as users_router
from autoscribe.viewer.routes import router as viewer_router
from autoscribe.web import errors as web_errors
from autoscribe.web.api_docs import router as api_docs_router
from autoscribe.web.dashboard import router as dashboard_router
from autoscribe.web.routes import router as web_router
from autoscribe.web.templating import STATIC_DIR
from autoscribe.workspace.routes import pages as workspace_pages
from autoscribe.workspace.routes import router as workspace_router

# Documents the one error shape (and replaces FastAPI's default 422 schema: we answer 400).
API_ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorBody, "description": "Refused; `error.param` names the offending field"},
}


def include_routers(app: FastAPI) -> None:
    # Archive routes first: /studies/external/... must not be taken for /studies/{studyId}.
    app.include_router(archive_router, responses=API_ERRORS)
    app.include_router(studies_router, responses=API_ERRORS)
    app.include_router(viewer_router, responses=API_ERRORS)
    app.include_router(reports_router, responses=API_ERRORS)
    app.include_router(references_router, responses=API_ERRORS)
    app.include_router(files_router, responses=API_ERRORS)
    app.include_router(express_router, responses=API_ERRORS)
    app.include_router(scribe_router, responses=API_ERRORS)
    app.include_router(users_router, responses=API_ERRORS)
    app.include_router(workspace_router, responses=API_ERRORS)
    app.include_router(dicomweb_router, responses=API_ERRORS)
    app.include_router(workspace_pages)
    app.include_router(web_router)
    app.include_router(api_docs_router)
    app.include_router(dashboard_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    web_errors.install(app)
