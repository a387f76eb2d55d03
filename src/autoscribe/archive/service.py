"""External (archive) studies and their reports: imported so they can serve as priors.

Rules (reference 4.4): creating a study with report fields creates its report in the same
transaction, including the file download (all or nothing); reportText and the file are
write-once; readerName and signedAt are overwritten by later report creates that send them;
deleting an external study is one-way (it disappears from the API and frees its UID).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autoscribe.archive.fetch import FetchedFile, fetch_file, file_type_for_name
from autoscribe.archive.models import ExternalReport
from autoscribe.archive.schemas import (
    ExternalReportCreate,
    ExternalReportListItem,
    ExternalReportOut,
    ExternalStudyCreate,
    _ReportFields,
)
from autoscribe.audit.service import Actor, record
from autoscribe.db import on_rollback, utcnow
from autoscribe.errors import Conflict, InvalidRequest, NotFound
from autoscribe.express.service import usable_customer
from autoscribe.ids import Prefix, brand, new_id, parse
from autoscribe.pagination import Page, paginate
from autoscribe.storage import get_storage
from autoscribe.studies.models import Study
from autoscribe.studies.service import Creator, StudyScope, reload, select_study

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_name(name: str) -> str:
    cleaned = _UNSAFE.sub("_", name).strip("._") or "report"
    return cleaned[:120]


@dataclass
class _StoredFile:
    key: str
    name: str
    content_type: str
    size: int


def _fetch_and_store(clinic_id: uuid.UUID, report_id: uuid.UUID, fields: _ReportFields) -> _StoredFile | None:
    if not fields.report_file_url:
        return None
    assert fields.report_file_name is not None  # schema: required with the URL
    file_type_for_name(fields.report_file_name)
    fetched: FetchedFile = fetch_file(fields.report_file_url, fields.report_file_name)
    name = _safe_name(fields.report_file_name)
    ext = name.rsplit(".", 1)[-1].lower()
    key = f"external-reports/{clinic_id.hex}/{brand(Prefix.EXTERNAL_REPORT, report_id)}.{ext}"
    get_storage().put(key, fetched.data, content_type=fetched.content_type)
    return _StoredFile(key, name, fetched.content_type, len(fetched.data))


def _discard(stored: _StoredFile | None) -> None:
    if stored is not None:
        get_storage().delete(stored.key)


def _discard_unless_kept(session: Session, stored: _StoredFile | None) -> None:
    """A stored report file goes again if the rows pointing to it are not committed: on a failure
    here, or when the caller's transaction fails after this service returned."""
    if stored is not None:
        on_rollback(session, lambda: _discard(stored))


def _require_external(study: Study) -> None:
    if study.study_type != "external":
        raise Conflict(
            f"Study {brand(Prefix.STUDY, study.id)} is a standard study; this endpoint is for "
            "external (archive) studies",
            param="studyId",
        )


