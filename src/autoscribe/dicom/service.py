"""DICOM edge rules: clinic AE titles, storing received instances, and seeding studies from them.

    store_instance(session, clinic_id, part10_bytes, source="dimse", calling_ae=..., address=...)
    finalize_idle_studies(session, now)   # seeds every study idle for AUTOSCRIBE_DICOM_STUDY_IDLE_SECONDS

Seeding a study: the clinic's DICOM API key gets `patient_study.enrichment_requested`
(synchronous, soft: any failure is an empty answer), its answer is merged field by field over
the DICOM header values (webhook -> DICOM -> defaults), and the AutoScribe study with the
DICOM StudyInstanceUID is created, or updated when it exists, through the studies service.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autoscribe.audit.service import Actor, record
from autoscribe.auth.models import ApiKey
from autoscribe.clinics.models import Clinic
from autoscribe.config import get_settings
from autoscribe.db import utcnow
from autoscribe.dicom.header import attributes_json, integer, parse_part10, seed_values, text
from autoscribe.dicom.models import SOURCE_DIMSE, DicomInstance
from autoscribe.dicom.schemas import ENRICHMENT_FIELDS, EnrichmentAnswer
from autoscribe.errors import APIError, Conflict, InvalidRequest, NotFound
from autoscribe.express.service import usable_customer
from autoscribe.ids import Prefix, brand
from autoscribe.storage import get_storage
from autoscribe.studies import service as studies
from autoscribe.studies.models import Study
from autoscribe.studies.schemas import SEVERITIES, ReportMetadataIn, StudyCreate, StudyUpdate
from autoscribe.webhooks.sync import call_sync

log = logging.getLogger("autoscribe.dicom")

DICOM_ACTOR = Actor("system", "dicom")
ENRICHMENT_EVENT = "patient_study.enrichment_requested"

# ---- clinic configuration ------------------------------------------------------------------------

# PS3.5 AE VR: up to 16 characters of the default repertoire, no backslash, no control characters;
# leading and trailing spaces are not significant.
_AE_TITLE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")


def normalize_ae_title(value: str, param: str = "aeTitle") -> str:
    title = value.strip()
    if not title or not _AE_TITLE.match(title):
        raise InvalidRequest(
            "an AE title is 1 to 16 printable ASCII characters, without backslash", param=param
        )
    return title


def _address_entry(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        raise InvalidRequest(
            f"{value!r} is not an IP address or network (e.g. 10.1.2.3 or 10.1.2.0/24)",
            param="dicomAllowedAddresses",
        ) from None


class _Unset:
    pass


UNSET: Any = _Unset()


def configure_clinic(
    session: Session,
    clinic_id: uuid.UUID,
    *,
    actor: Actor,
    ae_title: str | None = UNSET,
    dicom_api_key_id: uuid.UUID | None = UNSET,
    allowed_calling_aes: list[str] | None = UNSET,
    allowed_addresses: list[str] | None = UNSET,
) -> Clinic:
    """Change a clinic's DICOM settings (only what is given; None clears). Commits."""
    clinic = session.get(Clinic, clinic_id)
    if clinic is None:
        raise NotFound(f"No clinic {clinic_id}", param="clinicId")
    changed: list[str] = []
    if ae_title is not UNSET:
        title = normalize_ae_title(ae_title) if ae_title else None
        if title is not None:
            taken = session.scalar(select(Clinic.id).where(Clinic.ae_title == title, Clinic.id != clinic.id))
            if taken is not None:
                raise Conflict(f"AE title {title!r} is used by another clinic", param="aeTitle")
        clinic.ae_title = title
        changed.append("aeTitle")
    if dicom_api_key_id is not UNSET:
        if dicom_api_key_id is not None:
            key = session.get(ApiKey, dicom_api_key_id)
            if key is None or key.clinic_id != clinic.id:
                raise NotFound("No such API key in this clinic", param="dicomApiKeyId")
            if not key.is_active:
                raise Conflict("This API key has been revoked", param="dicomApiKeyId")
        clinic.dicom_api_key_id = dicom_api_key_id
        changed.append("dicomApiKeyId")
    if allowed_calling_aes is not UNSET:
        clinic.dicom_allowed_calling_aes = (
            [normalize_ae_title(t, "dicomAllowedCallingAes") for t in allowed_calling_aes]
            if allowed_calling_aes
            else None
        )
        changed.append("dicomAllowedCallingAes")
    if allowed_addresses is not UNSET:
        clinic.dicom_allowed_addresses = (
            [_address_entry(a) for a in allowed_addresses] if allowed_addresses else None
        )
        changed.append("dicomAllowedAddresses")
    record(
        session,
        clinic_id=clinic.id,
        actor=actor,
        action="clinic.dicom_updated",
        target_type="clinic",
        target_id=str(clinic.id),
        details={"fields": changed},
    )
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"AE title {ae_title!r} is used by another clinic", param="aeTitle") from None
    return clinic


