"""Who is calling, and may they: API tokens with roles, scoped to stores.

A token is sent as ``Authorization: Bearer rh_…`` (the dashboard keeps it in a cookie after
login). Each role is granted a set of permissions; every endpoint and every action names the
one it needs. Webhook endpoints are not behind tokens: the channel's signature is their check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from retailhub.adapters.storage.tokens_repo import TokenInfo, lookup
from retailhub.bootstrap import Hub

COOKIE = "retailhub_token"

# What each role may do. "read" covers every read endpoint; the rest are actions.
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"read", "exceptions.act", "finance.act", "stock.act", "tokens.admin"}),
    "finance": frozenset({"read", "exceptions.act", "finance.act"}),
    "operations": frozenset({"read", "exceptions.act", "stock.act"}),
    "read_only": frozenset({"read"}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    token: TokenInfo

    @property
    def role(self) -> str:
        return self.token.role

    def may(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.token.role, frozenset())

    def sees_store(self, store: str | None) -> bool:
        return self.token.sees_store(store)


class NotAuthenticated(Exception):
    """No token, or not one we issued (RFC 9457 401)."""


class Forbidden(Exception):
    """A token whose role may not do this (RFC 9457 403)."""

    def __init__(self, permission: str, role: str) -> None:
        super().__init__(f"role {role!r} may not {permission}")
        self.permission = permission


def presented_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(COOKIE)


def authenticate(hub: Hub, request: Request) -> Principal:
    token = presented_token(request)
    if not token:
        raise NotAuthenticated()
    with hub.engine.begin() as conn:
        info = lookup(conn, token, hub.clock())
    if info is None:
        raise NotAuthenticated()
    return Principal(info)


def requires(hub: Hub, permission: str) -> Callable[[Request], Principal]:
    """A FastAPI dependency: the caller, who must hold ``permission``."""

    def dependency(request: Request) -> Principal:
        principal = authenticate(hub, request)
        if not principal.may(permission):
            raise Forbidden(permission, principal.role)
        return principal

    return dependency
