"""Express customers through the official sync SDK: every method and the deactivation rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import avara
import pytest
from avara import Avara

from tests.conftest import ClinicFixture, Server
from tests.helpers import error_param, make_user, sdk, study_body


@pytest.fixture
def client(server: Server, clinic: ClinicFixture) -> Avara:
    return sdk(server.url, clinic.api_key)


def test_create_retrieve_update(client: Avara, clinic: ClinicFixture) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    created = client.express.create(
        express_customer_name="City Medical Center - Radiology Department",
        metadata={"billingId": "B-1", "region": "west"},
    )
    cid = created.express_customer_id
    assert cid.startswith("cus_") and len(cid) == 36
    assert created.express_customer_name == "City Medical Center - Radiology Department"
    assert created.is_active is True and created.user_count == 0
    assert created.metadata == {"billingId": "B-1", "region": "west"}
    assert created.created_by_api_key_id == clinic.api_key_id and created.created_by_user_id is None
    assert created.created_at is not None and created.created_at >= before

    assert client.express.retrieve(cid).model_dump() == created.model_dump()

    renamed = client.express.update(cid, express_customer_name="City Medical Center")
    assert renamed.express_customer_name == "City Medical Center"
    assert renamed.metadata == {"billingId": "B-1", "region": "west"}
    assert renamed.updated_at is not None and created.updated_at is not None
    assert renamed.updated_at >= created.updated_at

    replaced = client.express.update(cid, metadata={"billingId": "B-2"})
    assert replaced.metadata == {"billingId": "B-2"}
    assert replaced.express_customer_name == "City Medical Center"
    cleared = client.express.update(cid, metadata=None)
    assert cleared.metadata is None
    assert client.express.retrieve(cid).metadata is None


def test_invalid_customer_input_names_the_field(client: Avara) -> None:
    cases: list[tuple[dict[str, object], str]] = [
        ({"express_customer_name": ""}, "expressCustomerName"),
        ({"express_customer_name": "   "}, "expressCustomerName"),
        ({"express_customer_name": "x" * 201}, "expressCustomerName"),
        ({"express_customer_name": "ok", "metadata": {f"k{i}": "v" for i in range(51)}}, "metadata"),
        ({"express_customer_name": "ok", "metadata": {"k" * 101: "v"}}, "metadata"),
        ({"express_customer_name": "ok", "metadata": {"k": "v" * 1001}}, "metadata"),
        ({"express_customer_name": "ok", "extra_body": {"nickname": "x"}}, "nickname"),
    ]
    for kwargs, param in cases:
        with pytest.raises(avara.BadRequestError) as err:
            client.express.create(**kwargs)
        assert error_param(err.value) == param, kwargs
    cid = client.express.create(express_customer_name="Valid").express_customer_id
    with pytest.raises(avara.BadRequestError) as null_name:
        client.express.update(cid, extra_body={"expressCustomerName": None})
    assert error_param(null_name.value) == "expressCustomerName"
    with pytest.raises(avara.BadRequestError) as bad_id:
        client.express.retrieve("cus_XYZ")
    assert error_param(bad_id.value) == "expressCustomerId"
    with pytest.raises(avara.NotFoundError):
        client.express.retrieve("cus_" + "0" * 32)
    assert [c.express_customer_name for c in client.express.list()] == ["Valid"]


def test_list_paginates_newest_first(client: Avara) -> None:
    made = [
        client.express.create(express_customer_name=f"Customer {i}").express_customer_id for i in range(7)
    ]
    walked = [c.express_customer_id for c in client.express.list(limit=3)]
    assert walked == list(reversed(made))
    first = client.express.list(limit=3)
    assert len(first.express_customers) == 3 and first.has_more is True
    with pytest.raises(avara.BadRequestError) as err:
        client.express.list(limit=500)
    assert error_param(err.value) == "limit"


def test_users_add_and_remove(client: Avara, clinic: ClinicFixture) -> None:
    cid = client.express.create(express_customer_name="Acme").express_customer_id
    u1, u2 = make_user(clinic.clinic_id), make_user(clinic.clinic_id, can_create_reports=False, npi=None)
    added = client.express.users.add(cid, user_id=u1)
    assert added.success is True
    assert client.express.users.add(cid, user_id=u2).success is True
    assert client.express.retrieve(cid).user_count == 2
    again = client.express.users.add(cid, user_id=u1)
    assert again.success is True and "already" in (again.message or "")
    assert client.express.retrieve(cid).user_count == 2

    removed = client.express.users.remove(cid, user_id=u1)
    assert removed.success is True
    assert client.express.retrieve(cid).user_count == 1
    with pytest.raises(avara.NotFoundError) as not_linked:
        client.express.users.remove(cid, user_id=u1)
    assert error_param(not_linked.value) == "userId"
    with pytest.raises(avara.NotFoundError):
        client.express.users.add(cid, user_id="usr_" + "9" * 32)
    with pytest.raises(avara.BadRequestError) as malformed:
        client.express.users.add(cid, user_id="someone")
    assert error_param(malformed.value) == "userId"
    assert [c.user_count for c in client.express.list()] == [1]


def test_deactivated_customers_refuse_new_studies_and_users(client: Avara, clinic: ClinicFixture) -> None:
    cid = client.express.create(express_customer_name="Acme").express_customer_id
    keep = client.auto_scribe.studies.create(**study_body(express_customer_id=cid))
    linked = make_user(clinic.clinic_id)
    client.express.users.add(cid, user_id=linked)

    off = client.express.deactivate(cid)
    assert off.is_active is False and off.user_count == 1
    assert client.express.retrieve(cid).is_active is False

    with pytest.raises(avara.UnprocessableEntityError) as new_study:
        client.auto_scribe.studies.create(**study_body(express_customer_id=cid))
    assert error_param(new_study.value) == "expressCustomerId"
    plain = client.auto_scribe.studies.create(**study_body())
    with pytest.raises(avara.UnprocessableEntityError) as moved:
        client.auto_scribe.studies.update(plain.study_id, express_customer_id=cid)
    assert error_param(moved.value) == "expressCustomerId"
    with pytest.raises(avara.UnprocessableEntityError):
        client.express.users.add(cid, user_id=make_user(clinic.clinic_id))

    # Existing data is kept and still editable; users can still be unlinked.
    kept = client.auto_scribe.studies.update(keep.study_id, express_customer_id=cid, severity="high")
    assert kept.express_customer is not None and kept.express_customer.express_customer_id == cid
    assert client.express.users.remove(cid, user_id=linked).success is True
    assert client.express.update(cid, express_customer_name="Acme (closed)").is_active is False

    on = client.express.reactivate(cid)
    assert on.is_active is True and on.express_customer_name == "Acme (closed)"
    study = client.auto_scribe.studies.create(**study_body(express_customer_id=cid))
    assert study.express_customer is not None
    assert study.express_customer.express_customer_name == "Acme (closed)"
    assert client.express.users.add(cid, user_id=linked).success is True


def test_studies_carry_and_drop_their_customer(client: Avara) -> None:
    a = client.express.create(express_customer_name="A").express_customer_id
    b = client.express.create(express_customer_name="B").express_customer_id
    study = client.auto_scribe.studies.create(**study_body(express_customer_id=a))
    assert study.express_customer is not None
    assert (study.express_customer.express_customer_id, study.express_customer.express_customer_name) == (
        a,
        "A",
    )
    moved = client.auto_scribe.studies.update(study.study_id, express_customer_id=b)
    assert moved.express_customer is not None and moved.express_customer.express_customer_id == b
    dropped = client.auto_scribe.studies.update(study.study_id, express_customer_id=None)
    assert dropped.express_customer is None
