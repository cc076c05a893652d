"""Items: the catalogue, searchable, and one item with its identities in each channel.

Items are master data shared by every store, so store-scoped tokens see them all.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from retailhub.adapters.storage import api_queries
from retailhub.bootstrap import Hub
from retailhub.entrypoints.api.auth import Principal, requires
from retailhub.entrypoints.api.errors import NotFound


def router(hub: Hub) -> APIRouter:
    api = APIRouter(tags=["items"])
    reader = Depends(requires(hub, "read"))

    @api.get("/items", summary="List or search items")
    def list_items(
        _: Principal = reader,
        search: Annotated[
            str | None, Query(max_length=200, description="Part of a SKU, title or barcode.")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=api_queries.MAX_LIMIT)] = 100,
        offset: Annotated[int, Query(ge=0, le=api_queries.MAX_OFFSET)] = 0,
    ) -> list[dict[str, Any]]:
        with hub.uow() as uow:
            return api_queries.list_items(uow.conn, search, limit, offset)

    @api.get("/items/{sku}", summary="One item with its identities")
    def get_item(sku: str, _: Principal = reader) -> dict[str, Any]:
        with hub.uow() as uow:
            item = api_queries.item_detail(uow.conn, sku)
        if item is None:
            raise NotFound(f"item with SKU {sku!r}")
        return item

    return api
