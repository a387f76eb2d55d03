"""`autoscribe webhooks ...`: replay, send test events, read and purge the delivery log."""

from __future__ import annotations

import json
import sys

import click

from autoscribe.clitools import CLI_ACTOR, emit, parse_uuid


@click.group()
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
    emit(
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
        key = get_api_key(session, parse_uuid(api_key_id, "--api-key-id"))
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

    emit(result.as_dict(), as_json, human)
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

    emit(data, as_json, human)


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
        page = list_events(
            session, clinic_id=parse_uuid(clinic_id, "--clinic-id"), status=status, limit=limit
        )
        events = [event_view(e).model_dump(mode="json") for e in page.items]

    def human() -> None:
        for e in events:
            click.echo(
                f"{e['id']}  {e['type']:24} {e['kind']:5} {e['status']:9} attempts={e['attemptCount']}"
            )

    emit({"events": events}, as_json, human)


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
            session, get_api_key(session, parse_uuid(api_key_id, "--api-key-id")), actor=CLI_ACTOR
        )
    click.echo(f"{count} endpoint(s) re-enabled")
