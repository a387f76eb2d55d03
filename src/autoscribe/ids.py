"""Branded identifiers: a three-letter prefix, an underscore and the UUID's 32 lowercase hex chars.

Primary keys are UUIDv7 so that ordering by id is ordering by creation time; that is what
keyset pagination relies on.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, WithJsonSchema

from autoscribe.errors import InvalidRequest


class Prefix(StrEnum):
    STUDY = "stu"
    USER = "usr"
    REPORT = "rep"
    INVITATION = "inv"
    CUSTOMER = "cus"
    WEBHOOK_EVENT = "whe"
    REFERENCE = "ref"
    EXTERNAL_REPORT = "ext"
    DICTATION = "dic"
    TEMPLATE = "tpl"
    MACRO = "mac"


_HEX32 = re.compile(r"[0-9a-f]{32}")


_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_id() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48-bit Unix ms timestamp, version, 12-bit counter, random bits.

    Ids made by one process are strictly increasing, also within one millisecond (RFC 9562
    method 1: rand_a is a counter that starts at a random value in each new millisecond and
    counts up; on overflow the id borrows the next millisecond). Lists "newest first" and their
    keyset cursors rely on it: several rows are often written in the same millisecond.
    """
    global _last_ms, _counter
    rand = int.from_bytes(os.urandom(8), "big")
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms = ms
            _counter = (rand >> 53) & 0x7FF  # random start in the lower half: room to count up
        else:
            _counter += 1  # same millisecond, or the clock stepped back: keep increasing
            if _counter > 0xFFF:
                _last_ms += 1
                _counter = 0
        ms, counter = _last_ms, _counter
    value = (ms & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76  # version
    value |= counter << 64  # rand_a: the counter
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def id_floor(when: datetime) -> uuid.UUID:
    """The smallest UUIDv7 of `when`'s millisecond: every id made at or after `when` is at least
    this, so a range over creation times can walk a (..., id) index."""
    return uuid.UUID(int=(int(when.timestamp() * 1000) & 0xFFFF_FFFF_FFFF) << 80)


def brand(prefix: Prefix, value: uuid.UUID) -> str:
    return f"{prefix.value}_{value.hex}"


def brand_opt(prefix: Prefix, value: uuid.UUID | None) -> str | None:
    return None if value is None else brand(prefix, value)


def parse(prefix: Prefix, text: str, param: str) -> uuid.UUID:
    """Parse a branded id, naming `param` in the error when it is malformed."""
    head, sep, tail = text.partition("_")
    if sep != "_" or head != prefix.value or not _HEX32.fullmatch(tail):
        raise InvalidRequest(
            f"{param} must look like {prefix.value}_ followed by 32 lowercase hex characters",
            param=param,
        )
    return uuid.UUID(hex=tail)


def _branded_check(prefix: Prefix) -> Callable[[str], str]:
    def check(value: str) -> str:
        head, sep, tail = value.partition("_")
        if sep != "_" or head != prefix.value or not _HEX32.fullmatch(tail):
            raise ValueError(f"must look like {prefix.value}_ followed by 32 lowercase hex characters")
        return value

    return check


def _branded_schema(prefix: Prefix) -> dict[str, Any]:
    return {"type": "string", "pattern": f"^{prefix.value}_[0-9a-f]{{32}}$"}


# Request-body fields holding branded ids: checked (the error names the field) and documented.
StudyIdStr = Annotated[
    str, AfterValidator(_branded_check(Prefix.STUDY)), WithJsonSchema(_branded_schema(Prefix.STUDY))
]
UserIdStr = Annotated[
    str, AfterValidator(_branded_check(Prefix.USER)), WithJsonSchema(_branded_schema(Prefix.USER))
]
CustomerIdStr = Annotated[
    str, AfterValidator(_branded_check(Prefix.CUSTOMER)), WithJsonSchema(_branded_schema(Prefix.CUSTOMER))
]
