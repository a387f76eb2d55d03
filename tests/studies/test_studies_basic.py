"""Studies through the official SDK over real HTTP: the integration guide's own sample first."""

from __future__ import annotations

import avara
import pytest

from tests.conftest import ClinicFixture, Server
from tests.helpers import new_uid, sdk


def test_integration_guide_python_sample(
    server: Server, clinic: ClinicFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The guide's sample, verbatim but for the "..." placeholder, configured from the environment.
    monkeypatch.setenv("AVARA_API_KEY", clinic.api_key)
    monkeypatch.setenv("AVARA_BASE_URL", server.url)
    import os

    from avara import Avara

    client = Avara(
        api_key=os.environ.get("AVARA_API_KEY"),
    )
    study = client.auto_scribe.studies.create(
        severity="normal",
        study_description="Brain MRI with Contrast",
        study_instance_uid="1.2.840.113619.2.55.3.604688119.868.1234567890.123",
        report_metadata={
            "patient_name": "John Doe",
            "date_of_birth": "1985-01-01",
            "facility_name": "South Tampa Imaging",
        },
    )
    assert study.study_id.startswith("stu_") and len(study.study_id) == 36
    assert study.study_report_status == "unassigned"
    assert study.report_metadata.patient_name == "John Doe"
    fetched = client.auto_scribe.studies.retrieve(study.study_id)
    assert fetched.study_instance_uid == "1.2.840.113619.2.55.3.604688119.868.1234567890.123"


def test_duplicate_uid_conflicts(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    uid = new_uid()
    client.auto_scribe.studies.create(
        severity="normal", study_description="CT", study_instance_uid=uid, report_metadata={}
    )
    with pytest.raises(avara.ConflictError) as err:
        client.auto_scribe.studies.create(
            severity="stat", study_description="CT", study_instance_uid=uid, report_metadata={}
        )
    assert err.value.body["error"]["param"] == "studyInstanceUid"
