"""Create, retrieve, update, cancel and uncancel studies with the official sync SDK."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import avara
import httpx
import pytest
from avara import Avara
from avara.types.auto_scribe import StudyCreateResponse

from tests.conftest import ClinicFixture, Server
from tests.helpers import error_param, new_uid, sdk, study_body

FULL_METADATA = {
    "age": "38 years",
    "date_of_birth": "1985-01-01",
    "facility_name": "South Tampa Imaging",
    "height": {"unit": "cm", "value": 178},
    "mrn": "MRN-0042",
    "patient_name": "John Doe",
    "procedure": "MRI Brain with Contrast",
    "referring_physician_name": "Dr. Gregory House",
    "sex": "male",
    "study_date": "2024-03-15",
    "study_time": "10:30",
    "weight": {"unit": "kg", "value": 72.5},
}


@pytest.fixture
def client(server: Server, clinic: ClinicFixture) -> Avara:
    return sdk(server.url, clinic.api_key)


def test_create_with_every_field_returns_them(client: Avara, clinic: ClinicFixture) -> None:
    uid = new_uid()
    before = datetime.now(UTC) - timedelta(seconds=5)
    study = client.auto_scribe.studies.create(
        severity="stat",
        study_description="Brain MRI with Contrast",
        study_instance_uid=uid,
        report_metadata=FULL_METADATA,
        clinical_history="Headaches for 3 weeks",
        clinical_indication="Rule out mass",
        external_patient_id="patient-77",
        metadata={"accession": "ACC-1", "site": "north"},
        modality="MRI",
        prior_reports=[
            {
                "report_text": "Normal brain MRI.",
                "external_study_id": "old-1",
                "modality": "MRI",
                "study_date": "2023-01-02",
                "study_description": "Brain MRI",
            },
            {"report_text": "Second prior."},
        ],
        technologist_notes=["Patient moved", "Contrast given at 10:40"],
        technologist_technique="Axial T1, T2, FLAIR",
    )
    assert study.study_id.startswith("stu_") and len(study.study_id) == 36
    assert study.study_instance_uid == uid
    assert study.severity == "stat"
    assert study.study_description == "Brain MRI with Contrast"
    assert study.study_report_status == "unassigned"
    assert study.study_type == "standard"
    assert study.is_cancelled is False and study.cancelled_at is None
    assert study.created_at is not None and study.created_at >= before
    assert study.updated_at == study.created_at
    meta = study.report_metadata
    assert meta.patient_name == "John Doe" and meta.mrn == "MRN-0042" and meta.age == "38 years"
    assert meta.date_of_birth == "1985-01-01" and meta.sex == "male"
    assert meta.procedure == "MRI Brain with Contrast"
    assert meta.study_date == "2024-03-15" and meta.study_time == "10:30"
    assert meta.referring_physician_name == "Dr. Gregory House"
    assert meta.facility_name == "South Tampa Imaging"
    assert meta.height is not None and (meta.height.unit, meta.height.value) == ("cm", 178)
    assert meta.weight is not None and (meta.weight.unit, meta.weight.value) == ("kg", 72.5)
    assert study.clinical_history == "Headaches for 3 weeks"
    assert study.clinical_indication == "Rule out mass"
    assert study.external_patient_id == "patient-77"
    assert study.metadata == {"accession": "ACC-1", "site": "north"}
    assert study.modality == "MRI"
    assert study.prior_reports is not None and len(study.prior_reports) == 2
    assert study.prior_reports[0].external_study_id == "old-1"
    assert study.prior_reports[0].study_date == "2023-01-02"
    assert study.prior_reports[1].report_text == "Second prior." and study.prior_reports[1].modality is None
    assert study.technologist_notes == ["Patient moved", "Contrast given at 10:40"]
    assert study.technologist_technique == "Axial T1, T2, FLAIR"
    assert study.created_by_api_key is not None
    assert study.created_by_api_key.api_key_id == clinic.api_key_id
    assert study.created_by_api_key.description == "First API key"
    assert study.created_by_user is None and study.assigned_to is None and study.express_customer is None
    assert study.report_ids == []


def test_minimal_create_and_empty_metadata(client: Avara) -> None:
    study = client.auto_scribe.studies.create(**study_body(report_metadata={}))
    assert study.report_metadata.patient_name is None
    assert study.technologist_notes == [] and study.prior_reports == []
    assert study.metadata is None and study.modality is None


def test_response_keeps_whole_numbers_whole(server: Server, clinic: ClinicFixture) -> None:
    # Webhook receivers re-serialize what they parse: 70 must not come back as 70.0.
    client = sdk(server.url, clinic.api_key)
    study = client.auto_scribe.studies.create(
        **study_body(report_metadata={"height": {"unit": "in", "value": 70}})
    )
    raw = httpx.get(
        f"{server.url}/v1/autoScribe/studies/{study.study_id}",
        headers={"Authorization": f"Bearer {clinic.api_key}"},
    )
    assert '"height":{"unit":"in","value":70}' in raw.text
    assert raw.json()["createdAt"].endswith("Z")


def test_retrieve_and_retrieve_by_uid_return_the_same_study(client: Avara) -> None:
    created = client.auto_scribe.studies.create(**study_body())
    by_id = client.auto_scribe.studies.retrieve(created.study_id)
    by_uid = client.auto_scribe.studies.retrieve_by_uid(created.study_instance_uid)
    assert by_id.model_dump() == created.model_dump() == by_uid.model_dump()


def test_retrieve_unknown_and_malformed_ids(client: Avara) -> None:
    with pytest.raises(avara.NotFoundError) as missing:
        client.auto_scribe.studies.retrieve("stu_" + "0" * 32)
    assert error_param(missing.value) == "studyId"
    with pytest.raises(avara.BadRequestError) as malformed:
        client.auto_scribe.studies.retrieve("stu_nothex")
    assert error_param(malformed.value) == "studyId"
    with pytest.raises(avara.NotFoundError):
        client.auto_scribe.studies.retrieve_by_uid(new_uid())
    with pytest.raises(avara.BadRequestError) as bad_uid:
        client.auto_scribe.studies.retrieve_by_uid("1.2.abc")
    assert error_param(bad_uid.value) == "studyInstanceUid"


def test_update_changes_only_what_is_sent(client: Avara) -> None:
    created = client.auto_scribe.studies.create(
        **study_body(
            report_metadata={"patient_name": "Jane Roe", "mrn": "M1"},
            clinical_history="history",
            modality="CT",
            technologist_notes=["one"],
        )
    )
    updated = client.auto_scribe.studies.update(created.study_id, severity="high")
    assert updated.severity == "high"
    assert updated.clinical_history == "history" and updated.modality == "CT"
    assert updated.technologist_notes == ["one"]
    assert updated.report_metadata.patient_name == "Jane Roe" and updated.report_metadata.mrn == "M1"
    assert updated.study_description == created.study_description
    assert updated.created_at == created.created_at
    assert updated.updated_at is not None and created.updated_at is not None
    assert updated.updated_at >= created.updated_at
    assert client.auto_scribe.studies.retrieve(created.study_id).severity == "high"


def test_update_null_clears_and_arrays_replace(client: Avara) -> None:
    created = client.auto_scribe.studies.create(
        **study_body(
            clinical_history="h",
            clinical_indication="i",
            external_patient_id="p",
            metadata={"a": "1"},
            modality="CT",
            prior_reports=[{"report_text": "old prior"}],
            technologist_notes=["n1", "n2"],
            technologist_technique="t",
        )
    )
    replaced = client.auto_scribe.studies.update(
        created.study_id,
        prior_reports=[{"report_text": "new prior", "modality": "CT"}],
        technologist_notes=["n3"],
        metadata={"b": "2"},
    )
    assert [p.report_text for p in replaced.prior_reports or []] == ["new prior"]
    assert replaced.technologist_notes == ["n3"]
    assert replaced.metadata == {"b": "2"}
    cleared = client.auto_scribe.studies.update(
        created.study_id,
        clinical_history=None,
        clinical_indication=None,
        external_patient_id=None,
        metadata=None,
        modality=None,
        prior_reports=None,
        technologist_notes=None,
        technologist_technique=None,
    )
    assert cleared.clinical_history is None and cleared.clinical_indication is None
    assert cleared.external_patient_id is None and cleared.metadata is None and cleared.modality is None
    assert cleared.prior_reports == [] and cleared.technologist_notes == []
    assert cleared.technologist_technique is None
    assert cleared.study_description == created.study_description


def test_update_report_metadata_merges_per_field(client: Avara) -> None:
    created = client.auto_scribe.studies.create(
        **study_body(
            report_metadata={"patient_name": "Jane Roe", "mrn": "M1", "height": {"unit": "cm", "value": 160}}
        )
    )
    merged = client.auto_scribe.studies.update(
        created.study_id, report_metadata={"mrn": "M2", "sex": "female", "height": None}
    )
    meta = merged.report_metadata
    assert (meta.patient_name, meta.mrn, meta.sex, meta.height) == ("Jane Roe", "M2", "female", None)
    cleared = client.auto_scribe.studies.update(created.study_id, report_metadata={"patient_name": None})
    assert cleared.report_metadata.patient_name is None and cleared.report_metadata.mrn == "M2"


def test_update_refuses_null_for_required_fields_and_the_uid(client: Avara) -> None:
    created = client.auto_scribe.studies.create(**study_body())
    for field in ("severity", "studyDescription"):
        with pytest.raises(avara.BadRequestError) as err:
            client.auto_scribe.studies.update(created.study_id, extra_body={field: None})
        assert error_param(err.value) == field
    with pytest.raises(avara.BadRequestError) as uid_err:
        client.auto_scribe.studies.update(created.study_id, extra_body={"studyInstanceUid": new_uid()})
    assert error_param(uid_err.value) == "studyInstanceUid"
    with pytest.raises(avara.BadRequestError) as unknown:
        client.auto_scribe.studies.update(created.study_id, extra_body={"color": "blue"})
    assert error_param(unknown.value) == "color"
    after = client.auto_scribe.studies.retrieve(created.study_id)
    assert after.study_instance_uid == created.study_instance_uid and after.severity == "normal"


def test_update_unknown_study_is_404(client: Avara) -> None:
    with pytest.raises(avara.NotFoundError):
        client.auto_scribe.studies.update("stu_" + "a" * 32, severity="high")


def test_legacy_spellings_are_accepted(client: Avara) -> None:
    # The guide's TypeScript sample sends studyUid; pre-2026-05 clients send scanDate/scanTime/scanType.
    uid = new_uid()
    study = client.post(
        "/v1/autoScribe/studies",
        body={
            "studyUid": uid,
            "studyDescription": "Coronary CT Angiogram",
            "severity": "normal",
            "reportMetadata": {
                "patientName": "John Doe",
                "dateOfBirth": "1985-01-01",
                "facilityName": "South Tampa Imaging",
                "scanDate": "2024-02-03",
                "scanTime": "08:15",
                "scanType": "CTA",
            },
        },
        cast_to=StudyCreateResponse,
    )
    assert study.study_instance_uid == uid
    assert study.report_metadata.study_date == "2024-02-03"
    assert study.report_metadata.study_time == "08:15"
    assert study.report_metadata.procedure == "CTA"
    updated = client.auto_scribe.studies.update(
        study.study_id,
        report_metadata={"scanType": "CT Coronary", "scanDate": None},
    )
    assert updated.report_metadata.procedure == "CT Coronary"
    assert updated.report_metadata.study_date is None and updated.report_metadata.study_time == "08:15"
    with pytest.raises(avara.BadRequestError) as err:
        client.post(
            "/v1/autoScribe/studies",
            body={
                "studyUid": new_uid(),
                "studyInstanceUid": new_uid(),
                "studyDescription": "x",
                "severity": "normal",
                "reportMetadata": {},
            },
            cast_to=StudyCreateResponse,
        )
    assert error_param(err.value) == "studyUid"


def test_cancel_and_uncancel_by_id_and_by_uid(client: Avara) -> None:
    study = client.auto_scribe.studies.create(**study_body())
    result = client.auto_scribe.studies.cancel(study_id=study.study_id)
    assert result.success is True
    cancelled = client.auto_scribe.studies.retrieve(study.study_id)
    assert cancelled.is_cancelled is True and cancelled.cancelled_at is not None
    with pytest.raises(avara.ConflictError):
        client.auto_scribe.studies.cancel(study_instance_uid=study.study_instance_uid)
    restored = client.auto_scribe.studies.uncancel(study_instance_uid=study.study_instance_uid)
    assert restored.success is True
    again = client.auto_scribe.studies.retrieve_by_uid(study.study_instance_uid)
    assert again.is_cancelled is False and again.cancelled_at is None
    with pytest.raises(avara.ConflictError):
        client.auto_scribe.studies.uncancel(study_id=study.study_id)
    both = client.auto_scribe.studies.cancel(
        study_id=study.study_id, study_instance_uid=study.study_instance_uid
    )
    assert both.success is True


def test_cancel_needs_a_matching_identifier(client: Avara) -> None:
    study = client.auto_scribe.studies.create(**study_body())
    with pytest.raises(avara.BadRequestError) as neither:
        client.auto_scribe.studies.cancel()
    assert error_param(neither.value) == "studyId"
    with pytest.raises(avara.BadRequestError) as mismatch:
        client.auto_scribe.studies.cancel(study_id=study.study_id, study_instance_uid=new_uid())
    assert error_param(mismatch.value) == "studyInstanceUid"
    with pytest.raises(avara.NotFoundError):
        client.auto_scribe.studies.cancel(study_instance_uid=new_uid())
    with pytest.raises(avara.NotFoundError):
        client.auto_scribe.studies.uncancel(study_id="stu_" + "b" * 32)
    with pytest.raises(avara.BadRequestError) as bad_uid:
        client.auto_scribe.studies.cancel(study_instance_uid="not-a-uid")
    assert error_param(bad_uid.value) == "studyInstanceUid"
    assert client.auto_scribe.studies.retrieve(study.study_id).is_cancelled is False


def test_conflicts_are_not_retried_by_the_sdk(server: Server, clinic: ClinicFixture) -> None:
    # The SDK retries 409 by default; the server says x-should-retry: false for real conflicts.
    requests: list[str] = []
    http = httpx.Client(event_hooks={"request": [lambda r: requests.append(r.url.path)]})
    client = Avara(api_key=clinic.api_key, base_url=server.url, max_retries=2, http_client=http)
    body = study_body()
    client.auto_scribe.studies.create(**body)
    requests.clear()
    with pytest.raises(avara.ConflictError) as err:
        client.auto_scribe.studies.create(**body)
    assert len(requests) == 1
    assert err.value.response.headers["x-should-retry"] == "false"


def test_same_uid_after_cancel_still_conflicts(client: Avara) -> None:
    body = study_body()
    study = client.auto_scribe.studies.create(**body)
    client.auto_scribe.studies.cancel(study_id=study.study_id)
    with pytest.raises(avara.ConflictError):
        client.auto_scribe.studies.create(**body)
