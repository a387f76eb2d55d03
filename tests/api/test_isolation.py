"""Tenancy: a key never sees another clinic's data; a "self" key never sees another key's studies."""

from __future__ import annotations

import avara
import pytest

from tests.conftest import ClinicFixture, Server
from tests.helpers import error_param, make_key, make_user, sdk, study_body


def test_another_clinic_cannot_see_or_touch_studies(
    server: Server, clinic: ClinicFixture, other_clinic: ClinicFixture
) -> None:
    mine = sdk(server.url, clinic.api_key)
    theirs = sdk(server.url, other_clinic.api_key)
    study = mine.auto_scribe.studies.create(**study_body())

    assert list(theirs.auto_scribe.studies.list()) == []
    with pytest.raises(avara.NotFoundError):
        theirs.auto_scribe.studies.retrieve(study.study_id)
    with pytest.raises(avara.NotFoundError):
        theirs.auto_scribe.studies.retrieve_by_uid(study.study_instance_uid)
    with pytest.raises(avara.NotFoundError):
        theirs.auto_scribe.studies.update(study.study_id, severity="stat")
    with pytest.raises(avara.NotFoundError):
        theirs.auto_scribe.studies.cancel(study_id=study.study_id)
    with pytest.raises(avara.NotFoundError):
        theirs.auto_scribe.studies.cancel(study_instance_uid=study.study_instance_uid)
    with pytest.raises(avara.NotFoundError):
        theirs.auto_scribe.studies.uncancel(study_id=study.study_id)

    # The UID is unique per clinic only: the other clinic may hold the same DICOM study.
    twin = theirs.auto_scribe.studies.create(**study_body(study_instance_uid=study.study_instance_uid))
    assert twin.study_id != study.study_id
    after = mine.auto_scribe.studies.retrieve(study.study_id)
    assert after.severity == "normal" and after.is_cancelled is False


def test_another_clinic_cannot_see_or_use_customers_and_users(
    server: Server, clinic: ClinicFixture, other_clinic: ClinicFixture
) -> None:
    mine = sdk(server.url, clinic.api_key)
    theirs = sdk(server.url, other_clinic.api_key)
    customer = mine.express.create(express_customer_name="Mine Inc.")
    my_user = make_user(clinic.clinic_id)

    assert [c.express_customer_id for c in theirs.express.list()] == []
    cid = customer.express_customer_id
    with pytest.raises(avara.NotFoundError):
        theirs.express.retrieve(cid)
    with pytest.raises(avara.NotFoundError):
        theirs.express.update(cid, express_customer_name="Stolen")
    with pytest.raises(avara.NotFoundError):
        theirs.express.deactivate(cid)
    with pytest.raises(avara.NotFoundError):
        theirs.express.reactivate(cid)
    with pytest.raises(avara.NotFoundError):
        theirs.express.users.add(cid, user_id=make_user(other_clinic.clinic_id))
    with pytest.raises(avara.NotFoundError) as on_study:
        theirs.auto_scribe.studies.create(**study_body(express_customer_id=cid))
    assert error_param(on_study.value) == "expressCustomerId"

    their_customer = theirs.express.create(express_customer_name="Theirs Inc.")
    with pytest.raises(avara.NotFoundError) as foreign_user:
        theirs.express.users.add(their_customer.express_customer_id, user_id=my_user)
    assert error_param(foreign_user.value) == "userId"
    assert mine.express.retrieve(cid).express_customer_name == "Mine Inc."


def test_self_scoped_keys_only_see_their_own_studies(server: Server, clinic: ClinicFixture) -> None:
    key_a = make_key(clinic.clinic_id, study_scope="self", description="PACS A")
    key_b = make_key(clinic.clinic_id, study_scope="self", description="PACS B")
    pacs_a, pacs_b = sdk(server.url, key_a.api_key), sdk(server.url, key_b.api_key)
    admin = sdk(server.url, clinic.api_key)

    a1 = pacs_a.auto_scribe.studies.create(**study_body())
    a2 = pacs_a.auto_scribe.studies.create(**study_body())
    b1 = pacs_b.auto_scribe.studies.create(**study_body())
    by_admin = admin.auto_scribe.studies.create(**study_body())

    assert [s.study_id for s in pacs_a.auto_scribe.studies.list()] == [a2.study_id, a1.study_id]
    assert [s.study_id for s in pacs_b.auto_scribe.studies.list()] == [b1.study_id]
    assert {s.study_id for s in admin.auto_scribe.studies.list()} == {
        a1.study_id,
        a2.study_id,
        b1.study_id,
        by_admin.study_id,
    }

    for foreign in (a1, by_admin):
        with pytest.raises(avara.NotFoundError):
            pacs_b.auto_scribe.studies.retrieve(foreign.study_id)
        with pytest.raises(avara.NotFoundError):
            pacs_b.auto_scribe.studies.retrieve_by_uid(foreign.study_instance_uid)
        with pytest.raises(avara.NotFoundError):
            pacs_b.auto_scribe.studies.update(foreign.study_id, severity="stat")
        with pytest.raises(avara.NotFoundError):
            pacs_b.auto_scribe.studies.cancel(study_id=foreign.study_id)
        with pytest.raises(avara.NotFoundError):
            pacs_b.auto_scribe.studies.cancel(study_instance_uid=foreign.study_instance_uid)
    assert pacs_a.auto_scribe.studies.retrieve(a1.study_id).severity == "normal"
    assert admin.auto_scribe.studies.retrieve(by_admin.study_id).is_cancelled is False

    # The owning key manages its own studies; an "all" key manages every study.
    assert pacs_a.auto_scribe.studies.update(a1.study_id, severity="high").severity == "high"
    assert pacs_a.auto_scribe.studies.cancel(study_id=a1.study_id).success is True
    assert admin.auto_scribe.studies.uncancel(study_id=a1.study_id).success is True
    assert admin.auto_scribe.studies.update(b1.study_id, modality="CT").modality == "CT"
    assert pacs_b.auto_scribe.studies.retrieve(b1.study_id).created_by_api_key.api_key_id == key_b.api_key_id