def clinic_view(clinic: Clinic) -> dict[str, Any]:
    return {
        "clinicId": str(clinic.id),
        "name": clinic.name,
        "aeTitle": clinic.ae_title,
        "dicomApiKeyId": str(clinic.dicom_api_key_id) if clinic.dicom_api_key_id else None,
        "dicomAllowedCallingAes": clinic.dicom_allowed_calling_aes or [],
        "dicomAllowedAddresses": clinic.dicom_allowed_addresses or [],
    }


def clinic_for_ae_title(session: Session, called_ae: str) -> Clinic | None:
    title = called_ae.strip()
    if not title:
        return None
    return session.scalars(select(Clinic).where(Clinic.ae_title == title)).first()


def peer_allowed(clinic: Clinic, calling_ae: str, address: str | None) -> bool:
    """The clinic's allow-lists (each optional): the calling AE title, the peer's address."""
    if clinic.dicom_allowed_calling_aes and calling_ae.strip() not in clinic.dicom_allowed_calling_aes:
        return False
    if clinic.dicom_allowed_addresses:
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        if not any(ip in ipaddress.ip_network(net, strict=False) for net in clinic.dicom_allowed_addresses):
            return False
    return True


def dicom_api_key(session: Session, clinic: Clinic) -> ApiKey | None:
    """The clinic's DICOM API key when it is set, of this clinic and not revoked."""
    if clinic.dicom_api_key_id is None:
        return None
    key = session.get(ApiKey, clinic.dicom_api_key_id)
    if key is None or key.clinic_id != clinic.id or not key.is_active:
        return None
    return key


# ---- storing instances ---------------------------------------------------------------------------


def storage_key(clinic_id: uuid.UUID, study_uid: str, series_uid: str, sop_uid: str) -> str:
    return f"dicom/{clinic_id.hex}/{study_uid}/{series_uid}/{sop_uid}.dcm"


