"""Orders: a filtered list, and one order with its fulfilments, refunds and journal entries.

An order's store is the location it sells from (``orders.location``); another store's order
answers 404, exactly like an id that does not exist.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from retailhub.adapters.storage import api_queries
from retailhub.bootstrap import Hub
from retailhub.entrypoints.api.auth import Principal, requires
from retailhub.entrypoints.api.errors import NotFound
from retailhub.entrypoints.api.routes import scope


def router(hub: Hub) -> APIRouter:
    api = APIRouter(tags=["orders"])
    reader = Depends(requires(hub, "read"))

    @api.get("/orders", summary="List orders, newest first")
    def list_orders(
        who: Principal = reader,
        channel: Annotated[str | None, Query(max_length=40)] = None,
        location: Annotated[str | None, Query(max_length=40)] = None,
        payment_status: Annotated[str | None, Query(max_length=24)] = None,
        created_from: Annotated[
            datetime | None, Query(description="ISO 8601, inclusive; with a UTC offset.")
        ] = None,
        created_to: Annotated[datetime | None, Query(description="ISO 8601, exclusive.")] = None,
        cancelled: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=api_queries.MAX_LIMIT)] = 100,
        offset: Annotated[int, Query(ge=0, le=api_queries.MAX_OFFSET)] = 0,
    ) -> list[dict[str, Any]]:
        with hub.uow() as uow:
            return api_queries.list_orders(
                uow.conn,
                scope(who),
                channel=channel,
                location=location,
                payment_status=payment_status,
                created_from=_aware(created_from),
                created_to=_aware(created_to),
                cancelled=cancelled,
                limit=limit,
                offset=offset,
            )

    @api.get("/orders/{order_id}", summary="One order with fulfilments, refunds and journals")
    def get_order(
        order_id: Annotated[int, Path(ge=1, le=2**62)],
        who: Principal = reader,
    ) -> dict[str, Any]:
        with hub.uow() as uow:
            order = api_queries.order_detail(uow.conn, order_id, scope(who))
        if order is None:
            raise NotFound(f"order {order_id}")
        return order

    return api


def _aware(moment: datetime | None) -> datetime | None:
    """Timestamps are stored in UTC; a query value without an offset is taken as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
