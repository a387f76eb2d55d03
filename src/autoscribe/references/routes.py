"""/v1/autoScribe/clinicalReferences (reference 4.1)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from autoscribe.audit import service as audit
from autoscribe.auth.context import ApiContext, ApiContextDep, SessionDep
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


def _read(session: Session, ctx: ApiContext, out: ClinicalReferenceOut) -> ClinicalReferenceOut:
    """Audit one reference handed out (references name no patient: no patient key)."""
    audit.record_read_of(
        session,
        ctx.actor,
        ctx.clinic_id,
        "read.clinical_reference",
        target_type="clinical_reference",
        target_id=out.clinical_reference_id,
    )
    return out


@router.post("", response_model=ClinicalReferenceOut)
def create_reference(
    body: ClinicalReferenceCreate, ctx: ApiContextDep, session: SessionDep
) -> ClinicalReferenceOut:
    return service.to_out(service.create_reference(session, ctx.clinic_id, body, ctx.actor, ctx.api_key.id))


@router.get("", response_model=ClinicalReferenceList)
def list_references(
    request: Request,
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
    out = ClinicalReferenceList(
        clinical_references=[service.to_out(r) for r in page.items],
        has_more=page.has_more,
        cursor=page.cursor,
    )
    audit.record_list(
        session,
        ctx.actor,
        ctx.clinic_id,
        "read.clinical_reference_list",
        query=request.query_params,
        count=len(page.items),
    )
    return out


@router.get("/byExternalReferenceId/{external_reference_id}", response_model=ClinicalReferenceOut)
def retrieve_by_external_id(
    external_reference_id: str, ctx: ApiContextDep, session: SessionDep
) -> ClinicalReferenceOut:
    return _read(
        session,
        ctx,
        service.to_out(service.get_by_external_id(session, ctx.clinic_id, external_reference_id)),
    )


@router.get("/{clinical_reference_id}", response_model=ClinicalReferenceOut)
def retrieve_reference(
    clinical_reference_id: str, ctx: ApiContextDep, session: SessionDep
) -> ClinicalReferenceOut:
    return _read(
        session, ctx, service.to_out(service.get_reference(session, ctx.clinic_id, clinical_reference_id))
    )


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
