"""GET /files/<key>: downloads for the local storage backend, authorized by the signed link alone.

Presigned links are bearer credentials (integrators fetch them from webhooks without an API
key), so the signature and expiry are the whole check. Errors say what is wrong with the link
without echoing it: the query string is the secret.

Every download is audited as a read of its study's data, under the identity the link was issued
for (`for`, signed with the rest: "api_key:<uuid>", or "webhook:report.delivered"), from the
downloader's address.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from autoscribe.archive.models import ExternalReport
from autoscribe.audit import service as audit
from autoscribe.auth.context import SessionDep, client_address
from autoscribe.errors import NotFound, PermissionDenied
from autoscribe.ids import Prefix
from autoscribe.storage import ObjectNotFound, get_storage
from autoscribe.storage.base import check_key
from autoscribe.storage.local import DOWNLOAD_PATH, LocalStorage, guess_type, verify
from autoscribe.studies.models import Study

router = APIRouter(tags=["files"], include_in_schema=False)


@router.get(DOWNLOAD_PATH + "{key:path}")
def download(
    request: Request,
    session: SessionDep,
    key: str,
    expires: str | None = Query(None),
    sig: str | None = Query(None),
    name: str = Query(""),
    type: str = Query(""),
    issued_for: str = Query("", alias="for"),
) -> Response:
    storage = get_storage()
    if not isinstance(storage, LocalStorage):
        raise NotFound("Files are served by the configured bucket, not by this server")
    try:
        check_key(key)
    except ValueError:
        raise NotFound("No such file") from None
    if not expires or not sig or not expires.isdigit():
        raise PermissionDenied("This download link is incomplete: it must carry expires and sig")
    if not verify(key, int(expires), name, type, sig, issued_for):
        raise PermissionDenied("This download link is not valid: its signature does not match")
    if int(expires) < time.time():
        when = datetime.fromtimestamp(int(expires), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        raise PermissionDenied(f"This download link expired at {when}; request a new one")
    try:
        data = storage.get(key)
    except ObjectNotFound:
        raise NotFound("No such file") from None
    _audit_download(session, key, issued_for, client_address(request))
    headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
    if name:
        headers["Content-Disposition"] = f'inline; filename="{name}"'
    return Response(data, media_type=type or guess_type(key), headers=headers)


def _audit_download(session: Session, key: str, issued_for: str, address: str | None) -> None:
    actor = audit.Actor.from_ref(issued_for, address) or audit.Actor("link", issued_for[:64] or None, address)
    details = {"file": key.rsplit("/", 1)[-1][:200], "via": "download_link"}
    study = _study_of_file(session, key)
    if study is not None:
        audit.record_read(session, actor, study, "read.file", details=details)
        return
    clinic_id = _uuid(key.split("/")[1]) if key.count("/") >= 1 else None
    if clinic_id is not None:  # a file of no study (none today): still audited, in its clinic's log
        audit.record_read_of(
            session, actor, clinic_id, "read.file", target_type="file", target_id=key[-64:], details=details
        )


def _study_of_file(session: Session, key: str) -> Study | None:
    """The study a stored file belongs to, from its key: `reports/<clinic>/<study>/<rep_>.pdf`
    (reports.pdf.pdf_key_of) or `external-reports/<clinic>/<ext_>.<ext>` (archive.service)."""
    parts = key.split("/")
    clinic_id = _uuid(parts[1]) if len(parts) >= 3 else None
    if clinic_id is None:
        return None
    study_id: uuid.UUID | None = None
    if parts[0] == "reports" and len(parts) == 4:
        study_id = _uuid(parts[2])
    elif parts[0] == "external-reports" and len(parts) == 3:
        report_id = _uuid(parts[2].split(".", 1)[0].removeprefix(f"{Prefix.EXTERNAL_REPORT.value}_"))
        report = session.get(ExternalReport, report_id) if report_id else None
        study_id = report.study_id if report is not None else None
    study = session.get(Study, study_id) if study_id else None
    return study if study is not None and study.clinic_id == clinic_id else None


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(hex=value) if len(value) == 32 else None
    except ValueError:
        return None
