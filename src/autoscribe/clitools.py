"""What every `autoscribe` command group shares: the audit actor, --json output, UUID options."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import click

from autoscribe.audit.service import Actor

CLI_ACTOR = Actor("system", "cli")


def emit(data: dict[str, Any], as_json: bool, human: Callable[[], None]) -> None:
    """One JSON object with --json, else the command's human-readable lines."""
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        human()


def parse_uuid(value: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise click.BadParameter(f"{name} must be a UUID", param_hint=name) from None
