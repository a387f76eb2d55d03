"""Authentication and the API key's access levels, through the SDK's typed errors."""

from __future__ import annotations

import avara
import httpx
import pytest
from avara import Avara

from tests.conftest import ClinicFixture, Server
from tests.helpers import make_key, make_user, sdk, study_body


def test_missing_malformed_and_unknown_keys_are_401(server: Server, clinic: ClinicFixture) -> None:
    no_header = httpx.get(f"{server.url}/v1/autoScribe/studies")
    assert no_header.status_code == 401
    assert no_header.json()["error"]["type"] == "authentication_error"
    assert "Authorization" in no_header.json()["error"]["message"]
    basic = httpx.get(f"{server.url}/v1/express", headers={"Authorization": f"Basic {clinic.api_key}"})
    assert basic.status_code == 401

    client = Avara(api_key=clinic.api_key, base_url=server.url, max_retries=0)
    with pytest.raises(avara.AuthenticationError) as missing:
        client.auto_scribe.studies.list(extra_headers={"Authorization": avara.omit})
    assert "Missing API key" in missing.value.message
    with pytest.raises(avara.AuthenticationError):
        client.auto_scribe.studies.list(extra_headers={"Authorization": "Bearer"})
    with pytest.raises(avara.AuthenticationError):
        sdk(server.url, "as_live_not-a-real-key").auto_scribe.studies.list()
    with pytest.raises(avara.AuthenticationError):
        sdk(server.url, clinic.api_key + "x").express.list()


def test_revoked_key_is_refused(server: Server, clinic: ClinicFixture) -> None:
    from autoscribe.audit.service import Actor
    from autoscribe.auth.service import get_api_key, revoke_api_key
    from autoscribe.db import session_scope

    key = make_key(clinic.clinic_id)
    client = sdk(server.url, key.api_key)
    client.auto_scribe.studies.create(**study_body())
    with session_scope() as session:
        import uuid

        revoke_api_key(session, get_api_key(session, uuid.UUID(key.api_key_id)), actor=Actor.system())
    with pytest.raises(avara.AuthenticationError) as err:
        client.auto_scribe.studies.list()
    assert "revoked" in err.value.message
    # Other keys of the clinic keep working.
    assert len(list(sdk(server.url, clinic.api_key).auto_scribe.studies.list())) == 1


def test_express_access_none_is_403_everywhere(server: Server, clinic: ClinicFixture) -> None:
    owner = sdk(server.url, clinic.api_key)
    customer = owner.express.create(express_customer_name="Acme")
    cid = customer.express_customer_id
    client = sdk(server.url, make_key(clinic.clinic_id, express_access="none").api_key)
    user = make_user(clinic.clinic_id)
    calls = [
        lambda: client.express.list(),
        lambda: client.express.create(express_customer_name="x"),
        lambda: client.express.retrieve(cid),
        lambda: client.express.update(cid, express_customer_name="y"),
        lambda: client.express.deactivate(cid),
        lambda: client.express.reactivate(cid),
        lambda: client.express.users.add(cid, user_id=user),
        lambda: client.express.users.remove(cid, user_id=user),
    ]
    for call in calls:
        with pytest.raises(avara.PermissionDeniedError) as err:
            call()
        assert err.value.body["error"]["type"] == "permission_denied"
    # Even an invalid body is answered 403: access is checked first.
    with pytest.raises(avara.PermissionDeniedError):
        client.express.create(express_customer_name="")
    assert owner.express.retrieve(cid).express_customer_name == "Acme"
    # Studies stay available to the key.
    assert client.auto_scribe.studies.create(**study_body()).study_id.startswith("stu_")


def test_express_read_only_key_reads_but_cannot_write(server: Server, clinic: ClinicFixture) -> None:
    owner = sdk(server.url, clinic.api_key)
    cid = owner.express.create(express_customer_name="Acme").express_customer_id
    reader = sdk(server.url, make_key(clinic.clinic_id, express_access="read").api_key)
    user = make_user(clinic.clinic_id)
    assert [c.express_customer_id for c in reader.express.list()] == [cid]
    assert reader.express.retrieve(cid).express_customer_name == "Acme"
    writes = [
        lambda: reader.express.create(express_customer_name="x"),
        lambda: reader.express.update(cid, express_customer_name="y"),
        lambda: reader.express.deactivate(cid),
        lambda: reader.express.reactivate(cid),
        lambda: reader.express.users.add(cid, user_id=user),
        lambda: reader.express.users.remove(cid, user_id=user),
    ]
    for call in writes:
        with pytest.raises(avara.PermissionDeniedError):
            call()
    after = owner.express.retrieve(cid)
    assert after.express_customer_name == "Acme" and after.is_active is True and after.user_count == 0
