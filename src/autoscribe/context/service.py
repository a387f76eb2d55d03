"""Clinical-context enrichment (reference 7.2, `clinical_context.enrichment_requested`, soft).

When a study's report is started (the workspace page's `POST /workspace/<studyId>/report/start`,
sent as a reader who may edit opens it; never a GET) and the API key that created the study has
`isClinicalContextEnrichmentEnabled`, the platform asks that key's study data endpoint for the
patient's clinical context, once per study:

    data: {clinicId, studyId (raw UUID), studyInstanceUid, externalPatientId?, mrn?}
    answer (any subset): clinicalIndication, technologistTechnique, technologistNotes[],
        priorReports[], documents[{fileName, content[]}], documentUrls[{url, fileName?}]

The call is synchronous and soft: signed and logged in the webhook log like every synchronous
event, with a short timeout (AUTOSCRIBE_CLINICAL_CONTEXT_TIMEOUT_SECONDS); a failure, timeout or
invalid answer is logged and treated as an empty answer, so reading is never blocked.

What the answer brings: the draft's clinical indication and technique where they are empty (a
new draft version), and, kept on the study's `clinical_contexts` row, the technologist notes,
the prior reports (the workspace's priors panel) and the documents. `documentUrls` are fetched
over https through the outbound guard (`outbound.guard`: public addresses only, no redirects, a
size cap and one deadline for all of them) and stored in the storage backend; the workspace
lists them with download links.

Nothing uncommitted is held while the integrator answers or while documents download (SQLite
has one writer): the claim row is committed first, the results in a transaction of their own.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autoscribe.archive.fetch import check_url, sniff
from autoscribe.auth.models import ApiKey
from autoscribe.config import get_settings
from autoscribe.context.models import FAILED, RECEIVED, REQUESTED, ClinicalContext
from autoscribe.db import utcnow
from autoscribe.errors import Conflict, InvalidRequest
from autoscribe.ids import Prefix, brand
from autoscribe.outbound import guard
from autoscribe.reports import service as reports
from autoscribe.reports.models import Report
from autoscribe.reports.schemas import ReportContent
from autoscribe.reports.service import Prior
from autoscribe.storage import get_storage
from autoscribe.studies.models import Study
from autoscribe.users.models import User
from autoscribe.webhooks import receivers, sync
from autoscribe.webhooks.models import KIND_SYNC

log = logging.getLogger("autoscribe.context")

EVENT_TYPE = "clinical_context.enrichment_requested"
# A claim still "requested" after this long was abandoned (its process died during the call).
ABANDONED_AFTER = timedelta(minutes=10)
# documentUrls fetched per study at most (the rest are listed as not fetched).
MAX_DOCUMENT_URLS = 10
DOCUMENT_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain")

# ---- the integrator's answer ------------------------------------------------------------------------


class _Answer(BaseModel):
    # Integrators may add fields of their own; we keep what we know.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class PriorReportAnswer(_Answer):
    report_text: str = Field(min_length=1, max_length=50000)
    external_study_id: str | None = Field(default=None, max_length=256)
    modality: str | None = Field(default=None, max_length=100)
    study_date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    study_description: str | None = Field(default=None, max_length=1000)


# Inline text kept per document and per note (an answer is at most
# AUTOSCRIBE_WEBHOOK_SYNC_MAX_RESPONSE_BYTES in all).
DocumentChunk = Annotated[str, Field(max_length=200_000)]
Note = Annotated[str, Field(max_length=5000)]


class DocumentAnswer(_Answer):
    file_name: str = Field(min_length=1, max_length=255)
    content: list[DocumentChunk] = Field(default_factory=list, max_length=1000)


class DocumentUrlAnswer(_Answer):
    url: str = Field(min_length=1, max_length=4096)
    file_name: str | None = Field(default=None, max_length=255)

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.lower().startswith(("https://", "http://")):
            raise ValueError("must be an https:// URL")
        return value


class ClinicalContextAnswer(_Answer):
    """The answer to clinical_context.enrichment_requested: any subset, `{}` allowed."""

    clinical_indication: str | None = Field(default=None, max_length=50000)
    technologist_technique: str | None = Field(default=None, max_length=50000)
    technologist_notes: list[Note] = Field(default_factory=list, max_length=100)
    prior_reports: list[PriorReportAnswer] = Field(default_factory=list, max_length=50)
    documents: list[DocumentAnswer] = Field(default_factory=list, max_length=50)
    document_urls: list[DocumentUrlAnswer] = Field(default_factory=list, max_length=50)

    @field_validator("technologist_notes", "prior_reports", "documents", "document_urls", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


# ---- who is asked -----------------------------------------------------------------------------------


def enrichment_key(session: Session, study: Study) -> ApiKey | None:
    """The key that created the study, when it asks for enrichment and can be called."""
    if study.created_by_api_key_id is None:
        return None
    keys = receivers.study_receivers(session, study, "study")
    return keys[0] if keys and keys[0].is_clinical_context_enrichment_enabled else None


def event_data(study: Study) -> dict[str, Any]:
    data: dict[str, Any] = {
        "clinicId": str(study.clinic_id),
        "studyId": str(study.id),  # the raw UUID, not stu_... (reference 2.1)
        "studyInstanceUid": study.study_instance_uid,
    }
    if study.external_patient_id:
        data["externalPatientId"] = study.external_patient_id
    mrn = (study.report_metadata or {}).get("mrn")
    if mrn:
        data["mrn"] = str(mrn)
    return data


# ---- starting the report ----------------------------------------------------------------------------


def enrich_on_report_start(session: Session, study: Study, reader: User) -> bool:
    """Send clinical_context.enrichment_requested for this study if it never was and its key asks
    for it, and apply the answer. Never raises for the integrator's failures (they are logged on
    the study's row and in the webhook log). True when this call sent the event."""
    key = enrichment_key(session, study)
    if key is None:
        return False
    # The caller's work (the report just started) is kept first: the claim below commits or rolls
    # back on its own, and nothing uncommitted may be held while the integrator answers.
    session.commit()
    study_id, clinic_id = study.id, study.clinic_id
    data = event_data(study)
    row_id = _claim(session, study_id, clinic_id, key.id)
    if row_id is None:
        return False
    try:
        result = sync.perform(
            session,
            key,
            EVENT_TYPE,
            data,
            timeout=get_settings().clinical_context_timeout_seconds,
            model=ClinicalContextAnswer,
            kind=KIND_SYNC,
        )
    except Exception as exc:  # soft: nothing the integrator does may stop the reading
        log.warning("study %s: %s could not be sent: %s", brand(Prefix.STUDY, study_id), EVENT_TYPE, exc)
        _finish(session, row_id, status=FAILED, error=str(exc))
        return True
    if result.failure is not None or not isinstance(result.answer, ClinicalContextAnswer):
        message = result.failure.message if result.failure is not None else "no answer"
        log.warning(
            "study %s: %s failed (reading goes on): %s", brand(Prefix.STUDY, study_id), EVENT_TYPE, message
        )
        _finish(session, row_id, status=FAILED, error=message, event_id=result.event_id)
        return True
    answer = result.answer
    # Downloads happen outside any transaction too.
    documents = [
        {"fileName": d.file_name, "content": [c for c in d.content if isinstance(c, str)]}
        for d in answer.documents
    ]
    documents += fetch_documents(clinic_id, study_id, answer.document_urls)
    _finish(
        session,
        row_id,
        status=RECEIVED,
        event_id=result.event_id,
        clinical_indication=_text(answer.clinical_indication),
        technologist_technique=_text(answer.technologist_technique),
        technologist_notes=[n.strip() for n in answer.technologist_notes if n.strip()],
        prior_reports=[p.model_dump(by_alias=True, exclude_none=True) for p in answer.prior_reports],
        documents=documents,
    )
    fill_draft(session, study_id, reader, answer)
    return True


