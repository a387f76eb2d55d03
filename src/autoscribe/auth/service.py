"""API keys: creation (shown once), authentication, endpoints, secrets, revocation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from autoscribe.audit.service import Actor, record
from autoscribe.auth import crypto
from autoscribe.auth.models import ApiKey
from autoscribe.db import utcnow
from autoscribe.errors import AuthenticationFailed, InvalidRequest, NotFound
from autoscribe.webhooks.delivery import clear_disabled_endpoints

STUDY_SCOPES = ("self", "all")
ACCESS_LEVELS = ("none", "read", "write")
# Touching last_used_at on every request would turn each read into a write.
LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class NewApiKey:
    api_key: ApiKey
    plaintext_key: str
    webhook_secret: str


def validate_webhook_url(url: str | None, param: str) -> str | None:
    """Empty means "no endpoint". Only absolute http(s) URLs are accepted."""
    if url is None or not url.strip():
        return None
    url = url.strip()
    if len(url) > 2048:
        raise InvalidRequest(f"{param} is longer than 2048 characters", param=param)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest(f"{param} must be an absolute http:// or https:// URL", param=param)
    return url


def _check_choice(value: str, choices: tuple[str, ...], param: str) -> str:
    if value not in choices:
        raise InvalidRequest(f"{param} must be one of: {', '.join(choices)}", param=param)
    return value


def create_api_key(
    session: Session,
    *,
    clinic_id: uuid.UUID,
    description: str,
    study_scope: str,
    user_access: str,
    express_access: str,
    study_webhook_url: str | None = None,
    report_webhook_url: str | None = None,
    is_viewer_enabled: bool = True,
    is_clinical_context_enrichment_enabled: bool = False,
    actor: Actor,
    created_by_user_id: uuid.UUID | None = None,
) -> NewApiKey:
    description = description.strip()
    if not description or len(description) > 200:
        raise InvalidRequest("description must be 1 to 200 characters", param="description")
    plaintext = crypto.generate_api_key()
    secret = crypto.generate_webhook_secret()
    key = ApiKey(
        clinic_id=clinic_id,
        description=description,
        key_hash=crypto.hash_token(plaintext),
        key_prefix=plaintext[:12],
        study_scope=_check_choice(study_scope, STUDY_SCOPES, "studyScope"),
        user_access=_check_choice(user_access, ACCESS_LEVELS, "userAccess"),
        express_access=_check_choice(express_access, ACCESS_LEVELS, "expressAccess"),
        study_webhook_url=validate_webhook_url(study_webhook_url, "studyWebhookUrl"),
        report_webhook_url=validate_webhook_url(report_webhook_url, "reportWebhookUrl"),
        webhook_secret_encrypted=crypto.encrypt(secret),
        is_viewer_enabled=is_viewer_enabled,
        is_clinical_context_enrichment_enabled=is_clinical_context_enrichment_enabled,
        created_by_user_id=created_by_user_id,
    )
    session.add(key)
    session.flush()
    record(
        session,
        clinic_id=clinic_id,
        actor=actor,
        action="api_key.created",
        target_type="api_key",
        target_id=str(key.id),
        details={
            "description": description,
            "studyScope": study_scope,
            "isViewerEnabled": is_viewer_enabled,
            "isClinicalContextEnrichmentEnabled": is_clinical_context_enrichment_enabled,
        },
    )
    return NewApiKey(key, plaintext, secret)


# Built once: every API request runs it.
_KEY_BY_HASH = select(ApiKey).where(ApiKey.key_hash == bindparam("digest"))


def authenticate(session: Session, authorization: str | None) -> ApiKey:
    if not authorization:
        raise AuthenticationFailed("Missing API key: send the header 'Authorization: Bearer <API key>'")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationFailed("The Authorization header must be 'Bearer <API key>'")
    digest = crypto.hash_token(token)
    key = session.scalars(_KEY_BY_HASH, {"digest": digest}).first()
    if key is None or not crypto.tokens_match(token, key.key_hash):
        raise AuthenticationFailed("Invalid API key")
    if not key.is_active:
        raise AuthenticationFailed("This API key has been revoked")
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_GRANULARITY:
        key.last_used_at = now
        session.commit()  # bookkeeping of the key, kept even when the request then fails
    return key


def get_api_key(session: Session, key_id: uuid.UUID, clinic_id: uuid.UUID | None = None) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None or (clinic_id is not None and key.clinic_id != clinic_id):
        raise NotFound("No such API key", param="apiKeyId")
    return key


def list_api_keys(session: Session, clinic_id: uuid.UUID | None = None) -> list[ApiKey]:
    stmt = select(ApiKey).order_by(ApiKey.created_at)
    if clinic_id is not None:
        stmt = stmt.where(ApiKey.clinic_id == clinic_id)
    return list(session.scalars(stmt))


_UNSET = object()


def update_endpoints(
    session: Session,
    key: ApiKey,
    *,
    actor: Actor,
    study_webhook_url: str | object | None = _UNSET,
    report_webhook_url: str | object | None = _UNSET,
) -> ApiKey:
    """The dashboard's "Edit Endpoints": an empty string or None removes an endpoint."""
    changed: dict[str, str | None] = {}
    if study_webhook_url is not _UNSET:
        key.study_webhook_url = validate_webhook_url(study_webhook_url, "studyWebhookUrl")  # type: ignore[arg-type]
        changed["studyWebhookUrl"] = key.study_webhook_url
    if report_webhook_url is not _UNSET:
        key.report_webhook_url = validate_webhook_url(report_webhook_url, "reportWebhookUrl")  # type: ignore[arg-type]
        changed["reportWebhookUrl"] = key.report_webhook_url
    # Editing the endpoints re-enables any the webhook engine disabled after a 410 Gone.
    clear_disabled_endpoints(session, key.id)
    record(
        session,
        clinic_id=key.clinic_id,
        actor=actor,
        action="api_key.endpoints_updated",
        target_type="api_key",
        target_id=str(key.id),
        details=changed,
    )
    session.flush()
    return key


