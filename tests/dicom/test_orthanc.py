"""Orthanc (Debian's `orthanc` + `orthanc-dicomweb`) as a real PACS next to ours: it sends a study
to the listener with C-STORE, then finds it and pulls it back over our DICOMweb."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ClinicFixture, Server, free_port, wait_for_http
from tests.dicom.conftest import DicomClinic, ListenerProcess, stop_process, wait_until
from tests.dicom.data import ct_series
from tests.helpers import sdk

DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")


@dataclass
class Orthanc:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def post(self, path: str, body: Any, timeout: float = 60) -> Any:
        answer = httpx.post(
            self.url + path,
            content=json.dumps(body) if not isinstance(body, bytes) else body,
            timeout=timeout,
        )
        assert answer.status_code == 200, (
            path,
            answer.status_code,
            answer.text,
            self.log_path.read_text()[-3000:],
        )
        return answer.json()


@pytest.fixture
def orthanc(
    tmp_path: Path, server: Server, listener: ListenerProcess, dicom_clinic: DicomClinic
) -> Iterator[Orthanc]:
    binary = shutil.which("Orthanc")
    if binary is None or not DICOMWEB_PLUGIN.exists():
        pytest.fail("Orthanc missing: apt-get install orthanc orthanc-dicomweb (see .ci/run)")
    http_port = free_port()
    dicom_port = free_port()
    while dicom_port == http_port:
        dicom_port = free_port()
    config = {
        "Name": "AutoScribe test peer",
        "StorageDirectory": str(tmp_path / "storage"),
        "IndexDirectory": str(tmp_path / "index"),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomAet": "ORTHANC",
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "HttpServerEnabled": True,
        "DicomServerEnabled": True,
        "Plugins": [str(DICOMWEB_PLUGIN)],
        "DicomModalities": {"autoscribe": [dicom_clinic.ae_title, "127.0.0.1", listener.port]},
        "DicomWeb": {
            "Enable": True,
            "Root": "/dicom-web/",
            "Servers": {
                "autoscribe": {
                    "Url": f"{server.url}/dicomweb/",
                    "HttpHeaders": {"Authorization": f"Bearer {dicom_clinic.clinic.api_key}"},
                }
            },
        },
    }
    config_path = tmp_path / "orthanc.json"
    config_path.write_text(json.dumps(config))
    log_path = tmp_path / "orthanc.log"
    proc = subprocess.Popen([binary, str(config_path)], stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{http_port}"
    try:
        try:
            wait_for_http(url + "/system", timeout=60, proc=proc)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n{log_path.read_text(errors='replace')[-3000:]}") from None
        yield Orthanc(url, proc, log_path)
    finally:
        stop_process(proc)


def test_orthanc_sends_a_study_and_reads_it_back_over_dicomweb(
    tmp_path: Path, server: Server, dicom_clinic: DicomClinic, orthanc: Orthanc
) -> None:
    dicom_clinic.answers["patient_study.enrichment_requested"] = lambda data: (
        200,
        {"patientName": "From Orthanc"},
    )
    series = ct_series(tmp_path / "ct", 4, jpeg_ls_every=2, patient_id="PID-ORTHANC")
    for path in series.paths:
        orthanc.post("/instances", path.read_bytes())
    [orthanc_study] = httpx.get(orthanc.url + "/studies").json()

    # Orthanc -> us: C-STORE.
    sent = orthanc.post("/modalities/autoscribe/store", {"Resources": [orthanc_study], "Synchronous": True})
    assert sent.get("FailedInstancesCount", 0) == 0, sent
    study = wait_until(lambda: _by_uid(server, dicom_clinic.clinic, series.study_uid), 40, "seeded study")
    assert study.report_metadata.patient_name == "From Orthanc"

    # Orthanc <- us: QIDO-RS finds it...
    found = orthanc.post(
        "/dicom-web/servers/autoscribe/qido",
        {"Uri": "/studies", "Arguments": {"StudyInstanceUID": series.study_uid}},
    )
    assert len(found) == 1
    # Orthanc hands back the DICOM JSON with single values unwrapped.
    assert found[0]["0020000D"]["Value"] in (series.study_uid, [series.study_uid])
    assert found[0]["00100020"]["Value"] in ("PID-ORTHANC", ["PID-ORTHANC"])

    # ... and WADO-RS brings it back into Orthanc after it forgot it.
    httpx.delete(f"{orthanc.url}/studies/{orthanc_study}").raise_for_status()
    assert httpx.get(orthanc.url + "/instances").json() == []
    orthanc.post(
        "/dicom-web/servers/autoscribe/retrieve", {"Resources": [{"Study": series.study_uid}]}, timeout=120
    )
    instances = httpx.get(orthanc.url + "/instances?expand").json()
    assert sorted(i["MainDicomTags"]["SOPInstanceUID"] for i in instances) == sorted(series.sop_uids)


def _by_uid(server: Server, clinic: ClinicFixture, uid: str) -> Any:
    import avara

    try:
        return sdk(server.url, clinic.api_key).auto_scribe.studies.retrieve_by_uid(uid)
    except avara.NotFoundError:
        return None
