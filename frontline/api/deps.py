"""Typed dependencies for the routes; everything reaches a route through one of these."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from frontline.errors import AdminDisabled, Unauthorized
from frontline.knowledge import KnowledgeBase
from frontline.services import Services
from frontline.settings import Settings
from frontline.support import ChatService

_bearer = HTTPBearer(auto_error=False)


def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def get_settings(request: Request) -> Settings:
    return get_services(request).settings


def get_knowledge(request: Request) -> KnowledgeBase:
    return get_services(request).knowledge


def get_chat(request: Request) -> ChatService:
    return get_services(request).chat


SettingsDep = Annotated[Settings, Depends(get_settings)]
KnowledgeDep = Annotated[KnowledgeBase, Depends(get_knowledge)]
ServicesDep = Annotated[Services, Depends(get_services)]
ChatDep = Annotated[ChatService, Depends(get_chat)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def is_admin(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> bool:
    """True for a valid admin Bearer token; raises when one is given but wrong or disabled."""
    if credentials is None:
        return False
    expected = settings.admin_token.get_secret_value()
    if not expected:
        raise AdminDisabled("admin endpoints are disabled: set FRONTLINE_ADMIN_TOKEN")
    if not secrets.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise Unauthorized("invalid admin token")
    return True


def require_admin(settings: SettingsDep, credentials: Credentials) -> None:
    if not settings.admin_token.get_secret_value():
        raise AdminDisabled("admin endpoints are disabled: set FRONTLINE_ADMIN_TOKEN")
    if not is_admin(settings, credentials):
        raise Unauthorized("this endpoint needs the admin token: 'Authorization: Bearer <token>'")


def audience_allowed(audience: str, settings: Settings,
                     credentials: HTTPAuthorizationCredentials | None) -> str:
    """Internal content is for holders of the admin token only."""
    if audience == "internal" and not is_admin(settings, credentials):
        raise Unauthorized(
            "audience=internal needs the admin token: 'Authorization: Bearer <token>'"
        )
    return audience


AdminDep = Annotated[None, Depends(require_admin)]

# Numbers that reach SQL: at most the largest integer SQLite and PostgreSQL (bigint) hold, so a
# huge one is refused as bad input (422 naming the parameter) instead of failing in the driver.
SQL_INT_MAX = 2**63 - 1
Offset = Annotated[int, Query(ge=0, le=SQL_INT_MAX, description="Rows to skip.")]
RowNumber = Annotated[int, Path(ge=0, le=SQL_INT_MAX)]
