"""DICOMweb at /dicomweb with dicomweb-client as the peer: QIDO-RS, WADO-RS, STOW-RS, scoping."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from dicomweb_client.api import DICOMwebClient
from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian, JPEGLSLossless

from tests.conftest import ClinicFixture, Server, _bootstrap
from tests.dicom.conftest import ListenerProcess, configure, run_tool, wait_until
from tests.dicom.data import Series, ct_series, transfer_syntax
from tests.helpers import KeyFixture, make_key, sdk
from tests.security.test_read_audit import events_after, last_event_id
from tests.webhooks.conftest import Receiver


@dataclass
class Archived:
    clinic: ClinicFixture
    key: KeyFixture  # the DICOM key (creator of received studies)
    series: Series
    study_id: str

    def jpeg_ls_path(self) -> Path:
        return next(p for p in self.series.paths if transfer_syntax(p) == JPEGLSLossless)


def client(server: Server, api_key: str) -> DICOMwebClient:
    return DICOMwebClient(url=f"{server.url}/dicomweb", headers={"Authorization": f"Bearer {api_key}"})


@pytest.fixture(scope="module")
def archived(
    tmp_path_factory: pytest.TempPathFactory, server: Server, listener: ListenerProcess
) -> Iterator[Archived]:
    """A CT study of 6 slices (3 JPEG-LS) received by C-STORE and seeded, in a clinic of its own."""
    clinic = _bootstrap("DICOMweb Clinic " + secrets.token_hex(3))
    receiver = Receiver.on_free_port()
    receiver.respond = lambda _r: (200, {}, b'{"patientName":"Web Patient"}')
    receiver.start()
    key = make_key(clinic.clinic_id, study_webhook_url=receiver.url, description="DICOM key")
    ae = "W" + secrets.token_hex(6).upper()
    configure(clinic.clinic_id, ae_title=ae, dicom_api_key_id=uuid.UUID(key.api_key_id))
    series = ct_series(
        tmp_path_factory.mktemp("ct"),
        6,
        jpeg_ls_every=2,
        rows=32,
        columns=48,
        patient_name="ARCHIVE^ANNA",
        patient_id="PID-WEB",
    )
    done = run_tool("storescu", "-xt", "-aec", ae, listener.host, str(listener.port), *map(str, series.paths))
    assert done.returncode == 0, done.stderr
    api = sdk(server.url, clinic.api_key)

    def seeded() -> Any:
        try:
            return api.auto_scribe.studies.retrieve_by_uid(series.study_uid)
        except Exception:
            return None

    study = wait_until(seeded, 30, "seeded study")
    yield Archived(clinic, key, series, study.study_id)
    receiver.stop()


# ---- QIDO-RS -------------------------------------------------------------------------------------


def test_qido_finds_the_study_series_and_instances(server: Server, archived: Archived) -> None:
    web = client(server, archived.clinic.api_key)
    [study] = web.search_for_studies(search_filters={"PatientID": "PID-WEB"})
    assert study["0020000D"]["Value"] == [archived.series.study_uid]
    assert study["00100010"]["Value"] == [{"Alphabetic": "ARCHIVE^ANNA"}]
    assert study["00080061"]["Value"] == ["CT"]
    assert study["00201206"]["Value"] == [1] and study["00201208"]["Value"] == [6]
    assert study["00081190"]["Value"] == [f"{server.url}/dicomweb/studies/{archived.series.study_uid}"]

    [series] = web.search_for_series(archived.series.study_uid)
    assert series["0020000E"]["Value"] == [archived.series.series_uid]
    assert series["00201209"]["Value"] == [6] and series["00080060"]["Value"] == ["CT"]

    found = web.search_for_instances(archived.series.study_uid, archived.series.series_uid)
    assert sorted(i["00080018"]["Value"][0] for i in found) == sorted(archived.series.sop_uids)
    syntaxes = sorted(i["00083002"]["Value"][0] for i in found)
    assert syntaxes == sorted([JPEGLSLossless] * 3 + [ExplicitVRLittleEndian] * 3)
    assert [i["00200013"]["Value"] for i in web.search_for_instances(archived.series.study_uid)] == [
        [n] for n in range(1, 7)
    ] or len(found) == 6


@pytest.mark.parametrize(
    ("filters", "hits"),
    [
        ({"PatientName": "archive*"}, 1),
        ({"PatientName": "ARCHIVE"}, 1),
        ({"PatientName": "nobody*"}, 0),
        ({"StudyDate": "20261201-20261231"}, 1),
        ({"StudyDate": "20250101-20250131"}, 0),
        ({"ModalitiesInStudy": "CT"}, 1),
        ({"ModalitiesInStudy": "MR"}, 0),
        ({"AccessionNumber": "ACC-001"}, 1),
        ({"00100020": "PID-WEB"}, 1),
        ({"StudyDescription": "CT CHEST*"}, 1),
        ({"StudyDescription": "MR*"}, 0),
    ],
)
def test_qido_matching(server: Server, archived: Archived, filters: dict[str, str], hits: int) -> None:
    web = client(server, archived.clinic.api_key)
    assert len(web.search_for_studies(search_filters={**filters, "PatientID": "PID-WEB"})) == hits


def test_qido_limit_offset_and_bad_parameters(server: Server, archived: Archived) -> None:
    web = client(server, archived.clinic.api_key)
    first = web.search_for_instances(archived.series.study_uid, limit=2)
    second = web.search_for_instances(archived.series.study_uid, limit=2, offset=2)
    assert len(first) == len(second) == 2
    assert {i["00080018"]["Value"][0] for i in first}.isdisjoint({i["00080018"]["Value"][0] for i in second})
    answer = httpx.get(
        f"{server.url}/dicomweb/studies",
        params={"NoSuchKeyword": "x"},
        headers={"Authorization": f"Bearer {archived.clinic.api_key}"},
    )
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "NoSuchKeyword"


# ---- WADO-RS -------------------------------------------------------------------------------------


def test_wado_returns_a_jpeg_ls_instance_whose_decoded_pixels_equal_what_was_sent(
    server: Server, archived: Archived
) -> None:
    path = archived.jpeg_ls_path()
    sent = dcmread(path)
    web = client(server, archived.clinic.api_key)
    got = web.retrieve_instance(
        archived.series.study_uid, archived.series.series_uid, str(sent.SOPInstanceUID)
    )
    assert got.file_meta.TransferSyntaxUID == JPEGLSLossless  # as stored (transfer-syntax=*)
    assert got.PixelData == sent.PixelData
    assert np.array_equal(got.pixel_array, archived.series.pixels[str(sent.SOPInstanceUID)])

    # Transcoded to uncompressed when asked.
    plain = web.retrieve_instance(
        archived.series.study_uid,
        archived.series.series_uid,
        str(sent.SOPInstanceUID),
        media_types=(("application/dicom", ExplicitVRLittleEndian),),
    )
    assert plain.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert plain.SOPInstanceUID == sent.SOPInstanceUID
    assert np.array_equal(plain.pixel_array, archived.series.pixels[str(sent.SOPInstanceUID)])


def test_wado_study_series_metadata_and_frames(server: Server, archived: Archived) -> None:
    web = client(server, archived.clinic.api_key)
    study = web.retrieve_study(archived.series.study_uid)
    assert sorted(str(ds.SOPInstanceUID) for ds in study) == sorted(archived.series.sop_uids)
    for ds in study:
        assert np.array_equal(ds.pixel_array, archived.series.pixels[str(ds.SOPInstanceUID)])
    series = web.retrieve_series(archived.series.study_uid, archived.series.series_uid)
    assert len(series) == 6

    metadata = web.retrieve_study_metadata(archived.series.study_uid)
    assert len(metadata) == 6
    item = metadata[0]
    assert "InlineBinary" not in item["7FE00010"] and item["7FE00010"]["BulkDataURI"].endswith("/frames/1")
    assert item["00280010"]["Value"] == [32] and item["00280011"]["Value"] == [48]

    sop = str(dcmread(archived.jpeg_ls_path(), stop_before_pixels=True).SOPInstanceUID)
    pixels = archived.series.pixels[sop]
    # Decoded, little endian, when asked for application/octet-stream.
    [frame] = web.retrieve_instance_frames(
        archived.series.study_uid,
        archived.series.series_uid,
        sop,
        [1],
        media_types=(("application/octet-stream", ExplicitVRLittleEndian),),
    )
    assert np.array_equal(np.frombuffer(frame, dtype="<i2").reshape(32, 48), pixels)
    # As stored (the JPEG-LS code stream) when asked for image/jls, or for anything (*/*).
    for media_types in ((("image/jls",),), None):
        [jls] = web.retrieve_instance_frames(
            archived.series.study_uid, archived.series.series_uid, sop, [1], media_types=media_types
        )
        assert jls[:2] == b"\xff\xd8"
        import jpeg_ls
        from pydicom.pixels import decompress  # noqa: F401  (plugins present)

        assert np.array_equal(jpeg_ls.decode(np.frombuffer(jls, dtype=np.uint8)).astype(np.int16), pixels)
    answer = httpx.get(
        f"{server.url}/dicomweb/studies/{archived.series.study_uid}/series/{archived.series.series_uid}"
        f"/instances/{sop}/frames/2",
        headers={"Authorization": f"Bearer {archived.clinic.api_key}"},
    )
    assert answer.status_code == 404


def test_wado_refuses_transfer_syntaxes_it_cannot_give(server: Server, archived: Archived) -> None:
    sop = str(dcmread(archived.jpeg_ls_path(), stop_before_pixels=True).SOPInstanceUID)
    url = (
        f"{server.url}/dicomweb/studies/{archived.series.study_uid}/series/{archived.series.series_uid}"
        f"/instances/{sop}"
    )
    answer = httpx.get(
        url,
        headers={
            "Authorization": f"Bearer {archived.clinic.api_key}",
            "Accept": 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.90',
        },
    )
    assert answer.status_code == 406


# ---- scoping -------------------------------------------------------------------------------------


def test_dicomweb_is_scoped_like_the_rest_api(
    server: Server, archived: Archived, other_clinic: ClinicFixture
) -> None:
    uid = archived.series.study_uid
    # The DICOM key created the study: it sees it, even with scope "self".
    assert (
        len(client(server, archived.key.api_key).search_for_studies(search_filters={"StudyInstanceUID": uid}))
        == 1
    )
    # Another clinic sees nothing.
    outsider = client(server, other_clinic.api_key)
    assert outsider.search_for_studies(search_filters={"StudyInstanceUID": uid}) == []
    headers = {"Authorization": f"Bearer {other_clinic.api_key}"}
    assert httpx.get(f"{server.url}/dicomweb/studies/{uid}", headers=headers).status_code == 404
    assert httpx.get(f"{server.url}/dicomweb/studies/{uid}/metadata", headers=headers).status_code == 404
    # A "self" key of the same clinic sees only the studies it created.
    own = make_key(archived.clinic.clinic_id, study_scope="self")
    assert client(server, own.api_key).search_for_studies(search_filters={"StudyInstanceUID": uid}) == []
    assert (
        httpx.get(
            f"{server.url}/dicomweb/studies/{uid}", headers={"Authorization": f"Bearer {own.api_key}"}
        ).status_code
        == 404
    )
    # No key, no archive.
    no_key = httpx.get(f"{server.url}/dicomweb/studies")
    assert no_key.status_code == 401


def test_dicomweb_reads_are_audited(server: Server, archived: Archived) -> None:
    """A search is one row (what was asked, how many matched); a retrieve names the study and
    its patient, like every read of patient data."""
    web = client(server, archived.clinic.api_key)
    before = last_event_id(archived.clinic.clinic_id)
    uid = archived.series.study_uid
    assert len(web.search_for_studies(search_filters={"PatientID": "PID-WEB"})) == 1
    web.retrieve_instance(uid, archived.series.series_uid, archived.series.sop_uids[1])
    rows = events_after(before, archived.clinic.clinic_id)
    search, retrieve = [r for r in rows if r.action in ("read.dicom_search", "read.dicom")]
    assert search.action == "read.dicom_search" and search.details["returned"] == 1
    assert search.details["query"]["PatientID"] == "PID-WEB" and search.details["query"]["level"] == "study"
    assert retrieve.action == "read.dicom" and retrieve.target_id == archived.study_id
    assert retrieve.patient_key and retrieve.actor_type == "api_key"


# ---- STOW-RS -------------------------------------------------------------------------------------


def test_stow_stores_instances_that_are_then_seeded_like_received_ones(
    tmp_path: Path, server: Server, listener: ListenerProcess, clinic: ClinicFixture
) -> None:
    series = ct_series(tmp_path / "ct", 3, jpeg_ls_every=3, patient_name="STOW^SAM", patient_id="PID-STOW")
    web = client(server, clinic.api_key)
    result = web.store_instances([dcmread(p) for p in series.paths])
    assert sorted(str(s.ReferencedSOPInstanceUID) for s in result.ReferencedSOPSequence) == sorted(
        series.sop_uids
    )
    assert "FailedSOPSequence" not in result

    # Seeded by the listener's idle loop: no DICOM key in this clinic, so no enrichment and the
    # storing key is the creator.
    api = sdk(server.url, clinic.api_key)

    def seeded() -> Any:
        try:
            return api.auto_scribe.studies.retrieve_by_uid(series.study_uid)
        except Exception:
            return None

    study = wait_until(seeded, 30, "seeded study")
    assert study.report_metadata.patient_name == "SAM STOW"
    assert study.created_by_api_key.api_key_id == clinic.api_key_id
    got = web.retrieve_instance(series.study_uid, series.series_uid, series.sop_uids[0])
    assert got.file_meta.TransferSyntaxUID == JPEGLSLossless
    assert np.array_equal(got.pixel_array, series.pixels[series.sop_uids[0]])


def test_stow_to_a_study_refuses_instances_of_another_study(
    tmp_path: Path, server: Server, clinic: ClinicFixture
) -> None:
    series = ct_series(tmp_path / "ct", 1)
    web = client(server, clinic.api_key)
    wrong = "1.2.826.0.1.3680043.8.498.999"
    answer = httpx.post(
        f"{server.url}/dicomweb/studies/{wrong}",
        content=b"--b1\r\nContent-Type: application/dicom\r\n\r\n"
        + series.paths[0].read_bytes()
        + b"\r\n--b1--\r\n",
        headers={
            "Authorization": f"Bearer {clinic.api_key}",
            "Content-Type": 'multipart/related; type="application/dicom"; boundary=b1',
        },
    )
    assert answer.status_code == 409
    assert answer.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0xA900]
    garbage = httpx.post(
        f"{server.url}/dicomweb/studies",
        content=b"--b1\r\nContent-Type: application/dicom\r\n\r\nnot dicom\r\n--b1--\r\n",
        headers={
            "Authorization": f"Bearer {clinic.api_key}",
            "Content-Type": 'multipart/related; type="application/dicom"; boundary=b1',
        },
    )
    assert garbage.status_code == 409
    assert web.search_for_studies(search_filters={"StudyInstanceUID": series.study_uid}) == []


def test_study_manifest_for_the_viewer(archived: Archived) -> None:
    """What the workspace viewer can load the archived study with: the reference's manifest shape,
    accepted whole by the platform's own manifest check."""
    from autoscribe.db import get_sessionmaker
    from autoscribe.dicom.web import study_manifest
    from autoscribe.studies.service import StudyScope
    from autoscribe.webhooks.schemas import clean_manifest

    with get_sessionmaker()() as session:
        manifest = study_manifest(
            session, StudyScope(clinic_id=uuid.UUID(archived.clinic.clinic_id)), archived.series.study_uid
        )
    [series] = manifest["series"]
    assert series["modality"] == "CT" and series["seriesDescription"] == "Axial 1mm"
    assert [s["instanceNumber"] for s in series["sops"]] == list(range(1, 7))
    sop = series["sops"][0]
    assert (sop["rows"], sop["columns"], sop["bitsAllocated"], sop["samplesPerPixel"]) == (32, 48, 16, 1)
    assert sop["photometricInterpretation"] == "MONOCHROME2" and sop["pixelRepresentation"] == 1
    assert sop["rescaleIntercept"] == -1024
    assert clean_manifest(manifest, archived.series.study_uid) == manifest


