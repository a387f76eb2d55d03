"""Clinical references through the official SDK (reference 4.1): the six methods and their rules."""

from __future__ import annotations

import avara
import pytest

from tests.conftest import ClinicFixture, Server
from tests.helpers import sdk


def test_create_retrieve_update_and_find_by_external_id(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    refs = client.auto_scribe.clinical_references
    created = refs.create(
        name="North Campus Imaging",
        type="facility",
        external_reference_id="FAC-001",
        metadata={"city": "Tampa"},
    )
    assert created.clinical_reference_id.startswith("ref_") and len(created.clinical_reference_id) == 36
    assert (created.name, created.type, created.is_active) == ("North Campus Imaging", "facility", True)
    assert created.express_customer is None and created.metadata == {"city": "Tampa"}
    assert refs.retrieve(created.clinical_reference_id).name == "North Campus Imaging"
    assert (
        refs.retrieve_by_external_reference_id("FAC-001").clinical_reference_id
        == created.clinical_reference_id
    )

    updated = refs.update(created.clinical_reference_id, name="North Campus Imaging Center", metadata=None)
    assert updated.name == "North Campus Imaging Center" and updated.metadata is None
    assert updated.type == "facility" and updated.external_reference_id == "FAC-001"

    customer = client.express.create(express_customer_name="Hospital A")
    moved = refs.update(created.clinical_reference_id, express_customer_id=customer.express_customer_id)
    assert moved.express_customer is not None
    assert moved.express_customer.express_customer_name == "Hospital A"

    with pytest.raises(avara.NotFoundError):
        refs.retrieve("ref_" + "0" * 32)
    with pytest.raises(avara.NotFoundError):
        refs.retrieve_by_external_reference_id("FAC-404")
    with pytest.raises(avara.BadRequestError) as bad:
        refs.retrieve("stu_" + "0" * 32)
    assert bad.value.body["error"]["param"] == "clinicalReferenceId"


def test_type_is_write_once_and_inputs_are_checked(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    refs = client.auto_scribe.clinical_references
    ref = refs.create(name="CT Chest", type="study_description")
    with pytest.raises(avara.BadRequestError) as bad:
        refs.update(ref.clinical_reference_id, extra_body={"type": "procedure"})
    assert bad.value.body["error"]["param"] == "type"
    with pytest.raises(avara.BadRequestError) as bad:
        refs.update(ref.clinical_reference_id, extra_body={"externalReferenceId": "X"})
    assert bad.value.body["error"]["param"] == "externalReferenceId"
    with pytest.raises(avara.BadRequestError) as bad:
        refs.create(name="x", type="hospital")  # type: ignore[arg-type]
    assert bad.value.body["error"]["param"] == "type"
    with pytest.raises(avara.BadRequestError) as bad:
        refs.create(name="   ", type="procedure")
    assert bad.value.body["error"]["param"] == "name"
    with pytest.raises(avara.NotFoundError):
        refs.create(name="x", type="procedure", express_customer_id="cus_" + "0" * 32)


def test_names_are_unique_per_type_and_scope(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    refs = client.auto_scribe.clinical_references
    refs.create(name="Dr. Jane Smith", type="referring_provider")
    with pytest.raises(avara.ConflictError) as err:
        refs.create(name="dr. jane   SMITH", type="referring_provider")
    assert err.value.body["error"]["param"] == "name"
    # Same name, other type: fine. Same name, other scope (a customer's own list): fine.
    refs.create(name="Dr. Jane Smith", type="facility")
    customer = client.express.create(express_customer_name="Hospital B").express_customer_id
    scoped = refs.create(name="Dr. Jane Smith", type="referring_provider", express_customer_id=customer)
    with pytest.raises(avara.ConflictError):
        refs.create(name="Dr. Jane Smith", type="referring_provider", express_customer_id=customer)
    # Renaming into a taken name is refused too.
    other = refs.create(name="Dr. Someone Else", type="referring_provider")
    with pytest.raises(avara.ConflictError):
        refs.update(other.clinical_reference_id, name="Dr. Jane Smith")
    # Moving the customer's reference to clinic-wide would collide.
    with pytest.raises(avara.ConflictError):
        refs.update(scoped.clinical_reference_id, extra_body={"expressCustomerId": None})
    # externalReferenceId identifies one live reference.
    refs.create(name="A", type="procedure", external_reference_id="EXT-1")
    with pytest.raises(avara.ConflictError) as err:
        refs.create(name="B", type="procedure", external_reference_id="EXT-1")
    assert err.value.body["error"]["param"] == "externalReferenceId"


def test_soft_delete_frees_the_name(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    refs = client.auto_scribe.clinical_references
    ref = refs.create(name="MRI Knee", type="procedure", external_reference_id="PROC-9")
    deleted = refs.delete(ref.clinical_reference_id)
    assert deleted.is_active is False
    assert deleted.name.startswith("MRI Knee (deleted ") and ref.clinical_reference_id in deleted.name
    assert refs.retrieve(ref.clinical_reference_id).is_active is False
    with pytest.raises(avara.ConflictError):
        refs.update(ref.clinical_reference_id, name="MRI Knee again")
    # Deleting twice changes nothing.
    assert refs.delete(ref.clinical_reference_id).name == deleted.name
    again = refs.create(name="MRI Knee", type="procedure", external_reference_id="PROC-9")
    assert again.is_active is True
    assert (
        refs.retrieve_by_external_reference_id("PROC-9").clinical_reference_id == again.clinical_reference_id
    )


def test_list_filters(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    refs = client.auto_scribe.clinical_references
    customer = client.express.create(express_customer_name="Hospital C").express_customer_id
    wide = [refs.create(name=f"Facility {i}", type="facility").clinical_reference_id for i in range(3)]
    mine = refs.create(name="Customer facility", type="facility", express_customer_id=customer)
    proc = refs.create(name="US Abdomen", type="procedure")
    gone = refs.create(name="Closed site", type="facility")
    refs.delete(gone.clinical_reference_id)

    active = [r.clinical_reference_id for r in refs.list()]
    # Newest first; deleted ones are hidden by default (isActive defaults to true).
    assert active == [proc.clinical_reference_id, mine.clinical_reference_id, *reversed(wide)]
    assert [r.clinical_reference_id for r in refs.list(is_active=False)] == [gone.clinical_reference_id]
    assert len(list(refs.list(extra_query={"isActive": "null"}))) == 6
    facilities = [r.clinical_reference_id for r in refs.list(type="facility")]
    assert proc.clinical_reference_id not in facilities and len(facilities) == 4
    assert [r.clinical_reference_id for r in refs.list(express_customer_id=customer)] == [
        mine.clinical_reference_id
    ]
    clinic_wide = [r.clinical_reference_id for r in refs.list(extra_query={"expressCustomerId": "null"})]
    assert mine.clinical_reference_id not in clinic_wide and len(clinic_wide) == 4

    first = refs.list(limit=2)
    assert len(first.clinical_references) == 2 and first.has_more is True
    assert len(list(refs.list(limit=2))) == 5  # auto-pagination walks every page

    with pytest.raises(avara.BadRequestError) as bad:
        refs.list(type="clinic")  # type: ignore[arg-type]
    assert bad.value.body["error"]["param"] == "type"
    with pytest.raises(avara.BadRequestError):
        refs.list(limit=0)


def test_references_are_per_clinic(
    server: Server, clinic: ClinicFixture, other_clinic: ClinicFixture
) -> None:
    mine = sdk(server.url, clinic.api_key).auto_scribe.clinical_references
    theirs = sdk(server.url, other_clinic.api_key).auto_scribe.clinical_references
    ref = mine.create(name="Shared Name", type="facility", external_reference_id="SAME")
    theirs.create(name="Shared Name", type="facility", external_reference_id="SAME")
    with pytest.raises(avara.NotFoundError):
        theirs.retrieve(ref.clinical_reference_id)
    with pytest.raises(avara.NotFoundError):
        theirs.delete(ref.clinical_reference_id)
    assert theirs.retrieve_by_external_reference_id("SAME").clinical_reference_id != ref.clinical_reference_id
