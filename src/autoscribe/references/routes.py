"""/v1/autoScribe/clinicalReferences (reference 4.1)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from autoscribe.auth.context import ApiContextDep, SessionDep
from autoscribe.ids import Prefix
from autoscribe.pagination import parse_bool, parse_choice, parse_id_filter, parse_limit
from autoscribe.references import service
from autoscribe.references.schemas import (
    REFERENCE_TYPES,
    ClinicalReferenceCreate,
    ClinicalReferenceList,
    ClinicalReferenceOut,
    ClinicalReferenceUpdate,
)

router = APIRouter(prefix="/v1/autoScribe/clinicalReferences", tags=["clinical references"])


@router.post("", response_model=ClinicalReferenceOut)
def create_reference(
    body: ClinicalReferenceCreate, ctx: ApiContextDep, session: SessionDep
) -> ClinicalReferenceOut:
    return service.to_out(service.create_reference(session, ctx.clinic_id, body, ctx.actor, ctx.api_key.id))


@router.get("", response_model=ClinicalReferenceList)
def list_references(
    ctx: ApiContextDep,
    session: SessionDep,
    cursor: str | None = Query(None),
    limit: str | None = Query(None, description="1-100, default 20"),
    type: str | None = Query(None),
    is_active: str | None = Query(
        None, alias="isActive", description="default true; false lists deleted ones; null lists both"
    ),
    express_customer_id: str | None = Query(
        None, alias="expressCustomerId", description="cus_ id, or null for clinic-wide references only"
    ),
) -> ClinicalReferenceList:
    # Omitted (or empty) isActive means the documented default, true; the literal "null" drops the filter.
    active = True if is_active is None or is_active == "" else parse_bool(is_active, "isActive")
    page = service.list_references(
        session,
        ctx.clinic_id,
        ref_type=parse_choice(type, REFERENCE_TYPES, "type"),
        is_active=active,
        customer=parse_id_filter(express_customer_id, Prefix.CUSTOMER, "expressCustomerId"),
        cursor=cursor,
        limit=parse_limit(limit),
    )
    return ClinicalReferenceList(
        clinical_references=[service.to_out(r) for r in page.items],
        has_more=page.has_more,
        cursor=page.cursor,
    )


@router.get("/byExternalReferenceId/{external_reference_id}", response_model=ClinicalReferenceOut)
def retrieve_by_external_id(
    external_reference_id: str, ctx: ApiContextDep, session: SessionDep
) -> ClinicalReferenceOut:
    return service.to_out(service.get_by_external_id(session, ctx.clinic_id, external_reference_id))


@router.get("/{clinical_reference_id}", response_model=ClinicalReferenceOut)
def retrieve_reference(
    clinical_reference_id: str, ctx: ApiContextDep, session: SessionDep
) -> ClinicalReferenceOut:
    return service.to_out(service.get_reference(session, ctx.clinic_id, clinical_reference_id))


@router.patch("/{clinical_reference_id}", response_model=ClinicalReferenceOut)
def update_reference(
    clinical_reference_id: str, body: ClinicalReferenceUpdate, ctx: ApiContextDep, session: SessionDep
) -> ClinicalReferenceOut:
    ref = service.get_reference(session, ctx.clinic_id, clinical_reference_id)
    return service.to_out(service.update_reference(session, ref, body, ctx.actor))


@router.post("/{clinical_reference_id}/delete", response_model=ClinicalReferenceOut)
def delete_reference(
    clinical_reference_id: str, ctx: ApiContextDep, session: SessionDep
) -> ClinicalReferenceOut:
    ref = service.get_reference(session, ctx.clinic_id, clinical_reference_id)
    return service.to_out(service.delete_reference(session, ref, ctx.actor))
