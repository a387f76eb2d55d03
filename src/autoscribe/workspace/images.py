"""The images of the study open in the workspace: asked of the integrator (study.access_requested,
ephemeral.access_requested) and merged with what the archive holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from autoscribe.auth.models import ApiKey
from autoscribe.dicom import viewing
from autoscribe.errors import WebhookNotConfigured
from autoscribe.webhooks import sync
from autoscribe.webhooks.receivers import study_receivers
from autoscribe.workspace.access import Access, stu, study_path


def image_key(session: Session, access: Access) -> ApiKey:
    """Who is asked for the study's images (and takes its key images): the key that minted the
    reader's link, else whoever receives the study's study-data events (`study_receivers`: the
    key that created it, or for a dashboard study the clinic's oldest "all" key)."""
    study = access.study
    assert study is not None
    minted = access.api_key
    candidates = [minted] if minted is not None else []
    candidates += study_receivers(session, study, "study")
    for key in candidates:
        if key.clinic_id == study.clinic_id and key.is_active and key.study_webhook_url:
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
        key = image_key(session, access)
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
