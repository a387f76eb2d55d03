"""Modality Worklist: findscu -W against the listener, answered by the clinic's worklist webhook."""

from __future__ import annotations

import warnings
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydicom import Dataset, dcmread
from pydicom.sequence import Sequence

from tests.dicom.conftest import DicomClinic, ListenerProcess, run_tool

# The day the queries ask for, fixed once: a run that crosses midnight must not compare two days.
TODAY_DATE = date.today()
TODAY = TODAY_DATE.strftime("%Y%m%d")


def exam(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "AccessionNumber": "ACC-7001",
        "Modality": "CT",
        "PatientBirthDate": "19610215",
        "PatientID": "MRN-7001",
        "PatientName": "SCHEDULED^PAT",
        "PatientSex": "M",
        "PatientSize": "1.80",
        "PatientWeight": "82",
        "ProtocolName": "CT Chest Routine",
        "RequestedProcedureDescription": "CT CHEST W/O",
        "ScheduledProcedureStepSequence": [
            {
                "Modality": "CT",
                "ScheduledProcedureStepDescription": "Chest without contrast",
                "ScheduledProcedureStepID": "SPS-7001",
                "ScheduledProcedureStepStartDate": TODAY,
                "ScheduledProcedureStepStartTime": "093000",
            }
        ],
        "StudyDescription": "CT CHEST",
        "StudyInstanceUID": "1.2.826.0.1.3680043.8.498.1001",
    }
    item.update(overrides)
    return item


def findscu(listener: ListenerProcess, called: str, out: Path, *keys: str) -> Any:
    out.mkdir(parents=True, exist_ok=True)
    args = ["findscu", "-d", "-W", "-aet", "CT01", "-aec", called, "-X", "-od", str(out)]
    for key in keys:
        args += ["-k", key]
    return run_tool(*args, listener.host, str(listener.port))


STANDARD_KEYS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "AccessionNumber",
    "StudyInstanceUID",
    "RequestedProcedureDescription",
    "ScheduledProcedureStepSequence[0].Modality=CT",
    f"ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate={TODAY}",
    "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime",
    "ScheduledProcedureStepSequence[0].ScheduledProcedureStepID",
    "ScheduledProcedureStepSequence[0].ScheduledProcedureStepDescription",
)


def responses(out: Path) -> list[Dataset]:
    return [dcmread(p) for p in sorted(out.glob("rsp*.dcm"))]


def test_findscu_returns_the_scheduled_exam_the_webhook_returned(
    tmp_path: Path, listener: ListenerProcess, dicom_clinic: DicomClinic
) -> None:
    dicom_clinic.answers["modality_worklist.requested"] = lambda data: (
        200,
        {
            "authorized": True,
            "items": [
                exam(),
                exam(
                    Modality="MR",
                    AccessionNumber="ACC-MR",
                    ScheduledProcedureStepSequence=[
                        {**exam()["ScheduledProcedureStepSequence"][0], "Modality": "MR"}
                    ],
                ),
            ],
        },
    )
    result = findscu(listener, dicom_clinic.ae_title, tmp_path / "out", *STANDARD_KEYS)
    assert result.returncode == 0, result.stdout + result.stderr
    [found] = responses(tmp_path / "out")  # the MR exam does not match Modality=CT
    assert str(found.PatientName) == "SCHEDULED^PAT"
    assert found.PatientID == "MRN-7001"
    assert found.AccessionNumber == "ACC-7001"
    assert found.StudyInstanceUID == "1.2.826.0.1.3680043.8.498.1001"
    step = found.ScheduledProcedureStepSequence[0]
    assert step.ScheduledProcedureStepID == "SPS-7001"
    assert step.ScheduledProcedureStepStartTime == "093000"
    assert step.Modality == "CT"
    assert "ProtocolName" not in found  # only the keys asked for come back

    [event] = dicom_clinic.events("modality_worklist.requested")
    assert event["data"] == {
        "callingAe": "CT01",
        "clinicId": dicom_clinic.clinic_id,
        "dateStart": TODAY_DATE.isoformat(),
        "dateEnd": TODAY_DATE.isoformat(),
        "sourceIp": "127.0.0.1",
        "modality": "CT",
    }
    from avara.types import ModalityWorklistRequestedEvent

    ModalityWorklistRequestedEvent.model_validate(event)


