"""The sample study `make run` opens: a demo radiologist and a chest CT in the clinic's own archive.

`ensure_sample` is idempotent: the first call creates the radiologist (a valid test NPI, can
create reports) and stores a synthetic CT (dicom.phantom) through the DICOM edge's own path
(store_instance, then seed_study), so the study is what a modality would have sent. Later calls
change nothing. `reading_link` mints a one-time reroute URL for the radiologist, as an
integrator's PACS would; the images need no outside server because the platform is the archive
(dicom.viewing).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from autoscribe.auth.context import ApiContext
from autoscribe.auth.models import ApiKey
from autoscribe.clinics.models import Clinic
from autoscribe.dicom.models import DicomInstance
from autoscribe.dicom.phantom import chest_ct
from autoscribe.dicom.service import seed_study, store_instance
from autoscribe.errors import Conflict, NotFound
from autoscribe.ids import Prefix, brand
from autoscribe.studies.models import Study
from autoscribe.studies.service import StudyScope
from autoscribe.users.models import User
from autoscribe.workspace import links
from autoscribe.workspace.schemas import RerouteUrlRequest

RADIOLOGIST_EMAIL = "radiologist@example.com"
# A National Provider Identifier that passes the Luhn check and belongs to no one (CMS's example).
TEST_NPI = "1234567893"
_SAMPLE_NAMESPACE = uuid.UUID("6f1f4d2e-5c1a-4d8e-9a0b-2f6c1d7e8a90")


@dataclass(frozen=True)
class Sample:
    study_id: str
    study_instance_uid: str
    radiologist_id: str
    radiologist_email: str
    created: bool
    cancelled: bool


def sample_study_uid(clinic_id: uuid.UUID) -> str:
    """The sample's StudyInstanceUID: fixed per clinic, so a restart finds the same study."""
    return f"2.25.{uuid.uuid5(_SAMPLE_NAMESPACE, clinic_id.hex).int}"


def _radiologist(session: Session, clinic_id: uuid.UUID) -> tuple[User, bool]:
    found = session.scalars(
        select(User).where(User.clinic_id == clinic_id, func.lower(User.email) == RADIOLOGIST_EMAIL)
    ).first()
    if found is not None:
        return found, False
    user = User(
        clinic_id=clinic_id,
        email=RADIOLOGIST_EMAIL,
        first_name="Dana",
        last_name="Demo",
        suffix1="MD",
        clinic_role="Radiologist",
        level="member",
        npi_number=TEST_NPI,
        can_create_reports=True,
        can_manage_studies=False,
        has_dashboard_access=False,  # reads from links, as a PACS user would
        invited_source="dashboard",
    )
    session.add(user)
    session.flush()
    return user, True


def ensure_sample(session: Session, clinic_id: uuid.UUID) -> Sample:
    """Create the sample radiologist and study if this clinic has never had them. Commits."""
    if session.get(Clinic, clinic_id) is None:
        raise NotFound(f"No clinic {clinic_id}", param="clinicId")
    user, _ = _radiologist(session, clinic_id)
    study_uid = sample_study_uid(clinic_id)
    stored = session.scalar(
        select(func.count(DicomInstance.id)).where(
            DicomInstance.clinic_id == clinic_id, DicomInstance.study_instance_uid == study_uid
        )
    )
    session.commit()
    created = False
    if not stored:
        for part10 in chest_ct(study_uid):
            store_instance(session, clinic_id, part10, calling_ae="SAMPLE", address="127.0.0.1")
        created = True
    study = session.scalars(
        select(Study).where(Study.clinic_id == clinic_id, Study.study_instance_uid == study_uid)
    ).first()
    if study is None:
        seeded = seed_study(session, clinic_id, study_uid)
        study = session.get(Study, seeded.study_id)
        assert study is not None
        created = True
    session.commit()
    return Sample(
        study_id=brand(Prefix.STUDY, study.id),
        study_instance_uid=study_uid,
        radiologist_id=brand(Prefix.USER, user.id),
        radiologist_email=user.email,
        created=created,
        cancelled=study.is_cancelled or study.deleted_at is not None,
    )


def reading_link(session: Session, clinic_id: uuid.UUID, sample: Sample) -> str:
    """A fresh one-time link for the demo radiologist to read the sample, minted with the clinic's
    oldest active API key of scope "all" (the key `bootstrap` made), as a PACS would. Commits."""
    if sample.cancelled:
        raise Conflict("The sample study was cancelled or deleted; uncancel it to read it", param="studyId")
    key = session.scalars(
        select(ApiKey)
        .where(ApiKey.clinic_id == clinic_id, ApiKey.revoked_at.is_(None), ApiKey.study_scope == "all")
        .order_by(ApiKey.created_at)
    ).first()
    if key is None:
        raise Conflict("The clinic has no active API key of scope all to mint the link with", param="apiKey")
    body = RerouteUrlRequest.model_validate(
        {"studyId": sample.study_id, "assignedToUserId": sample.radiologist_id}
    )
    return links.create_reroute_link(session, ApiContext(key, None), StudyScope(clinic_id=clinic_id), body)
