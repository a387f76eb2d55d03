"""`autoscribe api-keys ...`: create, list, update and revoke API keys, show webhook secrets."""

from __future__ import annotations

from typing import Any

import click

from autoscribe.clitools import CLI_ACTOR, emit, parse_uuid


@click.group("api-keys")
def api_keys() -> None:
    """Create, list, update and revoke API keys."""


def _key_summary(key: Any) -> dict[str, Any]:
    return {
        "apiKeyId": str(key.id),
        "clinicId": str(key.clinic_id),
        "description": key.description,
        "keyPrefix": key.key_prefix,
        "studyScope": key.study_scope,
        "userAccess": key.user_access,
        "expressAccess": key.express_access,
        "studyWebhookUrl": key.study_webhook_url,
        "reportWebhookUrl": key.report_webhook_url,
        "isViewerEnabled": key.is_viewer_enabled,
        "isClinicalContextEnrichmentEnabled": key.is_clinical_context_enrichment_enabled,
        "createdAt": key.created_at.isoformat(),
        "lastUsedAt": key.last_used_at.isoformat() if key.last_used_at else None,
        "revoked": key.revoked_at is not None,
    }


@api_keys.command("create")
@click.option("--clinic-id", required=True)
@click.option("--description", required=True)
@click.option("--study-scope", type=click.Choice(["self", "all"]), required=True)
@click.option("--user-access", type=click.Choice(["none", "read", "write"]), required=True)
@click.option("--express-access", type=click.Choice(["none", "read", "write"]), required=True)
@click.option("--study-webhook-url")
@click.option("--report-webhook-url")
@click.option(
    "--viewer-enabled",
    type=click.Choice(["true", "false"]),
    default="true",
    show_default=True,
    help="The Viewer product (/v1/viewer, viewer-only-reroute-url) for this key",
)
@click.option(
    "--clinical-context-enrichment",
    type=click.Choice(["true", "false"]),
    default="false",
    show_default=True,
    help="Send clinical_context.enrichment_requested when a study of this key is first opened for reading",
)
@click.option("--json", "as_json", is_flag=True)
def api_keys_create(
    clinic_id: str,
    description: str,
    study_scope: str,
    user_access: str,
    express_access: str,
    study_webhook_url: str | None,
    report_webhook_url: str | None,
    viewer_enabled: str,
    clinical_context_enrichment: str,
    as_json: bool,
) -> None:
    from autoscribe.auth.service import create_api_key
    from autoscribe.clinics.models import Clinic
    from autoscribe.db import session_scope

    with session_scope() as session:
        cid = parse_uuid(clinic_id, "--clinic-id")
        if session.get(Clinic, cid) is None:
            raise click.BadParameter("no such clinic", param_hint="--clinic-id")
        made = create_api_key(
            session,
            clinic_id=cid,
            description=description,
            study_scope=study_scope,
            user_access=user_access,
            express_access=express_access,
            study_webhook_url=study_webhook_url,
            report_webhook_url=report_webhook_url,
            is_viewer_enabled=viewer_enabled == "true",
            is_clinical_context_enrichment_enabled=clinical_context_enrichment == "true",
            actor=CLI_ACTOR,
        )
        result = {
            "apiKeyId": str(made.api_key.id),
            "apiKey": made.plaintext_key,
            "webhookSecret": made.webhook_secret,
        }
    emit(
        result,
        as_json,
        lambda: click.echo(
            f"API key {result['apiKeyId']} created.\nKey (shown once): {result['apiKey']}\n"
            f"Webhook secret: {result['webhookSecret']}"
        ),
    )


@api_keys.command("list")
@click.option("--clinic-id")
@click.option("--json", "as_json", is_flag=True)
def api_keys_list(clinic_id: str | None, as_json: bool) -> None:
    from autoscribe.auth.service import list_api_keys
    from autoscribe.db import session_scope

    with session_scope() as session:
        keys = [
            _key_summary(k)
            for k in list_api_keys(session, parse_uuid(clinic_id, "--clinic-id") if clinic_id else None)
        ]

    def human() -> None:
        for k in keys:
            state = "revoked" if k["revoked"] else "active"
            click.echo(
                f"{k['apiKeyId']}  {k['keyPrefix']}…  {state:7}  scope={k['studyScope']} "
                f"users={k['userAccess']} express={k['expressAccess']} "
                f"viewer={'on' if k['isViewerEnabled'] else 'off'} "
                f"context={'on' if k['isClinicalContextEnrichmentEnabled'] else 'off'}  "
                f"clinic={k['clinicId']}  {k['description']}"
            )

    emit({"apiKeys": keys}, as_json, human)


