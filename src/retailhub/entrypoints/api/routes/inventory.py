"""Inventory: positions per location and available-to-promise per channel, for one SKU.

A store-scoped token sees the positions at its own stores, and ATP computed over those only.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from retailhub.adapters.storage import api_queries
from retailhub.bootstrap import Hub
from retailhub.entrypoints.api.auth import Principal, requires
from retailhub.entrypoints.api.errors import NotFound
from retailhub.entrypoints.api.routes import scope


def router(hub: Hub) -> APIRouter:
    api = APIRouter(tags=["inventory"])
    reader = Depends(requires(hub, "read"))

    def atp(conn: Any, sku: str, stores: tuple[str, ...]) -> dict[str, int]:
        rules = hub.settings.rules()
        return api_queries.atp(
            conn,
            sku,
            rules.availability,
            rules.safety,
            rules.sales_window_days,
            hub.clock(),
            stores,
        )

    @api.get("/inventory/{sku}", summary="Positions per location and ATP per channel")
    def inventory(sku: str, who: Principal = reader) -> dict[str, Any]:
        with hub.uow() as uow:
            held = api_queries.positions(uow.conn, sku, scope(who))
            if not held:
                raise NotFound(f"stock recorded for {sku!r} at your locations")
            return {
                "sku": sku,
                "positions": api_queries.position_rows(held),
                "atp": atp(uow.conn, sku, scope(who)),
            }

    @api.get("/inventory/{sku}/atp", summary="Available to promise per channel")
    def available(sku: str, who: Principal = reader) -> dict[str, Any]:
        with hub.uow() as uow:
            if not api_queries.positions(uow.conn, sku, scope(who)):
                raise NotFound(f"stock recorded for {sku!r} at your locations")
            return {"sku": sku, "atp": atp(uow.conn, sku, scope(who))}

    return api
