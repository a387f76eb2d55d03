"""Who is calling the public API: the authenticated API key and what it may do."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from autoscribe.audit.service import Actor
from autoscribe.auth.models import ApiKey
from autoscribe.auth.service import authenticate
from autoscribe.db import get_session, request_transaction


@dataclass(frozen=True)
class ApiContext:
    api_key: ApiKey
    address: str | None

    @property
    def clinic_id(self) -> uuid.UUID:
        return self.api_key.clinic_id

    @property
    def actor(self) -> Actor:
        return Actor("api_key", str(self.api_key.id), self.address)

    @property
    def own_studies_only(self) -> bool:
        """Study scope "self": the key sees and manages only the studies it created."""
        return self.api_key.study_scope == "self"


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


# Declares the bearer scheme in /openapi.json; the header itself is checked by authenticate() so
# that every failure gets our error shape and message.
bearer_scheme = HTTPBearer(
    auto_error=False, scheme_name="apiKey", description="Authorization: Bearer <API key>"
)


def api_context(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> ApiContext:
    key = authenticate(session, request.headers.get("authorization"))
    return ApiContext(api_key=key, address=client_address(request))


# Every route that reads or writes the database takes this: its changes commit when it returns.
SessionDep = Annotated[Session, Depends(request_transaction, scope="function")]
ApiContextDep = Annotated[ApiContext, Depends(api_context)]