@api_keys.command("revoke")
@click.option("--api-key-id", required=True)
@click.option("--json", "as_json", is_flag=True)
def api_keys_revoke(api_key_id: str, as_json: bool) -> None:
    from autoscribe.auth.service import get_api_key, revoke_api_key
    from autoscribe.db import session_scope

    with session_scope() as session:
        key = revoke_api_key(
            session, get_api_key(session, parse_uuid(api_key_id, "--api-key-id")), actor=CLI_ACTOR
        )
        result = _key_summary(key)
    emit(result, as_json, lambda: click.echo(f"API key {api_key_id} revoked"))


@api_keys.command("update")
@click.option("--api-key-id", required=True)
@click.option("--study-webhook-url", help="Empty string removes the endpoint")
@click.option("--report-webhook-url", help="Empty string removes the endpoint")
@click.option(
    "--viewer-enabled",
    type=click.Choice(["true", "false"]),
    help="Switch the Viewer product (/v1/viewer, viewer-only-reroute-url) on or off for this key",
)
@click.option(
    "--clinical-context-enrichment",
    type=click.Choice(["true", "false"]),
    help="Switch clinical_context.enrichment_requested (on a study's first read) on or off for this key",
)
@click.option("--json", "as_json", is_flag=True)
def api_keys_update(
    api_key_id: str,
    study_webhook_url: str | None,
    report_webhook_url: str | None,
    viewer_enabled: str | None,
    clinical_context_enrichment: str | None,
    as_json: bool,
) -> None:
    """Edit Endpoints (where this key's webhooks go), whether the Viewer is enabled, and whether
    clinical-context enrichment is."""
    from autoscribe.auth.service import (
        get_api_key,
        set_clinical_context_enrichment,
        set_viewer_enabled,
        update_endpoints,
    )
    from autoscribe.db import session_scope

    changes: dict[str, Any] = {}
    if study_webhook_url is not None:
        changes["study_webhook_url"] = study_webhook_url
    if report_webhook_url is not None:
        changes["report_webhook_url"] = report_webhook_url
    if not changes and viewer_enabled is None and clinical_context_enrichment is None:
        raise click.UsageError(
            "give --study-webhook-url, --report-webhook-url, --viewer-enabled and/or "
            "--clinical-context-enrichment"
        )
    with session_scope() as session:
        key = get_api_key(session, parse_uuid(api_key_id, "--api-key-id"))
        if changes:
            update_endpoints(session, key, actor=CLI_ACTOR, **changes)
        if viewer_enabled is not None:
            set_viewer_enabled(session, key, viewer_enabled == "true", actor=CLI_ACTOR)
        if clinical_context_enrichment is not None:
            enabled = clinical_context_enrichment == "true"
            set_clinical_context_enrichment(session, key, enabled, actor=CLI_ACTOR)
        result = _key_summary(key)
    emit(
        result,
        as_json,
        lambda: click.echo(
            f"study webhook: {result['studyWebhookUrl'] or '(none)'}\n"
            f"report webhook: {result['reportWebhookUrl'] or '(none)'}\n"
            f"viewer: {'enabled' if result['isViewerEnabled'] else 'disabled'}\n"
            "clinical-context enrichment: "
            f"{'enabled' if result['isClinicalContextEnrichmentEnabled'] else 'disabled'}"
        ),
    )


@api_keys.command("secret")
@click.option("--api-key-id", required=True)
@click.option("--rotate", is_flag=True, help="Replace the secret with a new one")
@click.option("--json", "as_json", is_flag=True)
def api_keys_secret(api_key_id: str, rotate: bool, as_json: bool) -> None:
    """Show (or rotate) the webhook signing secret: AVARA_JWT_WEBHOOK_SECRET."""
    from autoscribe.auth.service import get_api_key, rotate_webhook_secret, webhook_secret
    from autoscribe.db import session_scope

    with session_scope() as session:
        key = get_api_key(session, parse_uuid(api_key_id, "--api-key-id"))
        secret = rotate_webhook_secret(session, key, actor=CLI_ACTOR) if rotate else webhook_secret(key)
    emit({"apiKeyId": api_key_id, "webhookSecret": secret}, as_json, lambda: click.echo(secret))
