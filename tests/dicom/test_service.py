"""The DICOM edge's rules in-process: header values, the field-by-field merge, and
finalize_idle_studies called on its own with an explicit `now`."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import ClinicFixture
from tests.dicom.data import ct_series


def test_dicom_header_values() -> None:
    from autoscribe.dicom.header import dicom_age, dicom_date, dicom_time, person_name

    assert person_name("DOE^JANE^Q^DR^JR") == "DR JANE Q DOE JR"
    assert person_name("Yamada^Tarou=山田^太郎") == "Tarou Yamada"
    assert person_name("^") is None
    assert dicom_date("20261204") == "2026-12-04" and dicom_date("2026.12.04") == "2026-12-04"
    assert dicom_date("2026") is None
    assert dicom_time("101500.123") == "10:15" and dicom_time("1015") == "10:15" and dicom_time("x") is None
    assert dicom_age("034Y") == "34 years" and dicom_age("001M") == "1 month" and dicom_age("34") is None


def test_merge_is_field_by_field_and_drops_only_bad_fields() -> None:
    from autoscribe.dicom.service import merged_fields

    header = {
        "patientName": "JANE DOE",
        "mrn": "PID-1",
        "studyDate": "2026-12-04",
        "sex": "female",
        "studyDescription": "CT CHEST",
    }
    answer = {
        "patientName": "Jane Q. Doe",
        "studyDate": "not a date",
        "sex": "robot",
        "severity": "stat",
        "height": {"unit": "cm", "value": 170},
        "studyDescription": "  ",
        "externalPatientId": "E-1",
    }
    webhook, dicom = merged_fields(header, answer, "1.2.3")
    assert webhook == {
        "patientName": "Jane Q. Doe",
        "height": {"unit": "cm", "value": 170},
        "severity": "stat",
        "externalPatientId": "E-1",
    }
    assert dicom == {
        "patientName": "JANE DOE",
        "mrn": "PID-1",
        "studyDate": "2026-12-04",
        "sex": "female",
        "studyDescription": "CT CHEST",
    }


def test_finalize_idle_studies_can_be_called_on_its_own(tmp_path: Path, clinic: ClinicFixture) -> None:
    from autoscribe.db import get_sessionmaker, utcnow
    from autoscribe.dicom.models import DicomInstance
    from autoscribe.dicom.service import finalize_idle_studies, store_instance
    from autoscribe.studies.models import Study

    clinic_id = uuid.UUID(clinic.clinic_id)
    series = ct_series(tmp_path / "ct", 3)
    # Received "in the future", so that no running listener takes them meanwhile.
    received = utcnow() + timedelta(days=1)
    with get_sessionmaker()() as session:
        for i, path in enumerate(series.paths):
            store_instance(
                session, clinic_id, path.read_bytes(), calling_ae="CT01", now=received + timedelta(seconds=i)
            )
        last = received + timedelta(seconds=2)

        early = finalize_idle_studies(session, last + timedelta(seconds=29))  # idle 30 s by default
        assert series.study_uid not in {r.study_instance_uid for r in early}
        skipped = finalize_idle_studies(
            session, last + timedelta(seconds=31), skip=frozenset({(clinic_id, series.study_uid)})
        )
        assert series.study_uid not in {r.study_instance_uid for r in skipped}

        [done] = [
            r
            for r in finalize_idle_studies(session, last + timedelta(seconds=31))
            if r.study_instance_uid == series.study_uid
        ]
        assert done.created and done.instances == 3 and done.error is None and done.enrichment == {}
        study = session.get(Study, done.study_id)
        assert study is not None and study.clinic_id == clinic_id
        assert study.report_metadata["patientName"] == "JANE DOE"
        assert study.created_by_api_key_id is None  # no DICOM key in this clinic
        rows = (
            session.query(DicomInstance)
            .filter_by(clinic_id=clinic_id, study_instance_uid=series.study_uid)
            .all()
        )
        assert {r.study_id for r in rows} == {study.id} and all(r.seeded_at is not None for r in rows)
        # Nothing left to do for it.
        again = finalize_idle_studies(session, last + timedelta(seconds=60))
        assert series.study_uid not in {r.study_instance_uid for r in again}


def test_store_refuses_what_is_not_dicom(clinic: ClinicFixture) -> None:
    from autoscribe.db import get_sessionmaker
    from autoscribe.dicom.service import store_instance
    from autoscribe.errors import InvalidRequest

    with get_sessionmaker()() as session, pytest.raises(InvalidRequest):
        store_instance(session, uuid.UUID(clinic.clinic_id), b"\0" * 200)


def test_odd_header_values_are_stored_and_seeded(tmp_path: Path, clinic: ClinicFixture) -> None:
    """NUL padding inside values, control characters, unparsable numbers, non-Latin names: the
    instance is kept and indexed on both databases, and the study seeded from what is usable."""
    import warnings
    from io import BytesIO

    from pydicom import dcmread

    from autoscribe.db import get_sessionmaker, utcnow
    from autoscribe.dicom.service import finalize_idle_studies, store_instance
    from autoscribe.studies.models import Study

    series = ct_series(tmp_path / "ct", 1)
    ds = dcmread(series.paths[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.PatientName = "Yamada^Tarou\x00=山田^太郎"
        ds.StudyDescription = "CT\x1b[31m HEAD\x00"
        ds.PatientSize = "9.87654321"  # replaced by letters in the bytes below (pydicom refuses them)
        ds.PatientBirthDate = "19991399"
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    data = out.getvalue()
    assert data.count(b"9.87654321") == 1
    data = data.replace(b"9.87654321", b"tall,ish  ")
    received = utcnow() + timedelta(days=2)
    with get_sessionmaker()() as session:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom: the escape character in a UTF-8 value
            row = store_instance(session, uuid.UUID(clinic.clinic_id), data, now=received)
        assert "\x00" not in (row.patient_name or "") and row.study_instance_uid == series.study_uid
        [done] = [
            r
            for r in finalize_idle_studies(session, received + timedelta(seconds=31))
            if r.study_instance_uid == series.study_uid
        ]
        assert done.error is None
        study = session.get(Study, done.study_id)
        assert study is not None
        assert study.report_metadata["patientName"] == "Tarou Yamada"
        assert "dateOfBirth" not in study.report_metadata and "height" not in study.report_metadata
        assert study.study_description.startswith("CT")