def set_viewer_enabled(session: Session, key: ApiKey, enabled: bool, *, actor: Actor) -> ApiKey:
    """Switch the Viewer product on or off for this key (isViewerEnabled): the /v1/viewer API and
    viewer-only-reroute-url answer 403 to a key without it. Links it minted earlier keep working
    until they expire (minutes)."""
    if key.is_viewer_enabled != enabled:
        key.is_viewer_enabled = enabled
        record(
            session,
            clinic_id=key.clinic_id,
            actor=actor,
            action="api_key.viewer_enabled" if enabled else "api_key.viewer_disabled",
            target_type="api_key",
            target_id=str(key.id),
        )
        session.flush()
    return key


def set_clinical_context_enrichment(session: Session, key: ApiKey, enabled: bool, *, actor: Actor) -> ApiKey:
    """Switch clinical-context enrichment on or off for this key
    (isClinicalContextEnrichmentEnabled): with it, the first time a study the key created is
    opened for reading, clinical_context.enrichment_requested goes to its study data endpoint."""
    if key.is_clinical_context_enrichment_enabled != enabled:
        key.is_clinical_context_enrichment_enabled = enabled
        record(
            session,
            clinic_id=key.clinic_id,
            actor=actor,
            action="api_key.clinical_context_enabled" if enabled else "api_key.clinical_context_disabled",
            target_type="api_key",
            target_id=str(key.id),
        )
        session.flush()
    return key


def webhook_secret(key: ApiKey) -> str:
    return crypto.decrypt(key.webhook_secret_encrypted)


def reveal_webhook_secret(session: Session, key: ApiKey, *, actor: Actor) -> str:
    """The dashboard's "View JWT Secret": the secret, with an audit row saying who looked at it."""
    record(
        session,
        clinic_id=key.clinic_id,
        actor=actor,
        action="api_key.secret_viewed",
        target_type="api_key",
        target_id=str(key.id),
    )
    session.flush()
    return webhook_secret(key)


def rotate_webhook_secret(session: Session, key: ApiKey, *, actor: Actor) -> str:
    secret = crypto.generate_webhook_secret()
    key.webhook_secret_encrypted = crypto.encrypt(secret)
    record(
        session,
        clinic_id=key.clinic_id,
        actor=actor,
        action="api_key.secret_rotated",
        target_type="api_key",
        target_id=str(key.id),
    )
    session.flush()
    return secret


def revoke_api_key(session: Session, key: ApiKey, *, actor: Actor) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        record(
            session,
            clinic_id=key.clinic_id,
            actor=actor,
            action="api_key.revoked",
            target_type="api_key",
            target_id=str(key.id),
        )
        session.flush()
    return key
