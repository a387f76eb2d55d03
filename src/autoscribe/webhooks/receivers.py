"""Which API keys receive a study's webhooks: one rule for report.delivered (the report-data
endpoint) and the calls made to the study-data endpoint."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from autoscribe.auth.models import ApiKey
from autoscribe.studies.models import Study

Endpoint = Literal["report", "study"]


def _url(key: ApiKey, endpoint: Endpoint) -> str | None:
    return key.report_webhook_url if endpoint == "report" else key.study_webhook_url


def study_receivers(session: Session, study: Study, endpoint: Endpoint) -> list[ApiKey]:
    """A study created through the API: the key that created it, when that key is active, of the
    study's clinic and has this endpoint (else nobody). A study created in the dashboard: every
    active key of the clinic with this endpoint and study scope "all" (a "self" key never sees
    such a study), oldest first."""
    if study.created_by_api_key_id is not None:
        key = session.get(ApiKey, study.created_by_api_key_id)
        if key is None or key.clinic_id != study.clinic_id or not key.is_active or not _url(key, endpoint):
            return []
        return [key]
    column = ApiKey.report_webhook_url if endpoint == "report" else ApiKey.study_webhook_url
    return list(
        session.scalars(
            select(ApiKey)
            .where(
                ApiKey.clinic_id == study.clinic_id,
                ApiKey.revoked_at.is_(None),
                column.is_not(None),
                ApiKey.study_scope == "all",
            )
            .order_by(ApiKey.created_at)
        )
    )
