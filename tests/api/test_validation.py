"""Bad input is refused with 400 (shape) or 413 (size), naming the field; never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import avara
import httpx
import pytest
from avara import Avara

from tests.conftest import ClinicFixture, Server
from tests.helpers import error_param, new_uid, sdk, study_body


@pytest.fixture
def client(server: Server, clinic: ClinicFixture) -> Avara:
    return sdk(server.url, clinic.api_key)


@pytest.mark.parametrize(
    "uid",
    [
        "abc",
        "1",
        "1..2",
        "1.2.",
        ".1.2",
        "01.2",
        "1.02",
        "1.2 ",
        "1.2\n",
        "1.2.-3",
        "1,2",
        "",
        "1." + "2" * 63,
    ],
)
def test_invalid_dicom_uids_are_refused(client: Avara, uid: str) -> None:
    with pytest.raises(avara.BadRequestError) as err:
        client.auto_scribe.studies.create(**study_body(study_instance_uid=uid))
    assert error_param(err.value) == "studyInstanceUid"


def test_valid_edge_uids_are_accepted(client: Avara) -> None:
    longest = "1.2." + "3" * 60  # exactly 64 characters
    assert len(longest) == 64
    for uid in ("0.0", "2.25.0", longest):
        assert (
            client.auto_scribe.studies.create(**study_body(study_instance_uid=uid)).study_instance_uid == uid
        )


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"severity": "urgent"}, "severity"),
        ({"study_description": ""}, "studyDescription"),
        ({"study_description": "  \t"}, "studyDescription"),
        ({"study_description": "x" * 1001}, "studyDescription"),
        ({"report_metadata": {"sex": "unknown"}}, "reportMetadata.sex"),
        ({"report_metadata": {"date_of_birth": "01/02/1985"}}, "reportMetadata.dateOfBirth"),
        ({"report_metadata": {"date_of_birth": "1985-02-30"}}, "reportMetadata.dateOfBirth"),
        ({"report_metadata": {"study_time": "25:00"}}, "reportMetadata.studyTime"),
        ({"report_metadata": {"study_time": "10:30\n"}}, "reportMetadata.studyTime"),
        ({"report_metadata": {"height": {"unit": "inches", "value": 70}}}, "reportMetadata.height.unit"),
        ({"report_metadata": {"weight": {"unit": "kg", "value": -1}}}, "reportMetadata.weight.value"),
        ({"report_metadata": {"weight": {"unit": "kg"}}}, "reportMetadata.weight.value"),
        ({"report_metadata": {"patient_name": "a\x00b"}}, "reportMetadata.patientName"),
        ({"report_metadata": {"patient_name": "x" * 257}}, "reportMetadata.patientName"),
        ({"report_metadata": {"favoriteColor": "blue"}}, "reportMetadata.favoriteColor"),
        ({"technologist_notes": ["n"] * 51}, "technologistNotes"),
        ({"technologist_notes": ["ok", "n" * 1001]}, "technologistNotes.1"),
        ({"prior_reports": [{"report_text": "r"}] * 51}, "priorReports"),
        ({"prior_reports": [{"report_text": ""}]}, "priorReports.0.reportText"),
        ({"prior_reports": [{"report_text": "r" * 50001}]}, "priorReports.0.reportText"),
        ({"prior_reports": [{"report_text": "r", "study_date": "yesterday"}]}, "priorReports.0.studyDate"),
        (
            {"prior_reports": [{"report_text": "r", "external_study_id": "e" * 257}]},
            "priorReports.0.externalStudyId",
        ),
        ({"metadata": {f"k{i}": "v" for i in range(51)}}, "metadata"),
        ({"metadata": {"": "v"}}, "metadata"),
        ({"metadata": {"k": "v" * 1001}}, "metadata"),
        ({"metadata": {"k": "v\x00"}}, "metadata"),
        ({"modality": "m" * 101}, "modality"),
        ({"external_patient_id": ""}, "externalPatientId"),
        ({"clinical_history": "h" * 20001}, "clinicalHistory"),
        ({"express_customer_id": "customer-1"}, "expressCustomerId"),
        ({"extra_body": {"priorStudyIds": ["stu_x"]}}, "priorStudyIds"),
    ],
)
def test_invalid_fields_are_named(client: Avara, overrides: dict[str, object], param: str) -> None:
    with pytest.raises(avara.BadRequestError) as err:
        client.auto_scribe.studies.create(**study_body(**overrides))
    assert error_param(err.value) == param
    assert err.value.body["error"]["type"] == "invalid_request"  # type: ignore[index]
    assert list(client.auto_scribe.studies.list()) == []


def test_documented_limits_are_accepted(client: Avara) -> None:
    study = client.auto_scribe.studies.create(
        **study_body(
            metadata={f"{i:03d}" + "k" * 97: "v" * 1000 for i in range(50)},
            technologist_notes=["n" * 1000] * 50,
            prior_reports=[{"report_text": "r" * 1000}] * 50,
        )
    )
    assert len(study.metadata or {}) == 50
    assert len(study.technologist_notes or []) == 50 and len(study.prior_reports or []) == 50


def test_missing_required_fields(server: Server, clinic: ClinicFixture) -> None:
    headers = {"Authorization": f"Bearer {clinic.api_key}"}
    url = f"{server.url}/v1/autoScribe/studies"
    full = {
        "severity": "normal",
        "studyDescription": "d",
        "studyInstanceUid": new_uid(),
        "reportMetadata": {},
    }
    for field in full:
        body = {k: v for k, v in full.items() if k != field}
        answer = httpx.post(url, json=body, headers=headers)
        assert answer.status_code == 400
        assert answer.json()["error"]["param"] == field
        assert field in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"", "application/json"),
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"text"', "application/json"),
        (b"null", "application/json"),
        (b'{"severity": "normal"}', "text/plain"),
        (b"\xff\xfe\x00", "application/json"),
        (b'{"studyDescription": "\\ud800"}', "application/json"),
        (b'{"reportMetadata": {"height": {"unit": "cm", "value": NaN}}}', "application/json"),
    ],
)
def test_unparseable_bodies_are_400(
    server: Server, clinic: ClinicFixture, content: bytes, content_type: str
) -> None:
    answer = httpx.post(
        f"{server.url}/v1/autoScribe/studies",
        content=content,
        headers={"Authorization": f"Bearer {clinic.api_key}", "Content-Type": content_type},
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["type"] == "invalid_request"
    assert answer.json()["error"]["message"]


def test_oversized_bodies_are_413_with_the_error_shape(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    huge = "x" * (5 * 1024 * 1024 + 1)
    with pytest.raises(avara.APIStatusError) as declared:
        client.auto_scribe.studies.create(**study_body(clinical_history=huge))
    assert declared.value.status_code == 413
    assert declared.value.body["error"]["type"] == "payload_too_large"  # type: ignore[index]

    def chunks() -> Iterator[bytes]:
        yield b'{"clinicalHistory": "'
        for _ in range(6):
            yield b"x" * (1024 * 1024)
        yield b'"}'

    chunked = httpx.post(
        f"{server.url}/v1/autoScribe/studies",
        content=chunks(),
        headers={"Authorization": f"Bearer {clinic.api_key}", "Content-Type": "application/json"},
    )
    assert chunked.status_code == 413
    assert chunked.json()["error"]["type"] == "payload_too_large"
    assert list(client.auto_scribe.studies.list()) == []


def test_chunked_bodies_under_the_limit_work(server: Server, clinic: ClinicFixture) -> None:
    import json

    body = json.dumps(
        {"severity": "high", "studyDescription": "d", "studyInstanceUid": new_uid(), "reportMetadata": {}}
    ).encode()
    answer = httpx.post(
        f"{server.url}/v1/autoScribe/studies",
        content=iter([body[:10], body[10:]]),
        headers={"Authorization": f"Bearer {clinic.api_key}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 200 and answer.json()["severity"] == "high"


def test_path_and_query_edge_cases_are_not_500(server: Server, clinic: ClinicFixture) -> None:
    headers = {"Authorization": f"Bearer {clinic.api_key}"}
    base = f"{server.url}/v1/autoScribe/studies"
    for path in (
        "/stu_" + "a" * 32 + "%0A",
        "/stu_" + "A" * 32,
        "/by-uid/1.2.3%0A",
        "/by-uid/" + "1" * 500,
        "/%00",
    ):
        answer = httpx.get(base + path, headers=headers)
        assert answer.status_code in (400, 404), (path, answer.text)
        assert answer.json()["error"]["message"]
    for query in (
        "studyDescription=a%00b",
        "cursor=%00",
        "cursor=eyJhZnRlciI6NX0",
        "limit=1e400",
        "limit=nan",
    ):
        answer = httpx.get(f"{base}?{query}", headers=headers)
        assert answer.status_code == 400, (query, answer.text)
    customers = f"{server.url}/v1/express/cus_{'b' * 32}%0A"
    assert httpx.get(customers, headers=headers).status_code == 400


def test_wrong_method_is_405_with_allow(server: Server, clinic: ClinicFixture) -> None:
    answer = httpx.put(f"{server.url}/v1/express", headers={"Authorization": f"Bearer {clinic.api_key}"})
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, POST"
    assert answer.json()["error"]["type"] == "method_not_allowed"
