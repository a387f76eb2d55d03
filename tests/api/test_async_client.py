"""Every studies and Express method through the official async client (AsyncAvara)."""

from __future__ import annotations

import asyncio

import avara
import pytest

from tests.conftest import ClinicFixture, Server
from tests.helpers import async_sdk, error_param, make_user, study_body


@pytest.mark.anyio
async def test_every_study_method(server: Server, clinic: ClinicFixture) -> None:
    rad = make_user(clinic.clinic_id)
    async with async_sdk(server.url, clinic.api_key) as client:
        studies = client.auto_scribe.studies
        created = await studies.create(**study_body(assigned_to=rad, modality="CT"))
        assert created.study_report_status == "assigned"
        assert (await studies.retrieve(created.study_id)).model_dump() == created.model_dump()
        by_uid = await studies.retrieve_by_uid(created.study_instance_uid)
        assert by_uid.study_id == created.study_id

        updated = await studies.update(
            created.study_id, severity="stat", modality=None, report_metadata={"mrn": "A-1"}
        )
        assert updated.severity == "stat" and updated.modality is None
        assert updated.report_metadata.mrn == "A-1" and updated.report_metadata.patient_name == "Jane Roe"

        assert (await studies.cancel(study_id=created.study_id)).success is True
        assert (await studies.retrieve(created.study_id)).is_cancelled is True
        with pytest.raises(avara.ConflictError):
            await studies.cancel(study_instance_uid=created.study_instance_uid)
        assert (await studies.uncancel(study_instance_uid=created.study_instance_uid)).success is True

        more = await asyncio.gather(*(studies.create(**study_body()) for _ in range(6)))
        walked = [s.study_id async for s in studies.list(limit=2)]
        assert len(walked) == 7 and set(walked) == {created.study_id, *(s.study_id for s in more)}
        assert walked == sorted(walked, reverse=True)
        only_assigned = [s.study_id async for s in studies.list(assigned_to=rad)]
        assert only_assigned == [created.study_id]
        unassigned = [s.study_id async for s in studies.list(extra_query={"assignedTo": "null"})]
        assert set(unassigned) == {s.study_id for s in more}
        first = await studies.list(limit=3, study_report_status=["unassigned"])
        assert len(first.studies) == 3 and first.has_next_page()
        second = await first.get_next_page()
        assert {s.study_id for s in first.studies}.isdisjoint(s.study_id for s in second.studies)

        with pytest.raises(avara.NotFoundError):
            await studies.retrieve("stu_" + "c" * 32)
        with pytest.raises(avara.BadRequestError) as err:
            await studies.create(**study_body(severity="meh"))
        assert error_param(err.value) == "severity"


@pytest.mark.anyio
async def test_every_express_method(server: Server, clinic: ClinicFixture) -> None:
    user = make_user(clinic.clinic_id)
    async with async_sdk(server.url, clinic.api_key) as client:
        made = await client.express.create(express_customer_name="Async Health", metadata={"k": "v"})
        cid = made.express_customer_id
        assert (await client.express.retrieve(cid)).express_customer_name == "Async Health"
        renamed = await client.express.update(cid, express_customer_name="Async Health 2", metadata=None)
        assert renamed.express_customer_name == "Async Health 2" and renamed.metadata is None
        assert [c.express_customer_id async for c in client.express.list(limit=1)] == [cid]

        assert (await client.express.users.add(cid, user_id=user)).success is True
        assert (await client.express.retrieve(cid)).user_count == 1
        assert (await client.express.users.remove(cid, user_id=user)).success is True
        assert (await client.express.retrieve(cid)).user_count == 0

        assert (await client.express.deactivate(cid)).is_active is False
        with pytest.raises(avara.UnprocessableEntityError) as err:
            await client.auto_scribe.studies.create(**study_body(express_customer_id=cid))
        assert error_param(err.value) == "expressCustomerId"
        with pytest.raises(avara.UnprocessableEntityError):
            await client.express.users.add(cid, user_id=user)
        assert (await client.express.reactivate(cid)).is_active is True
        study = await client.auto_scribe.studies.create(**study_body(express_customer_id=cid))
        assert study.express_customer is not None and study.express_customer.express_customer_id == cid


@pytest.mark.anyio
async def test_concurrent_duplicate_creates_yield_one_study(server: Server, clinic: ClinicFixture) -> None:
    body = study_body()
    async with async_sdk(server.url, clinic.api_key) as client:
        results = await asyncio.gather(
            *(client.auto_scribe.studies.create(**body) for _ in range(8)), return_exceptions=True
        )
        created = [r for r in results if not isinstance(r, BaseException)]
        conflicts = [r for r in results if isinstance(r, avara.ConflictError)]
        assert len(created) == 1 and len(conflicts) == 7, results
        assert [s.study_id async for s in client.auto_scribe.studies.list()] == [created[0].study_id]
