"""The archive as the workspace viewer reads it: a study's archived images, one URL per instance.

The viewer decodes uncompressed pixel data only, so compressed instances (JPEG, JPEG-LS,
JPEG 2000, RLE) are transcoded here to Explicit VR Little Endian as they are served, with the
codecs the DICOM edge already has (pylibjpeg, pyjpegls, GDCM). Decoding in the browser instead
was measured against this (bench/dicom.py, docs/architecture.md "Showing compressed images").

Instances are matched by clinic and StudyInstanceUID, not by the seeded study link, so images
received after the study was created show as soon as they are stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from sqlalchemy import select
from sqlalchemy.orm import Session

from autoscribe.dicom.models import DicomInstance
from autoscribe.dicom.web import in_viewing_order, manifest_of, read_instance, transcode
from autoscribe.errors import NotFound
from autoscribe.studies.models import Study

# What the viewer's own decoder reads (frontend/viewer/src/dicom.js).
VIEWER_SYNTAXES = frozenset({ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian})


# UIDs a URL names (presigned keys and WADO-URI links usually carry the SOP Instance UID), as
# whole tokens: "1.2.3.4" is not named by ".../1.2.3.45.dcm".
_UID_IN_URL = re.compile(r"(?<![0-9.])[0-9]+(?:\.[0-9]+)+(?!\.?[0-9])")


@dataclass(frozen=True)
class ArchivedImages:
    urls: list[str]
    manifest: dict[str, Any]
    sop_instance_uids: frozenset[str]


def _instances(study: Study) -> Any:
    return select(DicomInstance).where(
        DicomInstance.clinic_id == study.clinic_id,
        DicomInstance.study_instance_uid == study.study_instance_uid,
    )


def archived_images(session: Session, study: Study, base_path: str) -> ArchivedImages | None:
    """The study's archived instances as viewer URLs (`base_path`/<SOPInstanceUID>) with their
    manifest, or None when the archive holds none of them."""
    if not study.study_instance_uid:
        return None
    rows = list(session.scalars(in_viewing_order(_instances(study))))
    if not rows:
        return None
    return ArchivedImages(
        urls=[f"{base_path}/{row.sop_instance_uid}" for row in rows],
        manifest=manifest_of(rows, study.study_instance_uid),
        sop_instance_uids=frozenset(row.sop_instance_uid for row in rows),
    )


def merge_answer(archived: ArchivedImages, answer: dict[str, Any]) -> dict[str, Any]:
    """The integrator's study.access_requested answer with the archive's images added: archived
    instances first; the integrator's URLs for instances the archive already serves are dropped."""
    served = archived.sop_instance_uids
    theirs = [url for url in answer.get("urls") or [] if served.isdisjoint(_UID_IN_URL.findall(url))]
    merged = dict(answer)
    merged["urls"] = archived.urls + theirs
    manifests = [archived.manifest]
    if answer.get("manifest"):
        manifests.append(answer["manifest"])
    merged["manifest"] = manifests if len(manifests) > 1 else archived.manifest
    return merged


def archive_only_answer(archived: ArchivedImages) -> dict[str, Any]:
    """No integrator to ask (no study webhook): the platform is the archive, and the reader has
    already passed the workspace's own access control."""
    return {"authorized": True, "urls": archived.urls, "manifest": archived.manifest}


def viewer_instance(session: Session, study: Study, sop_instance_uid: str) -> bytes:
    """One archived instance of the study, as a Part 10 object the viewer decodes."""
    row = session.scalars(
        _instances(study).where(DicomInstance.sop_instance_uid == sop_instance_uid).limit(1)
    ).first()
    if row is None:
        raise NotFound(f"No archived instance {sop_instance_uid} in this study", param="sopInstanceUid")
    data = read_instance(row)
    if row.transfer_syntax_uid in VIEWER_SYNTAXES:
        return data
    return transcode(data, ExplicitVRLittleEndian)
