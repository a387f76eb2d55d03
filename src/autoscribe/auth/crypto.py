"""Secrets: API key generation and hashing, webhook secrets, encryption at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

from autoscribe.config import get_settings

API_KEY_PREFIX = "as_live_"


def generate_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 is right for high-entropy random tokens (no need for a slow password hash)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_match(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_token(token), stored_hash)


def generate_webhook_secret() -> str:
    """Standard Webhooks format: whsec_ + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"autoscribe-at-rest:" + secret_key.encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(plaintext: str) -> str:
    return _fernet(get_settings().effective_secret_key).encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(ciphertext: str) -> str:
    try:
        return (
            _fernet(get_settings().effective_secret_key).decrypt(ciphertext.encode("ascii")).decode("utf-8")
        )
    except InvalidToken as exc:
        raise RuntimeError(
            "Stored secret cannot be decrypted: AUTOSCRIBE_SECRET_KEY is not the key it was written with"
        ) from exc


def sign(message: bytes, purpose: str) -> str:
    """HMAC-SHA256 with a per-purpose key derived from the deployment secret (hex)."""
    key = hashlib.sha256(
        f"autoscribe-{purpose}:".encode() + get_settings().effective_secret_key.encode()
    ).digest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