def create_external_study(
    session: Session, scope: StudyScope, body: ExternalStudyCreate, creator: Creator
) -> Study:
    uid_taken = session.scalars(
        select(Study.id).where(
            Study.clinic_id == scope.clinic_id,
            Study.study_instance_uid == body.study_instance_uid,
            Study.deleted_at.is_(None),
        )
    ).first()
    if uid_taken:
        raise Conflict(
            f"A study with studyInstanceUid {body.study_instance_uid} already exists in this clinic",
            param="studyInstanceUid",
        )
    customer = (
        usable_customer(session, scope.clinic_id, body.express_customer_id, "expressCustomerId")
        if body.express_customer_id
        else None
    )
    report_id = new_id()
    # The download comes first: if it fails, nothing was written.
    stored = _fetch_and_store(scope.clinic_id, report_id, body) if body.has_report() else None
    _discard_unless_kept(session, stored)
    try:
        study = Study(
            clinic_id=scope.clinic_id,
            study_instance_uid=body.study_instance_uid,
            study_description=body.study_description,
            severity=body.severity,
            study_type="external",
            study_report_status="completed" if body.has_report() else "unassigned",
            express_customer_id=customer.id if customer else None,
            created_by_api_key_id=creator.api_key_id,
            created_by_user_id=creator.user_id,
            report_metadata={k: v for k, v in body.report_metadata.as_stored().items() if v is not None},
            custom_metadata=body.metadata,
            modality=body.modality,
            external_patient_id=body.external_patient_id,
        )
        session.add(study)
        session.flush()
        if body.has_report():
            session.add(
                ExternalReport(
                    id=report_id,
                    clinic_id=scope.clinic_id,
                    study_id=study.id,
                    reader_name=body.reader_name,
                    signed_at=body.signed_at,
                    report_text=body.report_text,
                    file_key=stored.key if stored else None,
                    file_name=stored.name if stored else None,
                    file_content_type=stored.content_type if stored else None,
                    file_size=stored.size if stored else None,
                )
            )
            session.flush()
        record(
            session,
            clinic_id=scope.clinic_id,
            actor=creator.actor,
            action="study.external_created",
            target_type="study",
            target_id=brand(Prefix.STUDY, study.id),
            details={"report": body.has_report(), "file": stored is not None},
        )
        session.flush()
    except IntegrityError:
        session.rollback()  # which discards the stored file
        raise Conflict(
            f"A study with studyInstanceUid {body.study_instance_uid} already exists in this clinic",
            param="studyInstanceUid",
        ) from None
    except BaseException:
        session.rollback()  # which discards the stored file
        raise
    return reload(session, study)


def delete_external_study(session: Session, study: Study, actor: Actor) -> None:
    _require_external(study)
    study.deleted_at = utcnow()
    study.updated_at = utcnow()
    record(
        session,
        clinic_id=study.clinic_id,
        actor=actor,
        action="study.external_deleted",
        target_type="study",
        target_id=brand(Prefix.STUDY, study.id),
    )


