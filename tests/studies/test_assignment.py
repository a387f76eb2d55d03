"""Assigning studies: only active users who may report and hold a valid NPI."""

from __future__ import annotations

import avara
import pytest

from tests.conftest import ClinicFixture, Server
from tests.helpers import error_param, force_study_state, make_user, sdk, study_body


def test_assign_on_create_and_unassign_on_update(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    rad = make_user(clinic.clinic_id, first_name="Ada", last_name="Lovelace")
    study = client.auto_scribe.studies.create(**study_body(assigned_to=rad))
    assert study.study_report_status == "assigned"
    assert study.assigned_to is not None
    assert study.assigned_to.user_id == rad
    assert (study.assigned_to.first_name, study.assigned_to.last_name) == ("Ada", "Lovelace")
    assert study.assigned_to.email.endswith("@example.test")

    unassigned = client.auto_scribe.studies.update(study.study_id, assigned_to=None)
    assert unassigned.assigned_to is None and unassigned.study_report_status == "unassigned"

    other = make_user(clinic.clinic_id)
    reassigned = client.auto_scribe.studies.update(study.study_id, assigned_to=other)
    assert reassigned.assigned_to is not None and reassigned.assigned_to.user_id == other
    assert reassigned.study_report_status == "assigned"


@pytest.mark.parametrize(
    "user_kwargs",
    [
        {"can_create_reports": False},
        {"npi": None},
        {"npi": "1234567890"},  # fails the Luhn check
        {"npi": "12345"},
        {"revoked": True},
    ],
    ids=["cannot-report", "no-npi", "bad-check-digit", "short-npi", "revoked"],
)
def test_unassignable_users_are_refused(
    server: Server, clinic: ClinicFixture, user_kwargs: dict[str, object]
) -> None:
    client = sdk(server.url, clinic.api_key)
    user = make_user(clinic.clinic_id, **user_kwargs)
    with pytest.raises(avara.UnprocessableEntityError) as on_create:
        client.auto_scribe.studies.create(**study_body(assigned_to=user))
    assert error_param(on_create.value) == "assignedTo"
    study = client.auto_scribe.studies.create(**study_body())
    with pytest.raises(avara.UnprocessableEntityError) as on_update:
        client.auto_scribe.studies.update(study.study_id, assigned_to=user)
    assert error_param(on_update.value) == "assignedTo"
    assert client.auto_scribe.studies.retrieve(study.study_id).assigned_to is None


def test_unknown_foreign_and_malformed_assignees(
    server: Server, clinic: ClinicFixture, other_clinic: ClinicFixture
) -> None:
    client = sdk(server.url, clinic.api_key)
    foreign = make_user(other_clinic.clinic_id)
    for user_id in ("usr_" + "1" * 32, foreign):
        with pytest.raises(avara.NotFoundError) as err:
            client.auto_scribe.studies.create(**study_body(assigned_to=user_id))
        assert error_param(err.value) == "assignedTo"
    with pytest.raises(avara.BadRequestError) as malformed:
        client.auto_scribe.studies.create(**study_body(assigned_to="rita"))
    assert error_param(malformed.value) == "assignedTo"
    assert list(client.auto_scribe.studies.list()) == []


def test_reading_started_cannot_be_unassigned_but_can_be_reassigned(
    server: Server, clinic: ClinicFixture
) -> None:
    client = sdk(server.url, clinic.api_key)
    rad, other = make_user(clinic.clinic_id), make_user(clinic.clinic_id)
    study = client.auto_scribe.studies.create(**study_body(assigned_to=rad))
    force_study_state(study.study_id, study_report_status="in_progress")
    with pytest.raises(avara.ConflictError) as err:
        client.auto_scribe.studies.update(study.study_id, assigned_to=None)
    assert error_param(err.value) == "assignedTo"
    moved = client.auto_scribe.studies.update(study.study_id, assigned_to=other)
    assert moved.assigned_to is not None and moved.assigned_to.user_id == other
    assert moved.study_report_status == "in_progress"


def test_signed_studies_cannot_be_cancelled(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    study = client.auto_scribe.studies.create(**study_body(assigned_to=make_user(clinic.clinic_id)))
    force_study_state(study.study_id, study_report_status="completed")
    with pytest.raises(avara.ConflictError):
        client.auto_scribe.studies.cancel(study_id=study.study_id)
    assert client.auto_scribe.studies.retrieve(study.study_id).is_cancelled is False


def test_radiologists_of_an_express_customer_get_only_that_customers_studies(
    server: Server, clinic: ClinicFixture
) -> None:
    # A user linked to Express customers sees only their studies ("strong isolation"), so a
    # study elsewhere must not be handed to them: they could not open it.
    client = sdk(server.url, clinic.api_key)
    north = client.express.create(express_customer_name="North Imaging").express_customer_id
    south = client.express.create(express_customer_name="South Imaging").express_customer_id
    rad = make_user(clinic.clinic_id)
    client.express.users.add(north, user_id=rad)

    ok = client.auto_scribe.studies.create(**study_body(assigned_to=rad, express_customer_id=north))
    assert ok.assigned_to is not None and ok.assigned_to.user_id == rad
    for customer in (south, None):
        extra = {"express_customer_id": customer} if customer else {}
        with pytest.raises(avara.UnprocessableEntityError) as refused:
            client.auto_scribe.studies.create(**study_body(assigned_to=rad, **extra))
        assert error_param(refused.value) == "assignedTo"
        assert "other Express customers" in refused.value.body["error"]["message"]

    elsewhere = client.auto_scribe.studies.create(**study_body(express_customer_id=south))
    with pytest.raises(avara.UnprocessableEntityError):
        client.auto_scribe.studies.update(elsewhere.study_id, assigned_to=rad)
    # Moving the study to the radiologist's customer in the same request makes it assignable.
    moved = client.auto_scribe.studies.update(elsewhere.study_id, express_customer_id=north, assigned_to=rad)
    assert moved.assigned_to is not None and moved.express_customer is not None
    assert moved.express_customer.express_customer_id == north
