"""/v1/express: Express customers (reference section 6)."""

from __future__ import annotations

from fastapi import APIRouter, Path

from autoscribe.auth.context import SessionDep
from autoscribe.auth.permissions import ExpressReader, ExpressWriter
from autoscribe.express import service
from autoscribe.express.schemas import (
    ExpressCustomerCreate,
    ExpressCustomerList,
    ExpressCustomerOut,
    ExpressCustomerUpdate,
    ExpressUserBody,
)
from autoscribe.pagination import CursorQuery, LimitQuery, parse_limit
from autoscribe.schemas import Success

router = APIRouter(prefix="/v1/express", tags=["express"])

CUSTOMER_ID = Path(alias="expressCustomerId", json_schema_extra={"pattern": "^cus_[0-9a-f]{32}$"})


@router.post("", response_model=ExpressCustomerOut)
def create_express_customer(
    body: ExpressCustomerCreate, ctx: ExpressWriter, session: SessionDep
) -> ExpressCustomerOut:
    customer = service.create_customer(
        session, ctx.clinic_id, body, actor=ctx.actor, api_key_id=ctx.api_key.id
    )
    return service.to_out(customer, 0)


@router.get("", response_model=ExpressCustomerList)
def list_express_customers(
    ctx: ExpressReader,
    session: SessionDep,
    cursor: CursorQuery = None,
    limit: LimitQuery = None,
) -> ExpressCustomerList:
    page = service.list_customers(session, ctx.clinic_id, cursor=cursor, limit=parse_limit(limit))
    return ExpressCustomerList(
        express_customers=service.serialize(session, page.items), has_more=page.has_more, cursor=page.cursor
    )


@router.get("/{expressCustomerId}", response_model=ExpressCustomerOut)
def retrieve_express_customer(
    ctx: ExpressReader, session: SessionDep, express_customer_id: str = CUSTOMER_ID
) -> ExpressCustomerOut:
    customer = service.get_customer(session, ctx.clinic_id, express_customer_id)
    return service.serialize(session, [customer])[0]


@router.patch("/{expressCustomerId}", response_model=ExpressCustomerOut)
def update_express_customer(
    body: ExpressCustomerUpdate,
    ctx: ExpressWriter,
    session: SessionDep,
    express_customer_id: str = CUSTOMER_ID,
) -> ExpressCustomerOut:
    customer = service.get_customer(session, ctx.clinic_id, express_customer_id)
    service.update_customer(session, customer, body, actor=ctx.actor)
    return service.serialize(session, [customer])[0]


@router.post("/{expressCustomerId}/deactivate", response_model=ExpressCustomerOut)
def deactivate_express_customer(
    ctx: ExpressWriter, session: SessionDep, express_customer_id: str = CUSTOMER_ID
) -> ExpressCustomerOut:
    customer = service.get_customer(session, ctx.clinic_id, express_customer_id)
    service.set_active(session, customer, False, actor=ctx.actor)
    return service.serialize(session, [customer])[0]


@router.post("/{expressCustomerId}/reactivate", response_model=ExpressCustomerOut)
def reactivate_express_customer(
    ctx: ExpressWriter, session: SessionDep, express_customer_id: str = CUSTOMER_ID
) -> ExpressCustomerOut:
    customer = service.get_customer(session, ctx.clinic_id, express_customer_id)
    service.set_active(session, customer, True, actor=ctx.actor)
    return service.serialize(session, [customer])[0]


@router.post("/{expressCustomerId}/users", response_model=Success)
def add_express_customer_user(
    body: ExpressUserBody, ctx: ExpressWriter, session: SessionDep, express_customer_id: str = CUSTOMER_ID
) -> Success:
    customer = service.get_customer(session, ctx.clinic_id, express_customer_id)
    added = service.add_user(session, customer, body.user_id, actor=ctx.actor)
    return Success(message="User added" if added else "User was already linked to this customer")


@router.delete("/{expressCustomerId}/users", response_model=Success)
def remove_express_customer_user(
    body: ExpressUserBody, ctx: ExpressWriter, session: SessionDep, express_customer_id: str = CUSTOMER_ID
) -> Success:
    customer = service.get_customer(session, ctx.clinic_id, express_customer_id)
    service.remove_user(session, customer, body.user_id, actor=ctx.actor)
    return Success(message="User removed")
