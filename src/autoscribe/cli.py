"""The `autoscribe` command: serve, migrate, bootstrap, API keys, the mail outbox. `--json` prints one
JSON object."""

from __future__ import annotations

import json
import secrets
import sys
import uuid
from collections.abc import Callable
from typing import Any

import click

from autoscribe.audit.service import Actor
from autoscribe.config import MissingSecretKey, get_settings
from autoscribe.errors import APIError
from autoscribe.private_files import private_dir, restrict_umask

CLI_ACTOR = Actor("system", "cli")


def _emit(data: dict[str, Any], as_json: bool, human: Callable[[], None]) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        human()


def _uuid(value: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise click.BadParameter(f"{name} must be a UUID", param_hint=name) from None


class _Group(click.Group):
    """Domain errors become a one-line message and exit code 1 instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except APIError as exc:
            where = f" ({exc.param})" if exc.param else ""
            click.echo(f"error{where}: {exc.message}", err=True)
            sys.exit(1)
        except MissingSecretKey as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
def main() -> None:
    """AutoScribe radiology reporting platform."""
    # Before any subcommand writes anything: what this process creates (database, WAL, outbox,
    # stored files, sockets, whatever a library writes) is readable by its own user only.
    # Files the platform creates on purpose are private whatever the umask (private_files).
    restrict_umask()


def _require_shared_secret_key() -> None:
    """On PostgreSQL + S3 (processes on several machines) refuse to start without
    AUTOSCRIBE_SECRET_KEY, rather than fail at the first webhook secret or download link."""
    from autoscribe.config import SHARED_KEY_REQUIRED

    settings = get_settings()
    if settings.is_scale_out and not settings.secret_key:
        raise click.ClickException(SHARED_KEY_REQUIRED)


@main.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    from autoscribe.migrate import upgrade

    upgrade()
    click.echo("database is up to date")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="API processes")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API, dashboard and workspace."""
    import uvicorn

    from autoscribe.logs import uvicorn_log_config

    _require_shared_secret_key()
    data_dir = private_dir(get_settings().data_dir)
    if data_dir.stat().st_mode & 0o077:
        click.echo(
            f"warning: {data_dir} can be read by other users of this machine (database, secret key, "
            f"mail, files): chmod 700 {data_dir}",
            err=True,
        )
    uvicorn.run(
        "autoscribe.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # our own access log omits query strings
        log_config=uvicorn_log_config(),  # control characters escaped in uvicorn's lines too
        log_level=get_settings().log_level,
    )


@main.command()
@click.option("--clinic-name", required=True)
@click.option("--owner-email", required=True)
@click.option("--owner-password", help="At least 10 characters")
@click.option("--generate-password", is_flag=True, help="Generate and print a password for the owner")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has a clinic")
@click.option("--json", "as_json", is_flag=True)
def bootstrap(
    clinic_name: str,
    owner_email: str,
    owner_password: str | None,
    generate_password: bool,
    if_empty: bool,
    as_json: bool,
) -> None:
    """Create a clinic, its owner and a first API key (scope all, user and Express access write)."""
    from autoscribe.clinics.service import bootstrap_clinic, clinic_count
    from autoscribe.db import session_scope

    if owner_password is None and not generate_password:
        raise click.UsageError("give --owner-password or --generate-password")
    password = owner_password or secrets.token_urlsafe(12)
    with session_scope() as session:
        if if_empty and clinic_count(session) > 0:
            _emit(
                {"created": False},
                as_json,
                lambda: click.echo(
                    "Database already has a clinic: sign in with the owner account you created earlier.\n"
                    "Create another API key with: autoscribe api-keys create --clinic-id <id> ... "
                    "(autoscribe api-keys list shows clinic ids)"
                ),
            )
            return
        made = bootstrap_clinic(
            session, clinic_name=clinic_name, owner_email=owner_email, owner_password=password
        )
        result = {
            "created": True,
            "clinicId": str(made.clinic.id),
            "userId": f"usr_{made.owner.id.hex}",
            "apiKeyId": str(made.key.api_key.id),
            "apiKey": made.key.plaintext_key,
            "webhookSecret": made.key.webhook_secret,
        }
    if generate_password:
        result["ownerPassword"] = password

    def human() -> None:
        url = get_settings().public_url
        click.echo(f"Clinic {clinic_name!r} created ({result['clinicId']}).")
        click.echo(
            f"Sign in at {url}/login as {owner_email}"
            + (f" with password {password}" if generate_password else "")
        )
        click.echo(f"API key (shown once, save it now): {result['apiKey']}")
        click.echo(f"Webhook secret (AVARA_JWT_WEBHOOK_SECRET): {result['webhookSecret']}")
        click.echo(f"Try it: curl -H 'Authorization: Bearer {result['apiKey']}' {url}/v1/autoScribe/studies")

    _emit(result, as_json, human)


@main.command()
@click.option("--clinic-id", help="The clinic (default: the only clinic, or the oldest one)")
@click.option("--json", "as_json", is_flag=True)
def sample(clinic_id: str | None, as_json: bool) -> None:
    """Create the sample study once (a demo radiologist and a synthetic chest CT in the clinic's
    DICOM archive) and print a fresh one-time link to read it. Run it again for a new link."""
    from sqlalchemy import select

    from autoscribe.clinics import sample as samples
    from autoscribe.clinics.models import Clinic
    from autoscribe.db import session_scope

    with session_scope() as session:
        if clinic_id is not None:
            chosen = _uuid(clinic_id, "--clinic-id")
        else:
            oldest = session.scalars(select(Clinic.id).order_by(Clinic.created_at).limit(1)).first()
            if oldest is None:
                raise click.ClickException("no clinic yet: run `autoscribe bootstrap` first")
            chosen = oldest
        made = samples.ensure_sample(session, chosen)
        link = samples.reading_link(session, chosen, made)
    ttl = int(get_settings().reroute_token_ttl_seconds)
    result = {
        "clinicId": str(chosen),
        "studyId": made.study_id,
        "studyInstanceUid": made.study_instance_uid,
        "radiologistId": made.radiologist_id,
        "created": made.created,
        "readingUrl": link,
        "expiresInSeconds": ttl,
    }

    def human() -> None:
        if made.created:
            click.echo(
                f"Sample study created: a chest CT in this clinic's DICOM archive ({made.study_id}), "
                f"assigned to the demo radiologist {made.radiologist_email} (NPI {samples.TEST_NPI})."
            )
        click.echo(f"Read the sample study (one-time link, valid {ttl // 60} min): {link}")
        click.echo("A new link any time: .venv/bin/autoscribe sample")

    _emit(result, as_json, human)


@main.group("api-keys")
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
        cid = _uuid(clinic_id, "--clinic-id")
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
    _emit(
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
            for k in list_api_keys(session, _uuid(clinic_id, "--clinic-id") if clinic_id else None)
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

    _emit({"apiKeys": keys}, as_json, human)


@api_keys.command("revoke")
@click.option("--api-key-id", required=True)
@click.option("--json", "as_json", is_flag=True)
def api_keys_revoke(api_key_id: str, as_json: bool) -> None:
    from autoscribe.auth.service import get_api_key, revoke_api_key
    from autoscribe.db import session_scope

    with session_scope() as session:
        key = revoke_api_key(
            session, get_api_key(session, _uuid(api_key_id, "--api-key-id")), actor=CLI_ACTOR
        )
        result = _key_summary(key)
    _emit(result, as_json, lambda: click.echo(f"API key {api_key_id} revoked"))


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
        key = get_api_key(session, _uuid(api_key_id, "--api-key-id"))
        if changes:
            update_endpoints(session, key, actor=CLI_ACTOR, **changes)
        if viewer_enabled is not None:
            set_viewer_enabled(session, key, viewer_enabled == "true", actor=CLI_ACTOR)
        if clinical_context_enrichment is not None:
            enabled = clinical_context_enrichment == "true"
            set_clinical_context_enrichment(session, key, enabled, actor=CLI_ACTOR)
        result = _key_summary(key)
    _emit(
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
        key = get_api_key(session, _uuid(api_key_id, "--api-key-id"))
        secret = rotate_webhook_secret(session, key, actor=CLI_ACTOR) if rotate else webhook_secret(key)
    _emit({"apiKeyId": api_key_id, "webhookSecret": secret}, as_json, lambda: click.echo(secret))


@main.command()
@click.argument("audio_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--procedure", default="", help="Study description, e.g. 'CT CHEST WITHOUT CONTRAST'")
@click.option("--modality", default="", help="DICOM modality (CT, MR, CR, DX, US, MG)")
@click.option("--sex", type=click.Choice(["male", "female", "other"]))
@click.option("--indication", default="", help="Clinical indication, when the study carries one")
@click.option("--template", "template_id", help="Template id instead of the automatic choice")
@click.option("--json", "as_json", is_flag=True)
def dictate(
    audio_file: str,
    procedure: str,
    modality: str,
    sex: str | None,
    indication: str,
    template_id: str | None,
    as_json: bool,
) -> None:
    """Run the scribe engine on a WAV/WebM/MP3 file: transcript, template, draft, impression, checks."""
    from autoscribe.scribe import ScribeEngine, StudyContext, TranscriptionError, builtin_template

    context = StudyContext(procedure=procedure, modality=modality, sex=sex, clinical_indication=indication)
    engine = ScribeEngine()
    template = None
    if template_id:
        template = builtin_template(template_id)
        if template is None:
            raise click.BadParameter("no built-in template with that id", param_hint="--template")
    try:
        result = engine.dictate(audio_file, context, template=template)
    except TranscriptionError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    data = result.to_dict()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    t = result.transcript
    click.echo(f"TRANSCRIPT ({t.duration:.1f} s audio, {t.processing_seconds:.1f} s, {t.model}):\n{t.text}\n")
    click.echo(f"TEMPLATE: {result.template.name} ({result.template.id})\n")
    click.echo(result.draft.to_text())
    if result.draft.impression_suggested:
        click.echo(
            f"\n(impression: SUGGESTED by the engine ({result.draft.impression_source}); "
            "no impression was dictated, review it)"
        )
    else:
        click.echo(f"\n(impression: {result.draft.impression_source} by the radiologist)")
    click.echo("\nCHECKS:" if result.checks else "\nCHECKS: none")
    for check in result.checks:
        where = f" [{check.where}]" if check.where else ""
        click.echo(f"  {check.severity:7} {check.code}{where}: {check.message}")


@main.group()
def scribe() -> None:
    """Transcription jobs and dictation audio."""


@scribe.command("purge-audio")
@click.option("--json", "as_json", is_flag=True)
def scribe_purge_audio(as_json: bool) -> None:
    """Delete dictation audio of reports signed more than AUTOSCRIBE_AUDIO_RETENTION_DAYS ago."""
    from autoscribe.db import session_scope
    from autoscribe.dictation.service import purge_expired_audio

    with session_scope() as session:
        count = purge_expired_audio(session)
    _emit({"purged": count}, as_json, lambda: click.echo(f"purged the audio of {count} dictation(s)"))


@main.command()
@click.option(
    "--queues",
    default=None,
    help="Comma-separated queues to run (webhooks, dictation, reports); default: "
    "AUTOSCRIBE_WORKER_QUEUES, else all of them",
)
@click.option(
    "--concurrency", type=int, help="Deliveries in flight at once (default AUTOSCRIBE_WEBHOOK_CONCURRENCY)"
)
@click.option("--once", is_flag=True, help="Run the tasks that are due (not webhooks), then exit")
def worker(queues: str | None, concurrency: int | None, once: bool) -> None:
    """Deliver webhooks and run background tasks until stopped (SIGTERM/SIGINT). Run as many as
    needed, each on all queues or on some (e.g. transcription on machines of their own)."""
    from autoscribe.logs import configure_logging
    from autoscribe.worker import Worker, parse_queues

    _require_shared_secret_key()
    configure_logging()
    try:
        wanted = parse_queues(get_settings().worker_queues if queues is None else queues)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--queues") from None
    running = Worker(wanted, concurrency=concurrency)
    if once:
        click.echo(f"ran {running.run_pending()} task(s)")
        return
    click.echo(f"worker running: {running.describe()}")
    running.run_forever()


@main.group()
def webhooks() -> None:
    """Replay events, send test events, read the delivery log."""


@webhooks.command("replay")
@click.argument("event_id")
@click.option("--json", "as_json", is_flag=True)
def webhooks_replay(event_id: str, as_json: bool) -> None:
    """Send an event again (same id) from the start of its retry schedule."""
    from autoscribe.db import session_scope
    from autoscribe.webhooks.service import event_view, replay

    with session_scope() as session:
        view = event_view(replay(session, event_id, actor=CLI_ACTOR))
    _emit(
        view.model_dump(mode="json"),
        as_json,
        lambda: click.echo(f"{view.id} ({view.type}) queued for delivery; a worker sends it shortly"),
    )


@webhooks.command("send-test")
@click.option("--api-key-id", required=True)
@click.option(
    "--event",
    "event_type",
    type=click.Choice(["report.delivered", "study.access_requested", "ephemeral.access_requested"]),
    default="report.delivered",
    show_default=True,
)
@click.option("--timeout", type=float, help="Seconds (default: the configured webhook timeout)")
@click.option("--json", "as_json", is_flag=True)
def webhooks_send_test(api_key_id: str, event_type: str, timeout: float | None, as_json: bool) -> None:
    """Send a realistic sample event, signed with the key's secret, to the key's endpoint."""
    from autoscribe.auth.service import get_api_key
    from autoscribe.db import session_scope
    from autoscribe.webhooks.service import send_test

    with session_scope() as session:
        key = get_api_key(session, _uuid(api_key_id, "--api-key-id"))
        result = send_test(session, key, event_type, timeout=timeout)

    def human() -> None:
        state = "OK" if result.succeeded else "FAILED"
        status = result.status_code if result.status_code is not None else "-"
        click.echo(f"{state}: {result.event_type} {result.event_id} -> {result.url}")
        click.echo(f"status: {status}   duration: {result.duration_ms} ms")
        if result.error:
            click.echo(f"error: {result.error}")
        if result.response_body is not None:
            click.echo(f"response: {result.response_body}")
        if result.answer is not None:
            click.echo("validated answer: " + json.dumps(result.answer, ensure_ascii=False, indent=2))

    _emit(result.as_dict(), as_json, human)
    if not result.succeeded:
        sys.exit(1)


@webhooks.command("show")
@click.argument("event_id")
@click.option("--json", "as_json", is_flag=True)
def webhooks_show(event_id: str, as_json: bool) -> None:
    """An event's status, next retry and every attempt (time, status, duration, response, error)."""
    from autoscribe.db import session_scope
    from autoscribe.webhooks.service import attempt_view, event_view, get_event, list_attempts

    with session_scope() as session:
        view = event_view(get_event(session, event_id))
        attempts = [attempt_view(a) for a in list_attempts(session, event_id)]
    data = view.model_dump(mode="json")
    data["attempts"] = [a.model_dump(mode="json") for a in attempts]

    def human() -> None:
        nxt = f", next attempt {data['nextAttemptAt']}" if data["nextAttemptAt"] else ""
        click.echo(f"{data['id']} {data['type']} ({data['kind']}): {data['status']}{nxt}")
        for a in data["attempts"]:
            code = a["statusCode"] if a["statusCode"] is not None else "-"
            click.echo(
                f"  #{a['attemptNumber']} {a['startedAt']} {code} {a['durationMs']} ms"
                + (f"  {a['error']}" if a["error"] else "")
            )

    _emit(data, as_json, human)


@webhooks.command("list")
@click.option("--clinic-id", required=True)
@click.option("--status", type=click.Choice(["pending", "succeeded", "failed"]))
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def webhooks_list(clinic_id: str, status: str | None, limit: int, as_json: bool) -> None:
    """A clinic's webhook events, newest first."""
    from autoscribe.db import session_scope
    from autoscribe.webhooks.service import event_view, list_events

    with session_scope() as session:
        page = list_events(session, clinic_id=_uuid(clinic_id, "--clinic-id"), status=status, limit=limit)
        events = [event_view(e).model_dump(mode="json") for e in page.items]

    def human() -> None:
        for e in events:
            click.echo(
                f"{e['id']}  {e['type']:24} {e['kind']:5} {e['status']:9} attempts={e['attemptCount']}"
            )

    _emit({"events": events}, as_json, human)


@webhooks.command("purge")
@click.option("--older-than-days", type=click.IntRange(1), default=90, show_default=True)
def webhooks_purge(older_than_days: int) -> None:
    """Delete delivered and failed events (with their attempt logs) older than N days."""
    from datetime import timedelta

    from autoscribe.db import session_scope
    from autoscribe.webhooks.service import purge

    with session_scope() as session:
        count = purge(session, older_than=timedelta(days=older_than_days))
    click.echo(f"{count} event(s) purged")


@webhooks.command("enable-endpoints")
@click.option("--api-key-id", required=True)
def webhooks_enable_endpoints(api_key_id: str) -> None:
    """Re-enable a key's endpoints that were disabled after answering 410 Gone."""
    from autoscribe.auth.service import get_api_key
    from autoscribe.db import session_scope
    from autoscribe.webhooks.service import enable_endpoints

    with session_scope() as session:
        count = enable_endpoints(
            session, get_api_key(session, _uuid(api_key_id, "--api-key-id")), actor=CLI_ACTOR
        )
    click.echo(f"{count} endpoint(s) re-enabled")


@main.group()
def mail() -> None:
    """Outgoing mail."""


@mail.command("outbox")
@click.option("--json", "as_json", is_flag=True)
def mail_outbox(as_json: bool) -> None:
    """Messages in the local outbox (no AUTOSCRIBE_SMTP_URL), oldest first, with their links.

    For local development: the links (invitations, password resets) are credentials, which is
    why the server log never shows them."""
    from autoscribe.mail.sender import outbox_location, outbox_messages

    messages = outbox_messages()

    def human() -> None:
        if not messages:
            click.echo(f"no messages in {outbox_location()}")
        for m in messages:
            click.echo(f"{m['time'] or '-'}  to {m['to']}  {m['subject']}")
            click.echo(f"    {m['link'] or '(no link)'}")

    _emit({"outbox": outbox_location(), "messages": messages}, as_json, human)


def add_dicom_commands() -> None:
    """`autoscribe dicom ...` (the DICOM listener) and `autoscribe clinics update` (AE titles)."""
    from autoscribe.dicom.cli import clinics, dicom

    main.add_command(dicom)
    main.add_command(clinics)


add_dicom_commands()


if __name__ == "__main__":
    main()