def test_matching_keys_are_honoured(
    tmp_path: Path, listener: ListenerProcess, dicom_clinic: DicomClinic
) -> None:
    dicom_clinic.answers["modality_worklist.requested"] = lambda data: (
        200,
        {
            "authorized": True,
            "items": [exam(), exam(PatientName="OTHER^PERSON", PatientID="MRN-2", AccessionNumber="ACC-2")],
        },
    )
    result = findscu(
        listener, dicom_clinic.ae_title, tmp_path / "a", "PatientName=sched*", "PatientID", "AccessionNumber"
    )
    assert result.returncode == 0, result.stderr
    assert [r.PatientID for r in responses(tmp_path / "a")] == ["MRN-7001"]

    result = findscu(listener, dicom_clinic.ae_title, tmp_path / "b", "AccessionNumber=ACC-2", "PatientName")
    assert [str(r.PatientName) for r in responses(tmp_path / "b")] == ["OTHER^PERSON"]

    result = findscu(
        listener,
        dicom_clinic.ae_title,
        tmp_path / "c",
        "PatientID",
        "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate=20000101-20000131",
    )
    assert responses(tmp_path / "c") == []
    assert dicom_clinic.events()[-1]["data"]["dateStart"] == "2000-01-01"
    assert dicom_clinic.events()[-1]["data"]["dateEnd"] == "2000-01-31"


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ((200, {"authorized": False, "error": "modality not registered"}), "c001"),  # + ErrorComment
        ("timeout", "c003"),
        ((500, {}), "c002"),
        ((200, {"items": []}), "c002"),  # authorized is required
    ],
)
def test_unauthorized_timeouts_and_failures_answer_a_failure_status(
    answer: Any, status: str, tmp_path: Path, listener: ListenerProcess, dicom_clinic: DicomClinic
) -> None:
    import time

    def respond(data: dict[str, Any]) -> Any:
        if answer == "timeout":
            time.sleep(4)  # the listener's sync timeout is 2 s
            return 200, {"authorized": True, "items": [exam()]}
        return answer

    dicom_clinic.answers["modality_worklist.requested"] = respond
    result = findscu(listener, dicom_clinic.ae_title, tmp_path / "out", *STANDARD_KEYS)
    output = (result.stdout + result.stderr).lower()
    assert f"dimse status                  : 0x{status}: failed" in output, output
    assert responses(tmp_path / "out") == []


# ---- matching rules, without the network ---------------------------------------------------------


def test_date_windows() -> None:
    from autoscribe.dicom.worklist import date_window

    today = date(2026, 12, 5)
    assert date_window("", today) == (today, today)
    assert date_window("20261201", today) == (date(2026, 12, 1), date(2026, 12, 1))
    assert date_window("20261201-20261203", today) == (date(2026, 12, 1), date(2026, 12, 3))
    assert date_window("20261201-", today) == (date(2026, 12, 1), date(2026, 12, 31))
    assert date_window("-20261231", today) == (date(2026, 12, 1), date(2026, 12, 31))
    assert date_window("garbage", today) == (today, today)


def test_item_matching_and_projection() -> None:
    from autoscribe.dicom.worklist import item_dataset, matches, project

    item = item_dataset(exam(Unknown="dropped", PatientWeight=""))
    assert "PatientWeight" in item and item.PatientName == "SCHEDULED^PAT"
    query = Dataset()
    query.PatientName = "*pat"
    query.PatientID = ""
    step = Dataset()
    step.ScheduledProcedureStepStartDate = f"{TODAY}-{TODAY}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns that "C?" is not a CS value: it is a query
        step.Modality = "C?"
    query.ScheduledProcedureStepSequence = Sequence([step])
    assert matches(item, query)
    projected = project(item, query)
    assert set(projected.dir()) == {
        "PatientID",
        "PatientName",
        "ScheduledProcedureStepSequence",
        "SpecificCharacterSet",
    }
    step.Modality = "MR"
    assert not matches(item, query)
    query.ScheduledProcedureStepSequence[0].Modality = ""
    query.StudyInstanceUID = "1.2.3\\1.2.826.0.1.3680043.8.498.1001"
    assert matches(item, query)
