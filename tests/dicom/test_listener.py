"""The DIMSE listener against DCMTK: association routing, C-ECHO, C-STORE, study seeding."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from avara import Avara
from pydicom import dcmread
from sqlalchemy import func, select

from tests.conftest import Server
from tests.dicom.conftest import DicomClinic, ListenerProcess, configure, run_tool, wait_until
from tests.dicom.data import ct_series, transfer_syntax
from tests.helpers import sdk

JPEG_LS = "1.2.840.10008.1.2.4.80"
EXPLICIT_LE = "1.2.840.10008.1.2.1"


def echo(listener: ListenerProcess, called: str, calling: str = "ECHOSCU") -> Any:
    return run_tool("echoscu", "-aet", calling, "-aec", called, listener.host, str(listener.port))


def store(listener: ListenerProcess, called: str, paths: list[Path], *extra: str) -> Any:
    result = run_tool(
        "storescu", "-xt", *extra, "-aec", called, listener.host, str(listener.port), *map(str, paths)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def instances(clinic_id: str, study_uid: str) -> list[Any]:
    from autoscribe.db import session_scope
    from autoscribe.dicom.models import DicomInstance

    with session_scope() as session:
        return list(
            session.scalars(
                select(DicomInstance).where(
                    DicomInstance.clinic_id == uuid.UUID(clinic_id),
                    DicomInstance.study_instance_uid == study_uid,
                )
            )
        )


def studies_with_uid(clinic_id: str, study_uid: str) -> int:
    from autoscribe.db import session_scope
    from autoscribe.studies.models import Study

    with session_scope() as session:
        return (
            session.scalar(
                select(func.count()).where(
                    Study.clinic_id == uuid.UUID(clinic_id), Study.study_instance_uid == study_uid
                )
            )
            or 0
        )


def wait_for_study(client: Avara, study_uid: str, timeout: float = 30.0) -> Any:
    import avara

    def found() -> Any:
        try:
            return client.auto_scribe.studies.retrieve_by_uid(study_uid)
        except avara.NotFoundError:
            return None

    return wait_until(found, timeout, f"study {study_uid}")


def dataset_bytes(data: bytes) -> bytes:
    """The data set of a Part 10 file: what follows the file meta group."""
    from io import BytesIO

    from pydicom.filereader import _read_file_meta_info, read_preamble

    fp = BytesIO(data)
    read_preamble(fp, False)
    _read_file_meta_info(fp)
    return data[fp.tell() :]


# ---- association ---------------------------------------------------------------------------------


def test_echo_is_routed_by_called_ae_title_and_unknown_titles_are_rejected(
    listener: ListenerProcess, dicom_clinic: DicomClinic
) -> None:
    ok = echo(listener, dicom_clinic.ae_title)
    assert ok.returncode == 0, ok.stderr

    unknown = echo(listener, "NO_SUCH_CLINIC")
    assert unknown.returncode != 0
    assert "Called AE Title Not Recognized" in unknown.stdout + unknown.stderr


def test_allow_lists_of_calling_ae_titles_and_addresses(
    listener: ListenerProcess, dicom_clinic: DicomClinic
) -> None:
    configure(dicom_clinic.clinic_id, allowed_calling_aes=["CT01", "MR02"])
    refused = echo(listener, dicom_clinic.ae_title, calling="INTRUDER")
    assert refused.returncode != 0
    assert "Calling AE Title Not Recognized" in refused.stdout + refused.stderr
    assert echo(listener, dicom_clinic.ae_title, calling="CT01").returncode == 0

    configure(dicom_clinic.clinic_id, allowed_addresses=["10.0.0.0/8"])
    assert echo(listener, dicom_clinic.ae_title, calling="CT01").returncode != 0
    configure(dicom_clinic.clinic_id, allowed_addresses=["127.0.0.0/8", "::1"])
    assert echo(listener, dicom_clinic.ae_title, calling="CT01").returncode == 0


def test_a_clinic_without_an_ae_title_takes_no_dicom(
    listener: ListenerProcess, dicom_clinic: DicomClinic
) -> None:
    configure(dicom_clinic.clinic_id, ae_title=None)
    assert echo(listener, dicom_clinic.ae_title).returncode != 0


# ---- storage and seeding -------------------------------------------------------------------------


def test_storescu_of_a_half_jpeg_ls_ct_series_seeds_the_enriched_study(
    tmp_path: Path, server: Server, listener: ListenerProcess, dicom_clinic: DicomClinic
) -> None:
    dicom_clinic.answers["patient_study.enrichment_requested"] = lambda data: (
        200,
        {
            "patientName": "Maria Enriched",
            "facilityName": "Webhook Imaging Center",
            "externalPatientId": "EXT-42",
            "severity": "high",
            "weight": {"unit": "kg", "value": 61},
        },
    )
    series = ct_series(tmp_path / "ct", 10, jpeg_ls_every=2)
    syntaxes = [transfer_syntax(p) for p in series.paths]
    assert syntaxes.count(JPEG_LS) == 5 and syntaxes.count(EXPLICIT_LE) == 5

    store(listener, dicom_clinic.ae_title, series.paths)

    client = sdk(server.url, dicom_clinic.key.api_key)
    study = wait_for_study(client, series.study_uid)
    meta = study.report_metadata
    # webhook -> DICOM -> defaults, field by field
    assert meta.patient_name == "Maria Enriched"
    assert meta.facility_name == "Webhook Imaging Center"
    assert meta.mrn == "PID-001"  # the webhook said nothing: DICOM PatientID
    assert meta.date_of_birth == "1970-01-01"
    assert meta.sex == "female"
    assert meta.study_date == "2026-12-04" and meta.study_time == "10:15"
    assert meta.weight is not None and meta.weight.value == 61
    assert study.study_description == "CT CHEST WITHOUT CONTRAST"
    assert study.severity == "high"
    assert study.external_patient_id == "EXT-42"
    assert study.modality == "CT"
    assert study.study_report_status == "unassigned"
    assert study.created_by_api_key is not None
    assert study.created_by_api_key.api_key_id == dicom_clinic.key.api_key_id
    # ... and like any other study: in the list, and to the clinic's first key.
    listed = sdk(server.url, dicom_clinic.clinic.api_key).auto_scribe.studies.list(limit=100)
    assert study.study_id in [s.study_id for s in listed.studies]

    # The event is the SDK's, signed with the DICOM key's secret.
    [request] = dicom_clinic.requests("patient_study.enrichment_requested")
    event = Avara(api_key="unused", webhook_key=dicom_clinic.key.webhook_secret).webhooks.unwrap(
        request.body.decode(), headers=request.headers
    )
    assert event.type == "patient_study.enrichment_requested"
    assert event.data.clinic_id == dicom_clinic.clinic_id
    assert event.data.study_instance_uid == series.study_uid
    assert event.data.accession_number == "ACC-001"
    assert event.data.patient_id == "PID-001"

    # Indexed per instance, stored as received.
    rows = instances(dicom_clinic.clinic_id, series.study_uid)
    assert len(rows) == 10
    assert sorted(r.transfer_syntax_uid for r in rows) == sorted(syntaxes)
    assert {r.study_id.hex for r in rows} == {study.study_id.removeprefix("stu_")}
    assert all(r.seeded_at is not None and r.calling_ae == "STORESCU" for r in rows)
    from autoscribe.storage import get_storage

    by_sop = {r.sop_instance_uid: r for r in rows}
    for path in series.paths:
        sent = path.read_bytes()
        sop = str(dcmread(path, stop_before_pixels=True).SOPInstanceUID)
        kept = get_storage().get(by_sop[sop].storage_key)
        assert dataset_bytes(kept) == dataset_bytes(sent)
        assert by_sop[sop].size_bytes == len(kept)
        assert str(dcmread(__import__("io").BytesIO(kept)).file_meta.TransferSyntaxUID) == transfer_syntax(
            path
        )


def test_later_instances_join_the_study_instead_of_duplicating_it(
    tmp_path: Path, server: Server, listener: ListenerProcess, dicom_clinic: DicomClinic
) -> None:
    names = iter(["First Answer", "Second Answer"])
    dicom_clinic.answers["patient_study.enrichment_requested"] = lambda data: (
        200,
        {"patientName": next(names)},
    )
    series = ct_series(tmp_path / "ct", 4)
    store(listener, dicom_clinic.ae_title, series.paths[:2])
    client = sdk(server.url, dicom_clinic.key.api_key)
    first = wait_for_study(client, series.study_uid)
    assert first.report_metadata.patient_name == "First Answer"

    # Two new slices, and one sent again.
    store(listener, dicom_clinic.ae_title, series.paths[1:])
    wait_until(
        lambda: len(dicom_clinic.events("patient_study.enrichment_requested")) == 2, what="second enrichment"
    )
    wait_until(
        lambda: all(r.seeded_at is not None for r in instances(dicom_clinic.clinic_id, series.study_uid)),
        what="second seeding",
    )
    again = client.auto_scribe.studies.retrieve_by_uid(series.study_uid)
    assert again.study_id == first.study_id
    assert again.report_metadata.patient_name == "Second Answer"
    assert studies_with_uid(dicom_clinic.clinic_id, series.study_uid) == 1
    rows = instances(dicom_clinic.clinic_id, series.study_uid)
    assert len(rows) == 4
    assert {r.study_id.hex for r in rows} == {first.study_id.removeprefix("stu_")}


@pytest.mark.parametrize("failure", ["error", "timeout", "garbage"])
def test_enrichment_is_soft_failures_fall_back_to_the_dicom_header(
    failure: str, tmp_path: Path, server: Server, listener: ListenerProcess, dicom_clinic: DicomClinic
) -> None:
    import time

    def answer(data: dict[str, Any]) -> tuple[int, Any]:
        if failure == "timeout":
            time.sleep(4)  # the listener's sync timeout is 2 s
            return 200, {"patientName": "Too Late"}
        if failure == "garbage":
            return 200, b"<html>not json</html>"
        return 500, {"error": "down"}

    dicom_clinic.answers["patient_study.enrichment_requested"] = answer
    series = ct_series(tmp_path / "ct", 2, patient_name="HEADER^ONLY^Q")
    store(listener, dicom_clinic.ae_title, series.paths)
    study = wait_for_study(sdk(server.url, dicom_clinic.key.api_key), series.study_uid, timeout=40)
    assert study.report_metadata.patient_name == "ONLY Q HEADER"
    assert study.report_metadata.mrn == "PID-001"


def test_a_study_the_integrator_created_first_keeps_its_values(
    tmp_path: Path, server: Server, listener: ListenerProcess, dicom_clinic: DicomClinic
) -> None:
    series = ct_series(tmp_path / "ct", 2)
    client = sdk(server.url, dicom_clinic.clinic.api_key)
    created = client.auto_scribe.studies.create(
        study_instance_uid=series.study_uid,
        study_description="Ordered: CT chest",
        severity="stat",
        report_metadata={"patientName": "Ordered Name"},
    )
    store(listener, dicom_clinic.ae_title, series.paths)
    wait_until(
        lambda: (
            (rows := instances(dicom_clinic.clinic_id, series.study_uid))
            and all(r.seeded_at is not None for r in rows)
        ),
        what="seeding",
    )
    study = client.auto_scribe.studies.retrieve(created.study_id)
    assert study.study_description == "Ordered: CT chest"
    assert study.severity == "stat"
    assert study.report_metadata.patient_name == "Ordered Name"  # DICOM only fills what is missing
    assert study.report_metadata.mrn == "PID-001"
    assert study.modality == "CT"
    assert studies_with_uid(dicom_clinic.clinic_id, series.study_uid) == 1
    assert {r.study_id.hex for r in instances(dicom_clinic.clinic_id, series.study_uid)} == {
        created.study_id.removeprefix("stu_")
    }


def test_received_instances_are_kept_per_clinic(
    tmp_path: Path, listener: ListenerProcess, dicom_clinic: DicomClinic, other_clinic: Any
) -> None:
    configure(other_clinic.clinic_id, ae_title="O" + dicom_clinic.ae_title[1:])
    series = ct_series(tmp_path / "ct", 1)
    store(listener, dicom_clinic.ae_title, series.paths)
    store(listener, "O" + dicom_clinic.ae_title[1:], series.paths)
    mine = instances(dicom_clinic.clinic_id, series.study_uid)
    theirs = instances(other_clinic.clinic_id, series.study_uid)
    assert len(mine) == len(theirs) == 1
    assert mine[0].storage_key != theirs[0].storage_key
