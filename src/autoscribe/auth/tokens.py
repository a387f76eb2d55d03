"""Hashed single-use tokens: invitation links, password-reset links, workspace access links.

The token is handed out once (in an email or an API answer); only its SHA-256 is stored, in a
unique `token_hash` column, so a copy of the database opens nothing. A lookup hashes what was
presented, finds the row through that index and compares the hashes in constant time. Whether a
found token may still be used (spent, expired, withdrawn) is its owner's rule: the reasons, and
the pages that explain them, differ from one kind of link to the next.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Protocol, TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from autoscribe.auth import crypto

# Ours are 43 characters; anything much longer is not worth hashing.
MAX_LENGTH = 200


class _Hashed(Protocol):
    token_hash: str


Row = TypeVar("Row", bound=_Hashed)


def new_token() -> tuple[str, str]:
    """A fresh token for its holder, and the hash to store in its place."""
    token = secrets.token_urlsafe(32)
    return token, crypto.hash_token(token)


def find(session: Session, model: type[Row], token: str | None) -> Row | None:
    """The row whose token this is, or None (no token, a malformed one, or an unknown one)."""
    if not token or len(token) > MAX_LENGTH:
        return None
    digest = crypto.hash_token(token)
    column = inspect(model).columns["token_hash"]
    row = session.scalars(select(model).where(column == digest)).first()
    if row is None or not hmac.compare_digest(digest, row.token_hash):
        return None
    return row
