"""Opaque keyset cursors over UUIDv7 ids (newest first), and query-string helpers for lists."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import WithJsonSchema
from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from autoscribe.errors import InvalidRequest
from autoscribe.ids import Prefix, parse

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

# Query parameters arrive as strings and are parsed by the helpers below (leniently: the SDK
# sends limit=10.0 for a float); WithJsonSchema documents what they mean.
LimitQuery = Annotated[
    str | None,
    Query(description=f"Page size, 1-{MAX_LIMIT}, default {DEFAULT_LIMIT}"),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
]
CursorQuery = Annotated[str | None, Query(description="The `cursor` of the previous page")]


def bool_schema() -> WithJsonSchema:
    # "null", like an absent parameter, means no filter.
    return WithJsonSchema({"anyOf": [{"type": "boolean"}, {"type": "string", "enum": ["null"]}]})


def choice_schema(choices: Sequence[str]) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "enum": list(choices)})


def choice_list_schema(choices: Sequence[str]) -> WithJsonSchema:
    one = "|".join(choices)
    return WithJsonSchema({"type": "string", "pattern": f"^(({one})(,({one}))*)?$"})


def id_or_null_schema(prefix: Prefix) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": f"^({prefix.value}_[0-9a-f]{{32}}|null)?$"})


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    has_more: bool
    cursor: str | None


def encode_cursor(last_id: uuid.UUID) -> str:
    raw = json.dumps({"after": last_id.hex}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(data, dict) or not isinstance(data.get("after"), str):
            raise ValueError("not a cursor")
        return uuid.UUID(hex=data["after"])
    except (binascii.Error, ValueError, TypeError):
        raise InvalidRequest(
            "cursor is not a cursor this API returned; pass the 'cursor' value of the previous page",
            param="cursor",
        ) from None


def parse_limit(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not number.is_integer() or not 1 <= number <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}", param="limit")
    return int(number)


def paginate(
    session: Session,
    stmt: Select[Any],
    id_column: InstrumentedAttribute[uuid.UUID],
    *,
    cursor: str | None,
    limit: int,
) -> Page[Any]:
    """Newest first; fetch one extra row to know whether another page exists."""
    if cursor:
        stmt = stmt.where(id_column < decode_cursor(cursor))
    rows = list(session.scalars(stmt.order_by(id_column.desc()).limit(limit + 1)).unique())
    has_more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, has_more, encode_cursor(rows[-1].id) if has_more and rows else None)


def _encode_keyset(values: list[int], last_id: uuid.UUID) -> str:
    raw = json.dumps({"keys": values, "after": last_id.hex}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_keyset(cursor: str, size: int) -> tuple[list[int], uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        values = data["keys"]
        if (
            not isinstance(values, list)
            or len(values) != size
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in values)
        ):
            raise ValueError("keys")
        return values, uuid.UUID(hex=data["after"])
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InvalidRequest(
            "cursor is not a cursor this list returned; pass the 'cursor' value of the previous page",
            param="cursor",
        ) from None


def paginate_ordered(
    session: Session,
    stmt: Select[Any],
    keys: Sequence[InstrumentedAttribute[int]],
    id_column: InstrumentedAttribute[uuid.UUID],
    *,
    cursor: str | None,
    limit: int,
) -> Page[Any]:
    """Keyset pagination over integer sort keys, then id, all descending (e.g. priority first,
    then newest). The cursor holds the last row's key values and id, so rows inserted or
    changed meanwhile never make a page repeat or skip a row that kept its place."""
    if cursor:
        values, last_id = _decode_keyset(cursor, len(keys))
        stmt = stmt.where(tuple_(*keys, id_column) < tuple_(*values, last_id))
    order = [key.desc() for key in keys] + [id_column.desc()]
    rows = list(session.scalars(stmt.order_by(*order).limit(limit + 1)).unique())
    has_more = len(rows) > limit
    rows = rows[:limit]
    if not (has_more and rows):
        return Page(rows, has_more, None)
    last = rows[-1]
    return Page(rows, has_more, _encode_keyset([int(getattr(last, key.key)) for key in keys], last.id))


def parse_bool(value: str | None, param: str) -> bool | None:
    """true/false; "null" or empty mean "no filter"."""
    if value is None or value in ("", "null"):
        return None
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise InvalidRequest(f"{param} must be true or false", param=param)


def parse_text(value: str | None, param: str) -> str | None:
    """A free-text filter; empty means no filter. NUL cannot be compared in PostgreSQL."""
    if not value:
        return None
    if "\x00" in value:
        raise InvalidRequest(f"{param} must not contain NUL characters", param=param)
    return value


def parse_choice_list(value: str | None, choices: Sequence[str], param: str) -> list[str] | None:
    """Comma-separated enum list, the way the SDK serializes arrays."""
    if value is None or value == "":
        return None
    items = [item.strip() for item in value.split(",") if item.strip()]
    bad = [item for item in items if item not in choices]
    if bad:
        raise InvalidRequest(
            f"{param} has unknown value(s) {', '.join(bad)}; allowed: {', '.join(choices)}", param=param
        )
    return items


def parse_choice(value: str | None, choices: Sequence[str], param: str) -> str | None:
    if value is None or value == "":
        return None
    if value not in choices:
        raise InvalidRequest(f"{param} must be one of: {', '.join(choices)}", param=param)
    return value


@dataclass(frozen=True)
class IdFilter:
    """A nullable id filter: absent or empty (no filter), "null" (only rows without one), or an id."""

    value: uuid.UUID | None = None
    only_null: bool = False


def parse_id_filter(raw: str | None, prefix: Prefix, param: str) -> IdFilter:
    if not raw:
        return IdFilter()
    if raw == "null":
        return IdFilter(only_null=True)
    return IdFilter(value=parse(prefix, raw, param))
