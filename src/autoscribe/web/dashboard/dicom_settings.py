"""DICOM: the clinic's AE title, the API key that receives the DICOM events, the allow-lists, and
what to configure on a modality (host, port, AE title). Owners only, like API Config."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import Response

from autoscribe.auth import service as keys
from autoscribe.auth.context import SessionDep
from autoscribe.clinics.models import Clinic
from autoscribe.config import get_settings
from autoscribe.dicom import service as dicom
from autoscribe.errors import APIError
from autoscribe.web.csrf import CsrfProtected
from autoscribe.web.dashboard.common import Form, Owner, actor_of, done, errors_from, not_found, text
from autoscribe.web.templating import render

router = APIRouter(include_in_schema=False)

BASE = "/dicom"


def _listener_address() -> tuple[str, int]:
    settings = get_settings()
    host = settings.dicom_public_host or urlsplit(settings.public_url).hostname or "127.0.0.1"
    return host, settings.dicom_port


def _values(clinic: Clinic) -> dict[str, str]:
    return {
        "aeTitle": clinic.ae_title or "",
        "dicomApiKeyId": str(clinic.dicom_api_key_id) if clinic.dicom_api_key_id else "",
        "dicomAllowedCallingAes": ", ".join(clinic.dicom_allowed_calling_aes or []),
        "dicomAllowedAddresses": ", ".join(clinic.dicom_allowed_addresses or []),
    }


def _page(
    request: Request,
    session: SessionDep,
    owner: Owner,
    clinic: Clinic,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    active_keys = [k for k in keys.list_api_keys(session, owner.user.clinic_id) if k.is_active]
    host, port = _listener_address()
    return render(
        request,
        "dashboard/dicom_settings.html",
        {
            "active": "dicom",
            "clinic": clinic,
            "values": values,
            "errors": errors,
            "key_options": [("", "None: no enrichment, no worklist")]
            + [(str(k.id), f"{k.description} ({k.key_prefix}…)") for k in active_keys],
            "host": host,
            "port": port,
            "dicomweb_url": get_settings().public_url.rstrip("/") + "/dicomweb",
        },
        status_code=status,
    )


def _clinic(session: SessionDep, owner: Owner) -> Clinic:
    clinic = session.get(Clinic, owner.user.clinic_id)
    if clinic is None:
        raise not_found("clinic")
    return clinic


@router.get(BASE)
def dicom_settings(request: Request, session: SessionDep, owner: Owner) -> Response:
    clinic = _clinic(session, owner)
    return _page(request, session, owner, clinic, _values(clinic), {})


def _list(value: str) -> list[str]:
    return [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]


@router.post(BASE, dependencies=[CsrfProtected])
def save_dicom_settings(request: Request, session: SessionDep, owner: Owner, form: Form) -> Response:
    clinic = _clinic(session, owner)
    values = {
        "aeTitle": text(form, "aeTitle", 64).strip(),
        "dicomApiKeyId": text(form, "dicomApiKeyId", 64).strip(),
        "dicomAllowedCallingAes": text(form, "dicomAllowedCallingAes", 4000),
        "dicomAllowedAddresses": text(form, "dicomAllowedAddresses", 4000),
    }
    try:
        key_id = uuid.UUID(values["dicomApiKeyId"]) if values["dicomApiKeyId"] else None
    except ValueError:
        return _page(request, session, owner, clinic, values, {"dicomApiKeyId": "Choose an API key"}, 400)
    try:
        dicom.configure_clinic(
            session,
            clinic.id,
            actor=actor_of(request, owner),
            ae_title=values["aeTitle"] or None,
            dicom_api_key_id=key_id,
            allowed_calling_aes=_list(values["dicomAllowedCallingAes"]),
            allowed_addresses=_list(values["dicomAllowedAddresses"]),
        )
    except APIError as exc:
        session.rollback()
        return _page(request, session, owner, _clinic(session, owner), values, errors_from(exc), 400)
    return done(request, BASE, "DICOM settings saved.")
