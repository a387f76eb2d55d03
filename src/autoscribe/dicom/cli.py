"""CLI glue for the DICOM edge: `autoscribe dicom ...` and `autoscribe clinics update`.
Registered on the main command by autoscribe.cli.add_domain_commands."""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

import click

from autoscribe.clitools import CLI_ACTOR


def _emit(data: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        for line in lines:
            click.echo(line)


@click.group()
def dicom() -> None:
    """The DICOM listener (C-ECHO, C-STORE, Modality Worklist) and received studies."""


@dicom.command("serve")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="0.0.0.0 to take modalities on the network"
)
@click.option("--port", type=int, help="Default: AUTOSCRIBE_DICOM_PORT (11112)")
def dicom_serve(host: str, port: int | None) -> None:
    """Listen for DICOM associations for every clinic (routed by called AE title) until stopped."""
    import logging

    from autoscribe.config import get_settings
    from autoscribe.dicom.listener import Listener
    from autoscribe.logs import configure_logging

    configure_logging()
    settings = get_settings()
    if settings.is_scale_out and not settings.secret_key:  # as `serve` and `worker` refuse
        from autoscribe.config import SHARED_KEY_REQUIRED

        raise click.ClickException(SHARED_KEY_REQUIRED)
    port = settings.dicom_port if port is None else port
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    listener = Listener(host, port).start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(
        f"DICOM listener on {host}:{listener.port}; studies are seeded after "
        f"{get_settings().dicom_study_idle_seconds:g} s idle",
        err=True,
    )
    try:
        while not stop.wait(3600):
            pass
    finally:
        listener.stop()


@dicom.command("seed-idle")
@click.option("--json", "as_json", is_flag=True)
def dicom_seed_idle(as_json: bool) -> None:
    """Seed the received studies that are idle now, once (what `dicom serve` does periodically)."""
    from autoscribe.db import get_sessionmaker
    from autoscribe.dicom.service import finalize_idle_studies
    from autoscribe.ids import Prefix, brand_opt

    with get_sessionmaker()() as session:
        results = finalize_idle_studies(session)
    items = [
        {
            "clinicId": str(r.clinic_id),
            "studyInstanceUid": r.study_instance_uid,
            "studyId": brand_opt(Prefix.STUDY, r.study_id),
            "created": r.created,
            "instances": r.instances,
            "error": r.error,
        }
        for r in results
    ]
    _emit(
        {"studies": items},
        as_json,
        [_seed_line(i) for i in items] or ["no idle studies"],
    )


def _seed_line(item: dict[str, Any]) -> str:
    outcome = item["error"] or f"{'created' if item['created'] else 'updated'} {item['studyId']}"
    return f"{item['studyInstanceUid']}: {outcome}"


@click.group()
def clinics() -> None:
    """Clinic settings."""


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


@clinics.command("update")
@click.option("--clinic-id", required=True)
@click.option("--ae-title", help="AE title modalities call for this clinic; empty string removes it")
@click.option("--dicom-api-key-id", help="API key whose study webhook gets the DICOM events; empty removes")
@click.option("--allowed-calling-aes", help="Comma-separated calling AE titles allowed (empty: any)")
@click.option("--allowed-addresses", help="Comma-separated addresses or CIDR networks allowed (empty: any)")
@click.option("--json", "as_json", is_flag=True)
def clinics_update(
    clinic_id: str,
    ae_title: str | None,
    dicom_api_key_id: str | None,
    allowed_calling_aes: str | None,
    allowed_addresses: str | None,
    as_json: bool,
) -> None:
    """Change a clinic's DICOM settings (only the options given)."""
    import uuid

    from autoscribe.db import session_scope
    from autoscribe.dicom import service

    def parse(value: str, name: str) -> uuid.UUID:
        try:
            return uuid.UUID(value)
        except ValueError:
            raise click.BadParameter(f"{name} must be a UUID", param_hint=name) from None

    changes: dict[str, Any] = {}
    if ae_title is not None:
        changes["ae_title"] = ae_title or None
    if dicom_api_key_id is not None:
        changes["dicom_api_key_id"] = (
            parse(dicom_api_key_id, "--dicom-api-key-id") if dicom_api_key_id else None
        )
    if allowed_calling_aes is not None:
        changes["allowed_calling_aes"] = _split(allowed_calling_aes)
    if allowed_addresses is not None:
        changes["allowed_addresses"] = _split(allowed_addresses)
    with session_scope() as session:
        clinic = service.configure_clinic(
            session, parse(clinic_id, "--clinic-id"), actor=CLI_ACTOR, **changes
        )
        view = service.clinic_view(clinic)
    _emit(
        view,
        as_json,
        [
            f"Clinic {view['name']!r} ({view['clinicId']})",
            f"  AE title: {view['aeTitle'] or '(none: takes no DICOM)'}",
            f"  DICOM API key: {view['dicomApiKeyId'] or '(none)'}",
            f"  allowed calling AE titles: {', '.join(view['dicomAllowedCallingAes']) or 'any'}",
            f"  allowed addresses: {', '.join(view['dicomAllowedAddresses']) or 'any'}",
        ],
    )