def test_bad_requests_get_the_one_error_shape(server: Server, archived: Archived) -> None:
    headers = {"Authorization": f"Bearer {archived.clinic.api_key}"}
    base = f"{server.url}/dicomweb"
    for url, params in (
        (f"{base}/studies/not-a-uid", {}),
        (f"{base}/studies/{archived.series.study_uid}/series/1.2.3/instances/x/frames/1", {}),
        (f"{base}/studies", {"limit": "0"}),
        (f"{base}/studies", {"offset": "-1"}),
        (f"{base}/studies", {"SeriesNumber": "one"}),
    ):
        answer = httpx.get(url, params=params, headers=headers)
        assert answer.status_code == 400, (url, params, answer.text)
        assert answer.json()["error"]["type"] == "invalid_request"
    # SQL wildcards in a value are plain characters; hostile text finds nothing and breaks nothing.
    for value in ("%", "_", "ARCHIVE%", "'; DROP TABLE dicom_instances;--", "\x1b[31m\u202e", "山田*"):
        answer = httpx.get(f"{base}/studies", params={"PatientName": value}, headers=headers)
        assert answer.status_code == 200 and answer.json() == [], value
    nul = httpx.get(f"{base}/studies", params={"PatientName": "A\x00"}, headers=headers)
    assert nul.status_code == 400 and nul.json()["error"]["param"] == "PatientName"
    empty = httpx.post(
        f"{base}/studies",
        content=b"",
        headers={**headers, "Content-Type": 'multipart/related; type="application/dicom"; boundary=x'},
    )
    assert empty.status_code == 400
    wrong_type = httpx.post(
        f"{base}/studies", content=b"{}", headers={**headers, "Content-Type": "application/json"}
    )
    assert wrong_type.status_code == 400