def add_external_report(
    session: Session, scope: StudyScope, body: ExternalReportCreate, actor: Actor
) -> tuple[ExternalReport, Study]:
    study = select_study(session, scope, body.study_id, body.study_instance_uid)
    _require_external(study)
    if not body.has_report():
        raise InvalidRequest(
            "Give at least one of reportText, reportFileUrl, readerName, signedAt", param="reportText"
        )
    existing = session.scalars(select(ExternalReport).where(ExternalReport.study_id == study.id)).first()
    if existing is not None:
        if body.report_text is not None and existing.report_text not in (None, body.report_text):
            raise Conflict(
                "reportText is write-once and this report already has one; delete the study and "
                "create it again to change it",
                param="reportText",
            )
        if body.report_file_url is not None and existing.file_key is not None:
            raise Conflict(
                "The report file is write-once and this report already has one; delete the study and "
                "create it again to change it",
                param="reportFileUrl",
            )
    report_id = existing.id if existing else new_id()
    stored = _fetch_and_store(study.clinic_id, report_id, body)
    _discard_unless_kept(session, stored)
    try:
        if existing is None:
            report = ExternalReport(
                id=report_id,
                clinic_id=study.clinic_id,
                study_id=study.id,
                reader_name=body.reader_name,
                signed_at=body.signed_at,
                report_text=body.report_text,
            )
            session.add(report)
            session.flush()
        else:
            report = existing
            values: dict[str, object] = {"updated_at": utcnow()}
            if body.reader_name is not None:
                values["reader_name"] = body.reader_name
            if body.signed_at is not None:
                values["signed_at"] = body.signed_at
            session.execute(
                update(ExternalReport)
                .where(ExternalReport.id == report.id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            # Write-once fields are set only where still empty, atomically: of two concurrent
            # creates, one wins and the other is told so.
            if body.report_text is not None and report.report_text is None:
                won = session.execute(
                    update(ExternalReport)
                    .where(ExternalReport.id == report.id, ExternalReport.report_text.is_(None))
                    .values(report_text=body.report_text)
                    .execution_options(synchronize_session=False)
                )
                if won.rowcount != 1:  # type: ignore[attr-defined]
                    raise Conflict("reportText was set meanwhile; it is write-once", param="reportText")
        if stored is not None:
            won = session.execute(
                update(ExternalReport)
                .where(ExternalReport.id == report.id, ExternalReport.file_key.is_(None))
                .values(
                    file_key=stored.key,
                    file_name=stored.name,
                    file_content_type=stored.content_type,
                    file_size=stored.size,
                )
                .execution_options(synchronize_session=False)
            )
            if won.rowcount != 1:  # type: ignore[attr-defined]
                raise Conflict("The report file was set meanwhile; it is write-once", param="reportFileUrl")
        if study.study_report_status != "completed":
            study.study_report_status = "completed"
        study.updated_at = utcnow()
        record(
            session,
            clinic_id=study.clinic_id,
            actor=actor,
            action="study.external_report_added",
            target_type="external_report",
            target_id=brand(Prefix.EXTERNAL_REPORT, report.id),
            details={"studyId": brand(Prefix.STUDY, study.id), "file": stored is not None},
        )
        session.flush()
    except IntegrityError:
        session.rollback()  # which discards the stored file
        raise Conflict("A report was attached to this study meanwhile; retry", param="studyId") from None
    except BaseException:
        session.rollback()  # which discards the stored file
        raise
    session.refresh(report)
    return report, study


def _scoped_reports(scope: StudyScope):  # type: ignore[no-untyped-def]
    stmt = (
        select(ExternalReport, Study)
        .join(Study, Study.id == ExternalReport.study_id)
        .where(ExternalReport.clinic_id == scope.clinic_id, Study.deleted_at.is_(None))
    )
    if scope.api_key_id is not None:
        stmt = stmt.where(Study.created_by_api_key_id == scope.api_key_id)
    if scope.express_customer_ids is not None:
        stmt = stmt.where(Study.express_customer_id.in_(scope.express_customer_ids))
    return stmt


def get_external_report(
    session: Session, scope: StudyScope, external_report_id: str
) -> tuple[ExternalReport, Study]:
    key = parse(Prefix.EXTERNAL_REPORT, external_report_id, "externalReportId")
    row = session.execute(_scoped_reports(scope).where(ExternalReport.id == key)).first()
    if row is None:
        raise NotFound(f"No external report {external_report_id}", param="externalReportId")
    return row[0], row[1]


def list_external_reports(
    session: Session, scope: StudyScope, *, study_id: str | None, cursor: str | None, limit: int
) -> Page[ExternalReport]:
    stmt = select(ExternalReport).where(
        ExternalReport.study_id.in_(_scoped_reports(scope).with_only_columns(Study.id))
    )
    if study_id:
        stmt = stmt.where(ExternalReport.study_id == parse(Prefix.STUDY, study_id, "studyId"))
    return paginate(session, stmt, ExternalReport.id, cursor=cursor, limit=limit)


def studies_by_id(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Study]:
    if not ids:
        return {}
    return {s.id: s for s in session.scalars(select(Study).where(Study.id.in_(ids)))}


def file_url(report: ExternalReport, issued_for: str | None = None) -> str | None:
    if not report.file_key:
        return None
    return get_storage().presign(
        report.file_key,
        download_name=report.file_name,
        content_type=report.file_content_type,
        issued_for=issued_for,
    )


def to_out(report: ExternalReport, study: Study, *, issued_for: str | None = None) -> ExternalReportOut:
    return ExternalReportOut(
        created_at=report.created_at,
        external_report_id=brand(Prefix.EXTERNAL_REPORT, report.id),
        study_id=brand(Prefix.STUDY, study.id),
        study_instance_uid=study.study_instance_uid,
        presigned_url=file_url(report, issued_for),
        reader_name=report.reader_name,
        report_text=report.report_text,
        signed_at=report.signed_at,
        snapshot_metadata=study.report_metadata or {},
    )


def to_list_item(report: ExternalReport, study: Study) -> ExternalReportListItem:
    return ExternalReportListItem(
        created_at=report.created_at,
        external_report_id=brand(Prefix.EXTERNAL_REPORT, report.id),
        has_report_text=bool(report.report_text),
        report_pdf_present=report.file_key is not None,
        study_id=brand(Prefix.STUDY, study.id),
        study_instance_uid=study.study_instance_uid,
        reader_name=report.reader_name,
        signed_at=report.signed_at,
    )
