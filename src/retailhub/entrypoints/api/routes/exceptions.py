"""The exception queue: list with filters, one exception with its audit trail, and actions.

Actions call ``services.exception_actions`` (the same functions the CLI uses) with the caller
on the audit trail. An exception of another store answers 404, like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from retailhub.adapters.storage import api_queries
from retailhub.bootstrap import Hub
from retailhub.entrypoints.api.auth import Principal, requires
from retailhub.entrypoints.api.errors import NotFound, Refused
from retailhub.entrypoints.api.routes import actor, scope
from retailhub.services import exception_actions
from retailhub.services.exception_actions import ActionOutcome

T = TypeVar("T")

Id = Annotated[int, Path(ge=1, le=2**62)]
Status = Literal["open", "retrying", "resolved", "ignored", "all"]
# Outcomes that mean "this exception's state does not allow it" (409), not a failure of ours.
REFUSALS = {"not-retriable", "not-ignored", "not-mappable", "not-written-off"}


class IgnoreBody(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="Why it is closed unapplied.")


class AssignBody(BaseModel):
    assignee: str = Field(max_length=80, description="Who works on it; empty to unassign.")


class AliasBody(BaseModel):
    sku: str = Field(min_length=1, max_length=80, description="The existing item to map to.")


class WriteOffBody(BaseModel):
    reason: str = Field(
        min_length=1, max_length=2000, description="Why the difference is written off."
    )


class Outcome(BaseModel):
    exception_id: int
    status: str
    detail: str


def router(hub: Hub) -> APIRouter:
    api = APIRouter(tags=["exceptions"])
    reader = Depends(requires(hub, "read"))
    actor_dep = Depends(requires(hub, "exceptions.act"))
    # A write-off posts to the books: a finance action (auth.PERMISSIONS "finance.act").
    finance_dep = Depends(requires(hub, "finance.act"))

    @api.get("/exceptions", summary="The exception queue, most urgent first")
    def list_exceptions(
        who: Principal = reader,
        status: Status = "open",
        type: Annotated[str | None, Query(max_length=40)] = None,
        owner: Annotated[str | None, Query(max_length=20)] = None,
        assignee: Annotated[str | None, Query(max_length=80)] = None,
        limit: Annotated[int, Query(ge=1, le=api_queries.MAX_LIMIT)] = 200,
        offset: Annotated[int, Query(ge=0, le=api_queries.MAX_OFFSET)] = 0,
    ) -> list[dict[str, Any]]:
        with hub.uow() as uow:
            return api_queries.list_exceptions(
                uow.conn,
                scope(who),
                None if status == "all" else status,
                type,
                owner,
                assignee,
                limit,
                offset,
            )

    @api.get("/exceptions/{exception_id}", summary="One exception with its audit trail")
    def get_exception(exception_id: Id, who: Principal = reader) -> dict[str, Any]:
        with hub.uow() as uow:
            found = api_queries.exception_detail(uow.conn, exception_id, scope(who))
        if found is None:
            raise NotFound(f"exception {exception_id}")
        return found

    @api.post(
        "/exceptions/{exception_id}/retry",
        summary="Retry: requeue the delivery (or re-verify a refused one)",
        response_model=Outcome,
    )
    def retry(exception_id: Id, who: Principal = actor_dep) -> Outcome:
        return _answer(
            _acted(
                hub,
                exception_id,
                who,
                lambda uow: exception_actions.retry(
                    uow, exception_id, hub.sources, hub.clock(), actor(who)
                ),
            )
        )

    @api.post(
        "/exceptions/{exception_id}/ignore",
        summary="Ignore with a reason (closed without applying)",
        response_model=Outcome,
    )
    def ignore(exception_id: Id, body: IgnoreBody, who: Principal = actor_dep) -> Outcome:
        if not body.reason.strip():
            raise Refused("body.reason: a reason is required (not only spaces)")
        return _answer(
            _acted(
                hub,
                exception_id,
                who,
                lambda uow: exception_actions.ignore(
                    uow, exception_id, body.reason, hub.clock(), actor(who)
                ),
            )
        )

    @api.post(
        "/exceptions/{exception_id}/assign", summary="Name who works on it", response_model=Outcome
    )
    def assign(exception_id: Id, body: AssignBody, who: Principal = actor_dep) -> Outcome:
        return _answer(
            _acted(
                hub,
                exception_id,
                who,
                lambda uow: exception_actions.assign(
                    uow, exception_id, body.assignee, hub.clock(), actor(who)
                ),
            )
        )

    @api.post(
        "/exceptions/{exception_id}/replay",
        summary="Replay after a fix: requeue every live exception on the same subject",
        response_model=list[Outcome],
    )
    def replay(exception_id: Id, who: Principal = actor_dep) -> list[Outcome]:
        return _answers(
            _acted(
                hub,
                exception_id,
                who,
                lambda uow: exception_actions.replay(
                    uow, hub.clock(), exception_id=exception_id, actor=actor(who)
                ),
            )
        )

    @api.post(
        "/exceptions/{exception_id}/map-alias",
        summary="Map an unknown channel SKU to an existing item, then replay",
        response_model=list[Outcome],
    )
    def map_alias(exception_id: Id, body: AliasBody, who: Principal = actor_dep) -> list[Outcome]:
        return _answers(
            _acted(
                hub,
                exception_id,
                who,
                lambda uow: exception_actions.map_alias(
                    uow, exception_id, body.sku, hub.clock(), actor(who)
                ),
            )
        )

    @api.post(
        "/exceptions/{exception_id}/write-off",
        summary="Write off a settlement or drawer difference (posts an adjusting entry)",
        response_model=Outcome,
    )
    def write_off(exception_id: Id, body: WriteOffBody, who: Principal = finance_dep) -> Outcome:
        if not body.reason.strip():
            raise Refused("body.reason: a reason is required (not only spaces)")
        return _answer(
            _acted(
                hub,
                exception_id,
                who,
                lambda uow: exception_actions.write_off(
                    uow, exception_id, body.reason, hub.clock(), hub.settings.currency, actor(who)
                ),
            )
        )

    return api


def _acted(hub: Hub, exception_id: int, who: Principal, act: Callable[[Any], T]) -> T:
    """Run an action on an exception the caller may see, in one committed unit of work."""
    with hub.uow() as uow:
        _visible(uow.conn, exception_id, who)
        done = act(uow)
        uow.commit()
    return done


def _visible(conn: Any, exception_id: int, who: Principal) -> None:
    if not api_queries.exception_visible(conn, exception_id, scope(who)):
        raise NotFound(f"exception {exception_id}")


def _answers(outcomes: list[ActionOutcome]) -> list[Outcome]:
    """A multi-step action answers like its first step (e.g. the mapping), then lists all."""
    if outcomes and outcomes[0].status in REFUSALS | {"not-found"}:
        _answer(outcomes[0])
    return [
        Outcome(exception_id=o.exception_id, status=o.status, detail=o.detail) for o in outcomes
    ]


def _answer(outcome: ActionOutcome) -> Outcome:
    if outcome.status == "not-found":
        raise NotFound(f"exception {outcome.exception_id}")
    if outcome.status in REFUSALS:
        raise Refused(f"exception {outcome.exception_id}: {outcome.detail}")
    return Outcome(exception_id=outcome.exception_id, status=outcome.status, detail=outcome.detail)
