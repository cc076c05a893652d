"""The API's endpoints, one module per area; each exposes ``router(hub) -> APIRouter``.

Every endpoint names the permission it needs through ``auth.requires``; what a store-scoped
token may see is decided in the queries (``adapters/storage/api_queries.py``) from ``scope()``.
"""

from __future__ import annotations

from retailhub.entrypoints.api.auth import Principal


def scope(principal: Principal) -> tuple[str, ...]:
    """The stores the caller may see; ``()`` for an unscoped token (every store)."""
    return principal.token.stores


def actor(principal: Principal) -> str:
    """How the caller appears on an exception's audit trail."""
    return f"api:{principal.token.name}#{principal.token.id}"