def store_instance(
    session: Session,
    clinic_id: uuid.UUID,
    data: bytes,
    *,
    source: str = SOURCE_DIMSE,
    calling_ae: str | None = None,
    address: str | None = None,
    api_key_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> DicomInstance:
    """Store a Part 10 object's bytes as they are and index it (a re-sent SOP instance replaces
    the stored one). InvalidRequest when it is not DICOM or lacks its UIDs. Commits."""
    parsed = parse_part10(data)
    ds = parsed.dataset
    key = storage_key(
        clinic_id, parsed.study_instance_uid, parsed.series_instance_uid, parsed.sop_instance_uid
    )
    get_storage().put(key, data, content_type="application/dicom")
    values: dict[str, Any] = {
        "study_instance_uid": parsed.study_instance_uid,
        "series_instance_uid": parsed.series_instance_uid,
        "sop_class_uid": parsed.sop_class_uid,
        "transfer_syntax_uid": parsed.transfer_syntax_uid,
        "size_bytes": len(data),
        "storage_key": key,
        "received_at": now or utcnow(),
        "source": source,
        "calling_ae": (calling_ae or "").strip()[:16] or None,
        "source_address": (address or "")[:64] or None,
        "source_api_key_id": api_key_id,
        "seeded_at": None,
        "modality": text(ds, "Modality", 16),
        "patient_id": text(ds, "PatientID", 64),
        "patient_name": text(ds, "PatientName", 324),
        "study_date": text(ds, "StudyDate", 8),
        "accession_number": text(ds, "AccessionNumber", 16),
        "series_number": integer(ds, "SeriesNumber"),
        "instance_number": integer(ds, "InstanceNumber"),
        "attributes": attributes_json(ds),
    }
    # Later instances of a study that already exists join it at once (visible to scoped keys).
    values["study_id"] = session.scalar(
        select(Study.id).where(
            Study.clinic_id == clinic_id,
            Study.study_instance_uid == parsed.study_instance_uid,
            Study.deleted_at.is_(None),
        )
    )
    for _attempt in range(3):
        row = session.scalars(
            select(DicomInstance).where(
                DicomInstance.clinic_id == clinic_id,
                DicomInstance.sop_instance_uid == parsed.sop_instance_uid,
            )
        ).first()
        old_key = row.storage_key if row is not None else None
        if row is None:
            row = DicomInstance(clinic_id=clinic_id, sop_instance_uid=parsed.sop_instance_uid, **values)
            session.add(row)
        else:
            for name, value in values.items():
                setattr(row, name, value)
        try:
            # Each instance is its own unit of work: an association stores hundreds, and each one
            # stored is acknowledged to the modality (and a retry must not undo the others).
            session.commit()
        except IntegrityError:
            session.rollback()  # the same instance arrived twice at once: update the winner
            continue
        if old_key is not None and old_key != key:
            get_storage().delete(old_key)  # re-sent under another study or series
        return row
    raise Conflict(f"SOP instance {parsed.sop_instance_uid} is being stored by another sender")


# ---- seeding studies -----------------------------------------------------------------------------


@dataclass
class Seeded:
    clinic_id: uuid.UUID
    study_instance_uid: str
    study_id: uuid.UUID | None
    created: bool
    instances: int
    enrichment: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def finalize_idle_studies(
    session: Session, now: datetime | None = None, *, skip: frozenset[tuple[uuid.UUID, str]] = frozenset()
) -> list[Seeded]:
    """Seed (create or update) every study none of whose instances arrived in the last
    AUTOSCRIBE_DICOM_STUDY_IDLE_SECONDS and that has instances not yet part of a seeding.

    Callable on its own (a periodic loop in `autoscribe dicom serve` today, a task later). Each
    study is done in transactions of its own; no write is held across the webhook call. `skip`:
    (clinic id, StudyInstanceUID) pairs to leave for later (the caller's back-off after failures)."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=get_settings().dicom_study_idle_seconds)
    last = func.max(DicomInstance.received_at)
    due = session.execute(
        select(DicomInstance.clinic_id, DicomInstance.study_instance_uid, last)
        .where(DicomInstance.seeded_at.is_(None))
        .group_by(DicomInstance.clinic_id, DicomInstance.study_instance_uid)
        .having(last <= cutoff)
        .order_by(last)
    ).all()
    session.rollback()  # end the read before any webhook call
    results: list[Seeded] = []
    for clinic_id, study_uid, received_up_to in due:
        if (clinic_id, study_uid) in skip:
            continue
        try:
            results.append(seed_study(session, clinic_id, study_uid, received_up_to=received_up_to, now=now))
        except Exception as exc:
            session.rollback()
            log.exception("could not seed study %s of clinic %s", study_uid, clinic_id)
            results.append(Seeded(clinic_id, study_uid, None, False, 0, error=str(exc)))
    return results


def seed_study(
    session: Session,
    clinic_id: uuid.UUID,
    study_uid: str,
    *,
    received_up_to: datetime | None = None,
    now: datetime | None = None,
) -> Seeded:
    now = now or utcnow()
    clinic = session.get(Clinic, clinic_id)
    if clinic is None:
        raise NotFound(f"No clinic {clinic_id}")
    rows = session.execute(
        select(
            DicomInstance.attributes,
            DicomInstance.modality,
            DicomInstance.accession_number,
            DicomInstance.patient_id,
            DicomInstance.source_api_key_id,
        )
        .where(DicomInstance.clinic_id == clinic_id, DicomInstance.study_instance_uid == study_uid)
        .order_by(DicomInstance.received_at, DicomInstance.id)
    ).all()
    if not rows:
        raise NotFound(f"No instances of study {study_uid}")
    header = seed_values(rows[0].attributes)
    modalities = _modalities(r.modality for r in rows)
    accession = next((r.accession_number for r in rows if r.accession_number), None)
    patient_id = next((r.patient_id for r in rows if r.patient_id), None)
    key = dicom_api_key(session, clinic)
    creator_key_id = (
        key.id if key is not None else next((r.source_api_key_id for r in rows if r.source_api_key_id), None)
    )
    session.rollback()  # nothing written yet: no transaction held across the webhook call

    answer = request_enrichment(session, key, clinic_id, study_uid, accession, patient_id)
    study, created = _create_or_update(
        session, clinic_id, study_uid, header, answer, modalities, accession, creator_key_id
    )
    # Every instance of the study belongs to it; those received up to now are seeded.
    session.execute(
        update(DicomInstance)
        .where(DicomInstance.clinic_id == clinic_id, DicomInstance.study_instance_uid == study_uid)
        .values(study_id=study.id)
    )
    seeded = update(DicomInstance).where(
        DicomInstance.clinic_id == clinic_id,
        DicomInstance.study_instance_uid == study_uid,
        DicomInstance.seeded_at.is_(None),
    )
    if received_up_to is not None:
        seeded = seeded.where(DicomInstance.received_at <= received_up_to)
    session.execute(seeded.values(seeded_at=now))
    session.commit()  # seeding calls the integrator in steps: each step is kept before the next call
    log.info(
        "%s study %s (%s) from %d DICOM instance(s)",
        "created" if created else "updated",
        study_uid,
        brand(Prefix.STUDY, study.id),
        len(rows),
    )
    return Seeded(clinic_id, study_uid, study.id, created, len(rows), enrichment=answer)


def _modalities(values: Any) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    # Images first: a CT study with a dose report is "CT", not "SR".
    images = [m for m in seen if m not in ("SR", "KO", "PR", "DOC")]
    return images or seen


def request_enrichment(
    session: Session,
    key: ApiKey | None,
    clinic_id: uuid.UUID,
    study_uid: str,
    accession: str | None,
    patient_id: str | None,
) -> dict[str, Any]:
    """`patient_study.enrichment_requested` to the clinic's DICOM key: soft, so a missing key or
    endpoint, a timeout, an error or an invalid body is an empty answer (logged)."""
    if key is None or not key.study_webhook_url:
        return {}

    data: dict[str, Any] = {"clinicId": str(clinic_id), "studyInstanceUid": study_uid}
    if accession:
        data["accessionNumber"] = accession
    if patient_id:
        data["patientId"] = patient_id
    try:
        answer = call_sync(session, key, ENRICHMENT_EVENT, data, answer_model=EnrichmentAnswer)
    except APIError as exc:
        log.warning("%s for %s: %s; using the DICOM header values", ENRICHMENT_EVENT, study_uid, exc.message)
        return {}
    finally:
        session.rollback()
    raw = answer.model_dump()
    return {k: raw[k] for k in ENRICHMENT_FIELDS if raw.get(k) is not None}


_METADATA_FIELDS = (
    "age",
    "dateOfBirth",
    "facilityName",
    "height",
    "mrn",
    "patientName",
    "procedure",
    "referringPhysicianName",
    "sex",
    "studyDate",
    "studyTime",
    "weight",
)


def _valid_metadata(name: str, value: Any, where: str, study_uid: str) -> Any:
    """`value` if it is a valid reportMetadata.<name>, else None (logged)."""
    try:
        parsed = ReportMetadataIn.model_validate({name: value})
    except (ValidationError, APIError):
        # The field's name only: values are patient data, which logs do not carry.
        log.warning("%s: ignoring the %s value of %s (not valid)", study_uid, where, name)
        return None
    return parsed.as_stored().get(name)


def merged_fields(
    header: dict[str, Any], answer: dict[str, Any], study_uid: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(from the webhook, from DICOM): valid reportMetadata values per field, and the study fields
    studyDescription / severity / externalPatientId (webhook only for the last two)."""
    webhook: dict[str, Any] = {}
    dicom: dict[str, Any] = {}
    for name in _METADATA_FIELDS:
        if name in answer:
            value = _valid_metadata(name, answer[name], "webhook", study_uid)
            if value is not None:
                webhook[name] = value
        if name in header:
            value = _valid_metadata(name, header[name], "DICOM", study_uid)
            if value is not None:
                dicom[name] = value
    desc = answer.get("studyDescription")
    if isinstance(desc, str) and desc.strip() and len(desc) <= 1000:
        webhook["studyDescription"] = desc.strip()
    if isinstance(header.get("studyDescription"), str):
        dicom["studyDescription"] = header["studyDescription"][:1000]
    if answer.get("severity") in SEVERITIES:
        webhook["severity"] = answer["severity"]
    patient = answer.get("externalPatientId")
    if isinstance(patient, str) and 0 < len(patient.strip()) <= 256:
        webhook["externalPatientId"] = patient.strip()
    return webhook, dicom


def _customer_id(
    session: Session, clinic_id: uuid.UUID, answer: dict[str, Any], study_uid: str
) -> str | None:
    wanted = answer.get("expressCustomerId")
    if not wanted:
        return None
    try:
        usable_customer(session, clinic_id, str(wanted), "expressCustomerId")
    except APIError as exc:
        log.warning("%s: ignoring the enrichment's expressCustomerId: %s", study_uid, exc.message)
        return None
    return str(wanted)


def _create_or_update(
    session: Session,
    clinic_id: uuid.UUID,
    study_uid: str,
    header: dict[str, Any],
    answer: dict[str, Any],
    modalities: list[str],
    accession: str | None,
    creator_key_id: uuid.UUID | None,
) -> tuple[Study, bool]:
    webhook, dicom = merged_fields(header, answer, study_uid)
    customer = _customer_id(session, clinic_id, answer, study_uid)
    modality = ", ".join(modalities)[:100] or None
    scope = studies.StudyScope(clinic_id=clinic_id)
    existing = session.scalars(
        select(Study).where(
            Study.clinic_id == clinic_id, Study.study_instance_uid == study_uid, Study.deleted_at.is_(None)
        )
    ).first()
    if existing is None:
        metadata = {n: webhook.get(n, dicom.get(n)) for n in _METADATA_FIELDS}
        description = webhook.get("studyDescription") or dicom.get("studyDescription")
        body: dict[str, Any] = {
            "studyInstanceUid": study_uid,
            # Defaults last: a study needs a description and a severity.
            "studyDescription": description or f"{modality or 'DICOM'} study",
            "severity": webhook.get("severity", "normal"),
            "reportMetadata": {k: v for k, v in metadata.items() if v is not None},
            "modality": modality,
            "externalPatientId": webhook.get("externalPatientId"),
            "expressCustomerId": customer,
            "metadata": {"source": "dicom", **({"accessionNumber": accession} if accession else {})},
        }
        try:
            study = studies.create_study(
                session,
                scope,
                StudyCreate.model_validate(body),
                studies.Creator(actor=DICOM_ACTOR, api_key_id=creator_key_id),
            )
            return study, True
        except Conflict:
            session.rollback()  # created meanwhile (API or another listener): update it instead
            existing = session.scalars(
                select(Study).where(
                    Study.clinic_id == clinic_id,
                    Study.study_instance_uid == study_uid,
                    Study.deleted_at.is_(None),
                )
            ).first()
            if existing is None:
                raise
    # An existing study: what the integrator answers now wins; DICOM only fills what is missing.
    current = dict(existing.report_metadata or {})
    changes: dict[str, Any] = {}
    meta_changes = {n: v for n, v in webhook.items() if n in _METADATA_FIELDS and current.get(n) != v}
    meta_changes.update({n: v for n, v in dicom.items() if n in _METADATA_FIELDS and n not in current})
    if meta_changes:
        changes["reportMetadata"] = meta_changes
    if webhook.get("studyDescription") and webhook["studyDescription"] != existing.study_description:
        changes["studyDescription"] = webhook["studyDescription"]
    if webhook.get("severity") and webhook["severity"] != existing.severity:
        changes["severity"] = webhook["severity"]
    if webhook.get("externalPatientId") and webhook["externalPatientId"] != existing.external_patient_id:
        changes["externalPatientId"] = webhook["externalPatientId"]
    if modality and not existing.modality:
        changes["modality"] = modality
    if customer and existing.express_customer_id is None:
        changes["expressCustomerId"] = customer
    if changes:
        study = studies.update_study(session, existing, StudyUpdate.model_validate(changes), DICOM_ACTOR)
    else:
        study = existing
    return study, False
