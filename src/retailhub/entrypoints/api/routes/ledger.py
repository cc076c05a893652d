"""The books: journal entries over a period, and the trial balance.

A store-scoped token sees entries with a line at one of its stores, and a trial balance of
the lines dimensioned to its stores (journal_lines.location).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from retailhub.adapters.storage import api_queries
from retailhub.bootstrap import Hub
from retailhub.entrypoints.api.auth import Principal, requires
from retailhub.entrypoints.api.routes import scope


def router(hub: Hub) -> APIRouter:
    api = APIRouter(tags=["ledger"])
    reader = Depends(requires(hub, "read"))

    @api.get("/journals", summary="Journal entries in a period, with their lines")
    def journals(
        who: Principal = reader,
        date_from: Annotated[
            date | None, Query(description="First entry date (inclusive).")
        ] = None,
        date_to: Annotated[date | None, Query(description="Last entry date (inclusive).")] = None,
        source_kind: Annotated[
            str | None, Query(max_length=40, description="order, fulfilment, refund, …")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=api_queries.MAX_LIMIT)] = 100,
        offset: Annotated[int, Query(ge=0, le=api_queries.MAX_OFFSET)] = 0,
    ) -> list[dict[str, Any]]:
        with hub.uow() as uow:
            return api_queries.list_journals(
                uow.conn, scope(who), date_from, date_to, source_kind, limit, offset
            )

    @api.get("/ledger/trial-balance", summary="Debits, credits and balance per account")
    def trial_balance(
        who: Principal = reader,
        as_of: Annotated[date | None, Query(description="Entries dated up to this day.")] = None,
    ) -> dict[str, Any]:
        with hub.uow() as uow:
            rows = api_queries.trial_balance(uow.conn, scope(who), as_of)
        return {
            "accounts": rows,
            "debits": sum(r["debits"] for r in rows),
            "credits": sum(r["credits"] for r in rows),
        }

    return api