def _claim(
    session: Session, study_id: uuid.UUID, clinic_id: uuid.UUID, key_id: uuid.UUID
) -> uuid.UUID | None:
    """The right to send the event for this study (committed), or None when it was sent already
    or is being sent. One row per study: whoever inserts it sends; a claim left "requested" for
    longer than ABANDONED_AFTER (its process died mid-call) is taken over by one conditional UPDATE."""
    found = session.execute(
        select(ClinicalContext.id, ClinicalContext.status, ClinicalContext.requested_at).where(
            ClinicalContext.study_id == study_id
        )
    ).first()
    now = utcnow()
    if found is not None:
        row_id, status, requested_at = found
        if status != REQUESTED or requested_at > now - ABANDONED_AFTER:
            session.commit()
            return None
        taken = session.execute(
            update(ClinicalContext)
            .where(
                ClinicalContext.id == row_id,
                ClinicalContext.status == REQUESTED,
                ClinicalContext.requested_at == requested_at,
            )
            .values(requested_at=now, api_key_id=key_id)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            return None
        session.commit()
        return row_id
    row = ClinicalContext(
        clinic_id=clinic_id, study_id=study_id, api_key_id=key_id, status=REQUESTED, requested_at=now
    )
    session.add(row)
    try:
        session.flush()
        claimed = row.id
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return claimed


def _text(value: str | None) -> str | None:
    return value.strip() or None if value else None


def _finish(session: Session, row_id: uuid.UUID, **values: Any) -> None:
    session.execute(
        update(ClinicalContext)
        .where(ClinicalContext.id == row_id)
        .values(answered_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def fill_draft(session: Session, study_id: uuid.UUID, reader: User, answer: ClinicalContextAnswer) -> None:
    """The draft's clinical indication and technique, where empty: a new draft version (kept in
    its revisions like any save), unless someone saved in between (then nothing changes)."""
    draft = session.scalars(
        select(Report).where(
            Report.study_id == study_id, Report.status == "in_progress", Report.is_addendum.is_(False)
        )
    ).first()
    if draft is None:
        return
    content = ReportContent.model_validate(draft.content or {})
    changed = False
    indication, technique = _text(answer.clinical_indication), _text(answer.technologist_technique)
    if indication and not content.clinical_indication.strip():
        content.clinical_indication = indication
        changed = True
    if technique and not content.technique.strip():
        content.technique = technique
        changed = True
    if not changed:
        return
    try:
        reports.save_draft(session, draft, reader, content, draft.version)
    except Conflict:
        session.rollback()  # someone saved in between: their text stands
        return
    session.expire_all()


# ---- documents --------------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_name(name: str) -> str:
    return (_UNSAFE.sub("_", name).strip("._") or "document")[:120]


def _name_from_url(url: str) -> str:
    path = url.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    return path.rsplit("/", 1)[-1] or "document"


def fetch_documents(
    clinic_id: uuid.UUID, study_id: uuid.UUID, urls: list[DocumentUrlAnswer]
) -> list[dict[str, Any]]:
    """Download each documentUrl (https, outbound guard, size cap, one deadline for all) and
    store it; failures are listed with their reason instead."""
    settings = get_settings()
    deadline = time.monotonic() + settings.external_file_timeout_seconds
    out: list[dict[str, Any]] = []
    for n, item in enumerate(urls):
        name = item.file_name or _name_from_url(item.url)
        entry: dict[str, Any] = {"fileName": name, "url": guard.redact(item.url)}
        if n >= MAX_DOCUMENT_URLS:
            entry["error"] = f"not fetched: at most {MAX_DOCUMENT_URLS} documentUrls are fetched per study"
        else:
            remaining = deadline - time.monotonic()
            if remaining <= 0.2:
                entry["error"] = "not fetched: the time allowed for documents ran out"
            else:
                try:
                    entry.update(_fetch_one(clinic_id, study_id, n, item.url, name, remaining))
                except _DocumentRefused as exc:
                    entry["error"] = str(exc)
                    log.warning(
                        "study %s: document %s not fetched: %s",
                        brand(Prefix.STUDY, study_id),
                        entry["url"],
                        exc,
                    )
        out.append(entry)
    return out


class _DocumentRefused(Exception):
    pass


@dataclass
class _Fetched:
    data: bytes
    content_type: str
    extra: dict[str, Any] = field(default_factory=dict)


def _fetch_one(
    clinic_id: uuid.UUID, study_id: uuid.UUID, n: int, url: str, name: str, timeout: float
) -> dict[str, Any]:
    settings = get_settings()
    try:
        check_url(url, allow_private=settings.webhook_allow_private, param="documentUrls.url")
    except InvalidRequest as exc:
        raise _DocumentRefused(exc.message) from None
    cap = settings.external_file_max_bytes
    try:
        result = guard.fetch_checked(
            url,
            headers={"Accept": ", ".join(DOCUMENT_TYPES)},
            timeout=timeout,
            max_bytes=cap,
            max_redirects=0,
            allow_private=settings.webhook_allow_private,
        )
    except guard.TargetRefused as exc:
        raise _DocumentRefused(f"refused: {exc}") from None
    except guard.FetchTimeout:
        raise _DocumentRefused("its host did not answer in time") from None
    except guard.FetchFailed as exc:
        raise _DocumentRefused(f"could not be fetched ({exc})") from None
    if result.status_code != 200:
        raise _DocumentRefused(f"answered HTTP {result.status_code}")
    if result.truncated:
        raise _DocumentRefused(f"larger than {cap} bytes")
    data = result.body
    content_type = sniff(data)
    if content_type is None:
        declared = result.headers.get("content-type", "").split(";")[0].strip().lower()
        if declared == "text/plain" or (not declared and name.lower().endswith(".txt")):
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                raise _DocumentRefused("text/plain that is not UTF-8") from None
            content_type = "text/plain"
        else:
            raise _DocumentRefused("not a PDF, an image or plain text")
    key = f"clinical-context/{clinic_id.hex}/{study_id.hex}/{n}-{_safe_name(name)}"
    get_storage().put(key, data, content_type=content_type)
    return {"storageKey": key, "contentType": content_type, "size": len(data)}


# ---- what the workspace shows -----------------------------------------------------------------------


@dataclass(frozen=True)
class ContextDocument:
    file_name: str
    text: str | None = None  # inline documents
    download_url: str | None = None  # fetched and stored
    content_type: str | None = None
    size: int | None = None
    error: str | None = None  # why a documentUrl was not fetched


@dataclass(frozen=True)
class PageContext:
    """The enrichment as the workspace page shows it (None fields: nothing received)."""

    status: str | None = None
    clinical_indication: str | None = None
    technologist_technique: str | None = None
    technologist_notes: list[str] = field(default_factory=list)
    priors: list[Prior] = field(default_factory=list)
    documents: list[ContextDocument] = field(default_factory=list)

    @property
    def received(self) -> bool:
        return self.status == RECEIVED


def page_context(session: Session, study: Study, *, issued_for: str | None = None) -> PageContext:
    row = session.scalars(
        select(ClinicalContext).where(
            ClinicalContext.study_id == study.id, ClinicalContext.clinic_id == study.clinic_id
        )
    ).first()
    if row is None:
        return PageContext()
    if row.status != RECEIVED:
        return PageContext(status=row.status)
    priors = [
        Prior(
            source="clinical_context",
            study_id=None,
            study_instance_uid=None,
            study_description=item.get("studyDescription"),
            modality=item.get("modality"),
            study_date=item.get("studyDate"),
            report_text=item.get("reportText"),
            external_study_id=item.get("externalStudyId"),
        )
        for item in row.prior_reports or []
    ]
    priors.sort(key=lambda p: p.study_date or "", reverse=True)
    documents: list[ContextDocument] = []
    for doc in row.documents or []:
        name = str(doc.get("fileName") or "document")
        if "content" in doc:
            documents.append(ContextDocument(name, text="\n\n".join(doc["content"])))
        elif doc.get("storageKey"):
            link = get_storage().presign(
                doc["storageKey"],
                download_name=_safe_name(name),
                content_type=doc.get("contentType"),
                issued_for=issued_for,
            )
            documents.append(
                ContextDocument(
                    name, download_url=link, content_type=doc.get("contentType"), size=doc.get("size")
                )
            )
        else:
            documents.append(ContextDocument(name, error=str(doc.get("error") or "not fetched")))
    return PageContext(
        status=row.status,
        clinical_indication=row.clinical_indication,
        technologist_technique=row.technologist_technique,
        technologist_notes=list(row.technologist_notes or []),
        priors=priors,
        documents=documents,
    )
