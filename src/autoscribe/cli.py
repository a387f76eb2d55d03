"""The `autoscribe` command: serve, migrate, bootstrap, API keys, the mail outbox. `--json` prints one
JSON object."""

from __future__ import annotations

import json
import secrets
import sys
from typing import Any

import click

from autoscribe.auth.cli import api_keys
from autoscribe.clitools import emit, parse_uuid
from autoscribe.config import MissingSecretKey, get_settings
from autoscribe.errors import APIError
from autoscribe.private_files import private_dir, restrict_umask
from autoscribe.webhooks.cli import webhooks


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
            emit(
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

    emit(result, as_json, human)


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
            chosen = parse_uuid(clinic_id, "--clinic-id")
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

    emit(result, as_json, human)


@main.command()
@click.argument("audio_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--procedure", default="", help="Study description, e.g. 'CT CHEST WITHOUT CONTRAST'")
@click.option("--modality", default="", help="DICOM modality (CT, MR, CR, DX, US, MG)")
@click.option("--sex", type=click.Choice(["male", "female", "other", "M", "F", "O"], case_sensitive=False))
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
    from autoscribe.scribe import LlmConfig, ScribeEngine, StudyContext, TranscriptionError, builtin_template

    context = StudyContext(procedure=procedure, modality=modality, sex=sex, clinical_indication=indication)
    engine = ScribeEngine(llm=LlmConfig.from_settings(get_settings()))
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
    emit({"purged": count}, as_json, lambda: click.echo(f"purged the audio of {count} dictation(s)"))


@main.command()
@click.option(
    "--queues",
    default=None,
    help="Comma-separated queues to run (webhooks, dictation, reports, mail); default: "
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

    emit({"outbox": outbox_location(), "messages": messages}, as_json, human)


def add_domain_commands() -> None:
    """The command groups that live with their domains: `api-keys`, `webhooks`, `dicom` (the
    DICOM listener) and `clinics update` (AE titles)."""
    from autoscribe.dicom.cli import clinics, dicom

    main.add_command(api_keys)
    main.add_command(webhooks)
    main.add_command(dicom)
    main.add_command(clinics)


add_domain_commands()


if __name__ == "__main__":
    main()
