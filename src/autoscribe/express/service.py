"""Express customers: sub-tenants an integrator serves from one clinic account."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from autoscribe.audit.service import Actor, record
from autoscribe.errors import NotFound, Unprocessable
from autoscribe.express.models import ExpressCustomer, ExpressCustomerUser
from autoscribe.express.schemas import ExpressCustomerCreate, ExpressCustomerOut, ExpressCustomerUpdate
from autoscribe.ids import Prefix, brand, brand_opt, parse
from autoscribe.pagination import Page, paginate
from autoscribe.users.models import User
from autoscribe.users.service import get_user


def get_customer(
    session: Session, clinic_id: uuid.UUID, customer_id: str, param: str = "expressCustomerId"
) -> ExpressCustomer:
    customer = session.get(ExpressCustomer, parse(Prefix.CUSTOMER, customer_id, param))
    if customer is None or customer.clinic_id != clinic_id:
        raise NotFound(f"No Express customer {customer_id} in this clinic", param=param)
    return customer


def usable_customer(session: Session, clinic_id: uuid.UUID, customer_id: str, param: str) -> ExpressCustomer:
    """A customer that new studies or users may be attached to."""
    customer = get_customer(session, clinic_id, customer_id, param)
    if not customer.is_active:
        raise Unprocessable(f"Express customer {customer_id} is deactivated", param=param)
    return customer


def create_customer(
    session: Session,
    clinic_id: uuid.UUID,
    body: ExpressCustomerCreate,
    *,
    actor: Actor,
    api_key_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
) -> ExpressCustomer:
    customer = ExpressCustomer(
        clinic_id=clinic_id,
        name=body.express_customer_name,
        custom_metadata=body.metadata,
        created_by_api_key_id=api_key_id,
        created_by_user_id=user_id,
    )
    session.add(customer)
    session.flush()
    record(
        session,
        clinic_id=clinic_id,
        actor=actor,
        action="express_customer.created",
        target_type="express_customer",
        target_id=brand(Prefix.CUSTOMER, customer.id),
    )
    return customer


def update_customer(
    session: Session, customer: ExpressCustomer, body: ExpressCustomerUpdate, *, actor: Actor
) -> ExpressCustomer:
    sent = body.provided()
    if "express_customer_name" in sent and body.express_customer_name is not None:
        customer.name = body.express_customer_name
    if "metadata" in sent:
        customer.custom_metadata = body.metadata
    record(
        session,
        clinic_id=customer.clinic_id,
        actor=actor,
        action="express_customer.updated",
        target_type="express_customer",
        target_id=brand(Prefix.CUSTOMER, customer.id),
        details={"fields": sorted(body.model_dump(by_alias=True, include=sent).keys())},
    )
    return customer


def set_active(session: Session, customer: ExpressCustomer, active: bool, *, actor: Actor) -> ExpressCustomer:
    if customer.is_active != active:
        customer.is_active = active
        record(
            session,
            clinic_id=customer.clinic_id,
            actor=actor,
            action="express_customer.reactivated" if active else "express_customer.deactivated",
            target_type="express_customer",
            target_id=brand(Prefix.CUSTOMER, customer.id),
        )
    return customer


def list_customers(
    session: Session, clinic_id: uuid.UUID, *, cursor: str | None, limit: int
) -> Page[ExpressCustomer]:
    stmt = select(ExpressCustomer).where(ExpressCustomer.clinic_id == clinic_id)
    return paginate(session, stmt, ExpressCustomer.id, cursor=cursor, limit=limit)


def customers_by_name(
    session: Session,
    clinic_id: uuid.UUID,
    *,
    only_ids: Collection[uuid.UUID] | None = None,
    active_only: bool = False,
) -> list[ExpressCustomer]:
    """A clinic's customers by name, for the dashboard's pickers and filters (never paginated:
    a clinic serves tens or hundreds of customers, not millions)."""
    stmt = select(ExpressCustomer).where(ExpressCustomer.clinic_id == clinic_id)
    if only_ids is not None:
        stmt = stmt.where(ExpressCustomer.id.in_(list(only_ids)))
    if active_only:
        stmt = stmt.where(ExpressCustomer.is_active.is_(True))
    return list(session.scalars(stmt.order_by(func.lower(ExpressCustomer.name), ExpressCustomer.id)))


def add_user(session: Session, customer: ExpressCustomer, user_id: str, *, actor: Actor) -> bool:
    """Link a user; returns False when the user was already linked."""
    if not customer.is_active:
        raise Unprocessable(
            "This Express customer is deactivated; users cannot be added", param="expressCustomerId"
        )
    user = get_user(session, customer.clinic_id, user_id)
    if session.get(ExpressCustomerUser, (customer.id, user.id)) is not None:
        return False
    session.add(ExpressCustomerUser(customer_id=customer.id, user_id=user.id))
    record(
        session,
        clinic_id=customer.clinic_id,
        actor=actor,
        action="express_customer.user_added",
        target_type="express_customer",
        target_id=brand(Prefix.CUSTOMER, customer.id),
        details={"userId": user_id},
    )
    return True


def remove_user(session: Session, customer: ExpressCustomer, user_id: str, *, actor: Actor) -> None:
    user = get_user(session, customer.clinic_id, user_id)
    link = session.get(ExpressCustomerUser, (customer.id, user.id))
    if link is None:
        raise NotFound(f"User {user_id} is not linked to this Express customer", param="userId")
    session.delete(link)
    session.flush()
    record(
        session,
        clinic_id=customer.clinic_id,
        actor=actor,
        action="express_customer.user_removed",
        target_type="express_customer",
        target_id=brand(Prefix.CUSTOMER, customer.id),
        details={"userId": user_id},
    )


def customer_users(session: Session, customer: ExpressCustomer) -> list[User]:
    """The users linked to a customer, by name."""
    return list(
        session.scalars(
            select(User)
            .join(ExpressCustomerUser, ExpressCustomerUser.user_id == User.id)
            .where(ExpressCustomerUser.customer_id == customer.id)
            .order_by(User.last_name, User.first_name, User.id)
        )
    )


def user_counts(session: Session, customer_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not customer_ids:
        return {}
    rows = session.execute(
        select(ExpressCustomerUser.customer_id, func.count())
        .where(ExpressCustomerUser.customer_id.in_(customer_ids))
        .group_by(ExpressCustomerUser.customer_id)
    )
    return {cid: count for cid, count in rows.tuples()}


def to_out(customer: ExpressCustomer, user_count: int) -> ExpressCustomerOut:
    return ExpressCustomerOut(
        express_customer_id=brand(Prefix.CUSTOMER, customer.id),
        express_customer_name=customer.name,
        is_active=customer.is_active,
        user_count=user_count,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
        created_by_api_key_id=str(customer.created_by_api_key_id) if customer.created_by_api_key_id else None,
        created_by_user_id=brand_opt(Prefix.USER, customer.created_by_user_id),
        metadata=customer.custom_metadata,
    )


def serialize(session: Session, customers: Sequence[ExpressCustomer]) -> list[ExpressCustomerOut]:
    counts = user_counts(session, [c.id for c in customers])
    return [to_out(c, counts.get(c.id, 0)) for c in customers]
