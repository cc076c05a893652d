"""Settlements (gateway payouts and their lines) and reconciliation runs with their items.

Payouts belong to a gateway account, not to a store: store-scoped tokens see none of them
(``TokenInfo.sees_store(None)`` is false for a scoped token: nothing unowned is shown).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from retailhub.adapters.storage import api_queries
from retailhub.bootstrap import Hub
from retailhub.entrypoints.api.auth import Principal, requires
from retailhub.entrypoints.api.errors import NotFound

Id = Annotated[int, Path(ge=1, le=2**62)]


def router(hub: Hub) -> APIRouter:
    api = APIRouter(tags=["settlements"])
    reader = Depends(requires(hub, "read"))

    @api.get("/settlements", summary="Imported settlements (payouts), newest first")
    def list_settlements(
        who: Principal = reader,
        gateway: Annotated[str | None, Query(max_length=60)] = None,
        limit: Annotated[int, Query(ge=1, le=api_queries.MAX_LIMIT)] = 100,
        offset: Annotated[int, Query(ge=0, le=api_queries.MAX_OFFSET)] = 0,
    ) -> list[dict[str, Any]]:
        if not who.sees_store(None):
            return []
        with hub.uow() as uow:
            return api_queries.list_settlements(uow.conn, gateway, limit, offset)

    @api.get("/settlements/{settlement_id}", summary="One settlement with its lines")
    def get_settlement(settlement_id: Id, who: Principal = reader) -> dict[str, Any]:
        found = None
        if who.sees_store(None):
            with hub.uow() as uow:
                found = api_queries.settlement_detail(uow.conn, settlement_id)
        if found is None:
            raise NotFound(f"settlement {settlement_id}")
        return found

    @api.get("/reconciliation/runs", summary="Reconciliation runs, newest first")
    def list_runs(
        who: Principal = reader,
        limit: Annotated[int, Query(ge=1, le=api_queries.MAX_LIMIT)] = 50,
    ) -> list[dict[str, Any]]:
        if not who.sees_store(None):
            return []
        with hub.uow() as uow:
            return api_queries.list_reconciliation_runs(uow.conn, limit)

    @api.get("/reconciliation/latest", summary="The latest reconciliation run and its items")
    def latest_run(
        who: Principal = reader,
        outcome: Annotated[str | None, Query(max_length=32)] = None,
    ) -> dict[str, Any]:
        return _run(who, None, outcome)

    @api.get("/reconciliation/runs/{run_id}", summary="One reconciliation run and its items")
    def get_run(
        run_id: Id,
        who: Principal = reader,
        outcome: Annotated[str | None, Query(max_length=32)] = None,
    ) -> dict[str, Any]:
        return _run(who, run_id, outcome)

    def _run(who: Principal, run_id: int | None, outcome: str | None) -> dict[str, Any]:
        found = None
        if who.sees_store(None):
            with hub.uow() as uow:
                found = api_queries.reconciliation_run(uow.conn, run_id, outcome)
        if found is None:
            raise NotFound(
                "reconciliation run" if run_id is None else f"reconciliation run {run_id}"
            )
        return found

    return api
