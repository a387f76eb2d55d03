"""Clinical references: create, rename, soft-delete, list, find by the integrator's id.

- A name is unique per (type, scope) case-insensitively, where scope is clinic-wide or one
  Express customer; a clash is 409.
- type and externalReferenceId are write-once (set at creation).
- Delete is soft: isActive=false and the name gets the suffix " (deleted <ref id>)", which
  frees the name for a new reference. Deleted references can be read but not changed.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autoscribe.audit.service import Actor, record
from autoscribe.db import utcnow
from autoscribe.errors import Conflict, NotFound
from autoscribe.express.service import get_customer, usable_customer
from autoscribe.ids import Prefix, brand, parse
from autoscribe.pagination import IdFilter, Page, paginate
from autoscribe.references.models import CLINIC_WIDE, ClinicalReference
from autoscribe.references.schemas import (
    ClinicalReferenceCreate,
    ClinicalReferenceOut,
    ClinicalReferenceUpdate,
)
from autoscribe.studies.schemas import ExpressCustomerReference


def _name_key(name: str) -> str:
    return name.casefold()


def _scope_key(customer_id: uuid.UUID | None) -> str:
    return customer_id.hex if customer_id else CLINIC_WIDE


def _conflict(ref_type: str, name: str) -> Conflict:
    return Conflict(f"A {ref_type} reference named {name!r} already exists in this scope", param="name")


def _name_taken(
    session: Session,
    clinic_id: uuid.UUID,
    ref_type: str,
    scope_key: str,
    name: str,
    exclude: uuid.UUID | None,
) -> bool:
    stmt = select(ClinicalReference.id).where(
        ClinicalReference.clinic_id == clinic_id,
        ClinicalReference.type == ref_type,
        ClinicalReference.scope_key == scope_key,
        ClinicalReference.name_key == _name_key(name),
    )
    if exclude is not None:
        stmt = stmt.where(ClinicalReference.id != exclude)
    return session.scalars(stmt.limit(1)).first() is not None


def create_reference(
    session: Session,
    clinic_id: uuid.UUID,
    body: ClinicalReferenceCreate,
    actor: Actor,
    api_key_id: uuid.UUID | None,
) -> ClinicalReference:
    customer = (
        usable_customer(session, clinic_id, body.express_customer_id, "expressCustomerId")
        if body.express_customer_id
        else None
    )
    scope_key = _scope_key(customer.id if customer else None)
    if _name_taken(session, clinic_id, body.type, scope_key, body.name, None):
        raise _conflict(body.type, body.name)
    if (
        body.external_reference_id
        and session.scalars(
            select(ClinicalReference.id).where(
                ClinicalReference.clinic_id == clinic_id,
                ClinicalReference.external_reference_id == body.external_reference_id,
                ClinicalReference.deleted_at.is_(None),
            )
        ).first()
    ):
        raise Conflict(
            f"A clinical reference with externalReferenceId {body.external_reference_id!r} already exists",
            param="externalReferenceId",
        )
    ref = ClinicalReference(
        clinic_id=clinic_id,
        type=body.type,
        name=body.name,
        name_key=_name_key(body.name),
        express_customer_id=customer.id if customer else None,
        scope_key=scope_key,
        external_reference_id=body.external_reference_id,
        custom_metadata=body.metadata,
        is_active=True,
        created_by_api_key_id=api_key_id,
    )
    session.add(ref)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("This name or externalReferenceId was taken meanwhile", param="name") from None
    record(
        session,
        clinic_id=clinic_id,
        actor=actor,
        action="clinical_reference.created",
        target_type="clinical_reference",
        target_id=brand(Prefix.REFERENCE, ref.id),
        details={"type": ref.type},
    )
    return ref


def get_reference(
    session: Session, clinic_id: uuid.UUID, reference_id: str, param: str = "clinicalReferenceId"
) -> ClinicalReference:
    ref = session.get(ClinicalReference, parse(Prefix.REFERENCE, reference_id, param))
    if ref is None or ref.clinic_id != clinic_id:
        raise NotFound(f"No clinical reference {reference_id}", param=param)
    return ref


def get_by_external_id(session: Session, clinic_id: uuid.UUID, external_id: str) -> ClinicalReference:
    """The live reference with this id; after a delete, the most recently deleted one."""
    ref = session.scalars(
        select(ClinicalReference)
        .where(
            ClinicalReference.clinic_id == clinic_id, ClinicalReference.external_reference_id == external_id
        )
        .order_by(ClinicalReference.deleted_at.is_not(None), ClinicalReference.id.desc())
    ).first()
    if ref is None:
        raise NotFound(
            f"No clinical reference with externalReferenceId {external_id!r}", param="externalReferenceId"
        )
    return ref


def update_reference(
    session: Session, ref: ClinicalReference, body: ClinicalReferenceUpdate, actor: Actor
) -> ClinicalReference:
    if not ref.is_active:
        raise Conflict(
            "This clinical reference is deleted and cannot be changed", param="clinicalReferenceId"
        )
    sent = body.provided()
    customer_id = ref.express_customer_id
    if "express_customer_id" in sent:
        customer_id = (
            usable_customer(session, ref.clinic_id, body.express_customer_id, "expressCustomerId").id
            if body.express_customer_id
            else None
        )
    name = body.name if "name" in sent and body.name is not None else ref.name
    # Checked before the row changes: a query would otherwise flush the clash first.
    if _name_taken(session, ref.clinic_id, ref.type, _scope_key(customer_id), name, ref.id):
        raise _conflict(ref.type, name)
    ref.express_customer_id = customer_id
    ref.scope_key = _scope_key(customer_id)
    ref.name = name
    ref.name_key = _name_key(name)
    if "metadata" in sent:
        ref.custom_metadata = body.metadata
    ref.updated_at = utcnow()
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("This name was taken meanwhile", param="name") from None
    record(
        session,
        clinic_id=ref.clinic_id,
        actor=actor,
        action="clinical_reference.updated",
        target_type="clinical_reference",
        target_id=brand(Prefix.REFERENCE, ref.id),
        details={"fields": sorted(body.model_dump(by_alias=True, include=sent).keys())},
    )
    session.flush()
    session.refresh(ref)
    return ref


def delete_reference(session: Session, ref: ClinicalReference, actor: Actor) -> ClinicalReference:
    if not ref.is_active:
        return ref  # deleting twice changes nothing
    now = utcnow()
    ref.name = f"{ref.name} (deleted {brand(Prefix.REFERENCE, ref.id)})"
    ref.name_key = _name_key(ref.name)
    ref.is_active = False
    ref.deleted_at = now
    ref.updated_at = now
    record(
        session,
        clinic_id=ref.clinic_id,
        actor=actor,
        action="clinical_reference.deleted",
        target_type="clinical_reference",
        target_id=brand(Prefix.REFERENCE, ref.id),
    )
    session.flush()
    session.refresh(ref)
    return ref


def list_references(
    session: Session,
    clinic_id: uuid.UUID,
    *,
    ref_type: str | None,
    is_active: bool | None,
    customer: IdFilter,
    cursor: str | None,
    limit: int,
) -> Page[ClinicalReference]:
    stmt = select(ClinicalReference).where(ClinicalReference.clinic_id == clinic_id)
    if ref_type:
        stmt = stmt.where(ClinicalReference.type == ref_type)
    if is_active is not None:
        stmt = stmt.where(ClinicalReference.is_active.is_(is_active))
    if customer.only_null:
        stmt = stmt.where(ClinicalReference.express_customer_id.is_(None))
    elif customer.value is not None:
        get_customer(session, clinic_id, brand(Prefix.CUSTOMER, customer.value))
        stmt = stmt.where(ClinicalReference.express_customer_id == customer.value)
    return paginate(session, stmt, ClinicalReference.id, cursor=cursor, limit=limit)


def to_out(ref: ClinicalReference) -> ClinicalReferenceOut:
    customer = ref.express_customer
    return ClinicalReferenceOut(
        clinical_reference_id=brand(Prefix.REFERENCE, ref.id),
        created_at=ref.created_at,
        is_active=ref.is_active,
        name=ref.name,
        type=ref.type,  # type: ignore[arg-type]
        updated_at=ref.updated_at,
        express_customer=ExpressCustomerReference(
            express_customer_id=brand(Prefix.CUSTOMER, customer.id), express_customer_name=customer.name
        )
        if customer
        else None,
        external_reference_id=ref.external_reference_id,
        metadata=ref.custom_metadata,
    )
