"""The dashboard's pages: API Config, worklist, users, Express customers, deliveries, audit log."""

from __future__ import annotations

from fastapi import APIRouter

from autoscribe.web.dashboard import (
    api_config,
    audit_pages,
    deliveries,
    dicom_settings,
    express_pages,
    home,
    people,
    study_reports,
    templates_pages,
    worklist,
)

router = APIRouter(include_in_schema=False)
router.include_router(home.router)
router.include_router(api_config.router)
router.include_router(worklist.router)
router.include_router(study_reports.router)
router.include_router(people.router)
router.include_router(express_pages.router)
router.include_router(deliveries.router)
router.include_router(audit_pages.router)
router.include_router(templates_pages.router)
router.include_router(dicom_settings.router)
