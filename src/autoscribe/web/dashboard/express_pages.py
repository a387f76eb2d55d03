"""Express customers (owners and admins): list, create, rename, metadata, deactivate and
reactivate, link and unlink users. Users linked to customers see only those customers' studies
(studies.service.scope_for_user)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import FormData

from autoscribe.auth.context import SessionDep
from autoscribe.errors import APIError, InvalidRequest
from autoscribe.express import service as express
from autoscribe.express.models import ExpressCustomer
from autoscribe.express.schemas import ExpressCustomerCreate, ExpressCustomerUpdate
from autoscribe.ids import Prefix, brand
from autoscribe.users.models import User
from autoscribe.web.csrf import CsrfProtected
from autoscribe.web.dashboard.common import (
    CustomerManager,
    Form,
    actor_of,
    done,
    errors_from,
    not_found,
    query_url,
    text,
)
from autoscribe.web.deps import WebUser
from autoscribe.web.templating import render

router = APIRouter(include_in_schema=False)

BASE = "/express-customers"
PAGE_SIZE = 50
BLANK_METADATA_ROWS = 3


def _customer(session: SessionDep, manager: WebUser, customer_id: str) -> ExpressCustomer:
    try:
        return express.get_customer(session, manager.user.clinic_id, customer_id)
    except APIError:
        raise not_found("Express customer") from None


def _url(customer: ExpressCustomer) -> str:
    return f"{BASE}/{brand(Prefix.CUSTOMER, customer.id)}"


@router.get(BASE)
def customers_page(request: Request, session: SessionDep, manager: CustomerManager) -> Response:
    cursor = request.query_params.get("cursor", "")[:500] or None
    try:
        page = express.list_customers(session, manager.user.clinic_id, cursor=cursor, limit=PAGE_SIZE)
    except InvalidRequest:
        cursor = None
        page = express.list_customers(session, manager.user.clinic_id, cursor=None, limit=PAGE_SIZE)
    counts = express.user_counts(session, [c.id for c in page.items])
    return render(
        request,
        "dashboard/express_customers.html",
        {
            "active": "express",
            "customers": page.items,
            "counts": counts,
            "next_url": query_url(BASE, {"cursor": page.cursor}) if page.has_more else None,
            "first_url": BASE if cursor else None,
        },
    )


# ---- create ---------------------------------------------------------------------------------------------


def _metadata_rows(metadata: dict[str, str] | None) -> list[tuple[str, str]]:
    rows = list((metadata or {}).items())
    return rows + [("", "")] * BLANK_METADATA_ROWS


def _read_metadata(form: FormData) -> tuple[list[tuple[str, str]], dict[str, str], str | None]:
    """The key/value rows as typed, the metadata they make, and a problem with them if any."""
    keys = [k.strip() if isinstance(k, str) else "" for k in form.getlist("metaKey")]
    values = [v.strip() if isinstance(v, str) else "" for v in form.getlist("metaValue")]
    rows = list(zip(keys, values + [""] * (len(keys) - len(values)), strict=False))
    metadata: dict[str, str] = {}
    for key, value in rows:
        if not key and not value:
            continue
        if not key:
            return rows, metadata, f"Give a name to the value “{value[:40]}”, or clear it."
        if key in metadata:
            return rows, metadata, f"“{key}” is used twice; each name can be used once."
        metadata[key] = value
    return rows, metadata, None


def _new_form(
    request: Request, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    return render(
        request,
        "dashboard/express_customer_new.html",
        {"active": "express", "values": values, "errors": errors},
        status_code=status,
    )


@router.get(BASE + "/new")
def new_customer_form(request: Request, manager: CustomerManager) -> Response:
    return _new_form(request, {}, {})


@router.post(BASE + "/new", dependencies=[CsrfProtected])
def create_customer(request: Request, session: SessionDep, manager: CustomerManager, form: Form) -> Response:
    values = {"expressCustomerName": text(form, "expressCustomerName", 400)}
    try:
        body = ExpressCustomerCreate.model_validate(values)
        customer = express.create_customer(
            session, manager.user.clinic_id, body, actor=actor_of(request, manager), user_id=manager.user.id
        )
    except (ValidationError, APIError) as exc:
        session.rollback()
        return _new_form(request, values, errors_from(exc), status=400)
    return done(request, _url(customer), f"Express customer “{customer.name}” created.")


# ---- one customer ---------------------------------------------------------------------------------


def _customer_page(
    request: Request,
    session: SessionDep,
    manager: WebUser,
    customer: ExpressCustomer,
    *,
    name: str | None = None,
    rows: list[tuple[str, str]] | None = None,
    errors: dict[str, str] | None = None,
    user_error: str | None = None,
    status: int = 200,
) -> Response:
    linked = express.customer_users(session, customer)
    linked_ids = {u.id for u in linked}
    # The owner is not offered: a link would narrow the owner's worklist to this customer.
    candidates = [
        u
        for u in session.scalars(
            select(User)
            .where(User.clinic_id == customer.clinic_id, User.revoked_at.is_(None), User.level != "owner")
            .order_by(User.last_name, User.first_name, User.id)
        )
        if u.id not in linked_ids
    ]
    context: dict[str, Any] = {
        "active": "express",
        "customer": customer,
        "ref": brand(Prefix.CUSTOMER, customer.id),
        "name": customer.name if name is None else name,
        "rows": rows if rows is not None else _metadata_rows(customer.custom_metadata),
        "errors": errors or {},
        "linked": linked,
        "candidates": candidates,
        "user_error": user_error,
    }
    return render(request, "dashboard/express_customer.html", context, status_code=status)


@router.get(BASE + "/{customer_id}")
def customer_page(
    request: Request, session: SessionDep, manager: CustomerManager, customer_id: str
) -> Response:
    return _customer_page(request, session, manager, _customer(session, manager, customer_id))


@router.post(BASE + "/{customer_id}", dependencies=[CsrfProtected])
def save_customer(
    request: Request, session: SessionDep, manager: CustomerManager, customer_id: str, form: Form
) -> Response:
    customer = _customer(session, manager, customer_id)
    name = text(form, "expressCustomerName", 400)
    rows, metadata, problem = _read_metadata(form)
    rows = [r for r in rows if r != ("", "")] + [("", "")] * BLANK_METADATA_ROWS
    if problem:
        return _customer_page(
            request,
            session,
            manager,
            customer,
            name=name,
            rows=rows,
            errors={"metadata": problem},
            status=400,
        )
    try:
        body = ExpressCustomerUpdate.model_validate(
            {"expressCustomerName": name, "metadata": metadata or None}
        )
        express.update_customer(session, customer, body, actor=actor_of(request, manager))
    except (ValidationError, APIError) as exc:
        session.rollback()
        customer = _customer(session, manager, customer_id)
        return _customer_page(
            request, session, manager, customer, name=name, rows=rows, errors=errors_from(exc), status=400
        )
    return done(request, _url(customer), "Changes saved.")


@router.get(BASE + "/{customer_id}/deactivate")
def deactivate_confirm(
    request: Request, session: SessionDep, manager: CustomerManager, customer_id: str
) -> Response:
    customer = _customer(session, manager, customer_id)
    return render(
        request,
        "dashboard/express_customer_deactivate.html",
        {"active": "express", "customer": customer, "ref": brand(Prefix.CUSTOMER, customer.id)},
    )


@router.post(BASE + "/{customer_id}/deactivate", dependencies=[CsrfProtected])
def deactivate(request: Request, session: SessionDep, manager: CustomerManager, customer_id: str) -> Response:
    customer = _customer(session, manager, customer_id)
    express.set_active(session, customer, False, actor=actor_of(request, manager))
    return done(
        request,
        _url(customer),
        f"“{customer.name}” deactivated: no new studies or users can be added to it. Nothing was deleted.",
    )


@router.post(BASE + "/{customer_id}/reactivate", dependencies=[CsrfProtected])
def reactivate(request: Request, session: SessionDep, manager: CustomerManager, customer_id: str) -> Response:
    customer = _customer(session, manager, customer_id)
    express.set_active(session, customer, True, actor=actor_of(request, manager))
    return done(request, _url(customer), f"“{customer.name}” is active again.")


@router.post(BASE + "/{customer_id}/users", dependencies=[CsrfProtected])
def add_user(
    request: Request, session: SessionDep, manager: CustomerManager, customer_id: str, form: Form
) -> Response:
    customer = _customer(session, manager, customer_id)
    user_id = text(form, "userId", 64)
    if not user_id:
        return _customer_page(
            request, session, manager, customer, user_error="Choose a user to add.", status=400
        )
    try:
        express.add_user(session, customer, user_id, actor=actor_of(request, manager))
    except APIError as exc:
        session.rollback()
        customer = _customer(session, manager, customer_id)
        return _customer_page(request, session, manager, customer, user_error=exc.message, status=400)
    return done(
        request,
        _url(customer),
        f"User added to “{customer.name}”: they now see this customer's studies (and no clinic-wide ones).",
    )


@router.post(BASE + "/{customer_id}/users/{user_id}/remove", dependencies=[CsrfProtected])
def remove_user(
    request: Request, session: SessionDep, manager: CustomerManager, customer_id: str, user_id: str
) -> Response:
    customer = _customer(session, manager, customer_id)
    try:
        express.remove_user(session, customer, user_id, actor=actor_of(request, manager))
    except APIError as exc:
        session.rollback()
        return done(request, _url(customer), f"Not removed: {exc.message}.")
    return done(request, _url(customer), f"User removed from “{customer.name}”; their account stays active.")
