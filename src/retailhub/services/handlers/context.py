"""What a handler gets: the unit of work, the rules, and where to note problems and wake-ups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from retailhub.domain.fx import FxRates, RateMissing, RatesUnavailable, to_functional
from retailhub.domain.ledger import JournalEntry, SourceRef
from retailhub.domain.orders import ExternalRef, Order
from retailhub.domain.posting import CostLine, cost_of_sales
from retailhub.domain.posting_rules import Recognition
from retailhub.domain.problems import Blocked, Problem, ProblemType, Waiting
from retailhub.services.ports import OrderRecord, UnitOfWork
from retailhub.services.rules import HubRules


@dataclass
class ApplyContext:
    uow: UnitOfWork
    rules: HubRules
    inbox_id: int | None
    event_ref: str  # "shopify:<event id>": every journal entry links back to it
    now: datetime
    problems: list[Problem] = field(default_factory=list)
    # The store the delivery concerns, once a handler has resolved it: stamped on its problems
    # so store-scoped API tokens see them.
    store: str | None = None
    woken: set[str] = field(default_factory=set)
    # Advisory problems this delivery put right: (problem type, subject), resolved on success.
    settled: list[tuple[str, str]] = field(default_factory=list)

    def source(self, kind: str, document_id: str) -> SourceRef:
        return SourceRef(kind, document_id, self.event_ref)

    def post(self, entry: JournalEntry | None) -> None:
        if entry is not None:
            entry = self.in_functional(entry)
        if entry is None:
            return
        channel = entry.lines[0].channel
        if channel is not None and channel in self.rules.summary_channels:
            location = next((line.location for line in entry.lines if line.location), None)
            self.uow.ledger.stage(entry, channel, location, self.inbox_id, self.now)
        else:
            self.uow.ledger.post(entry, self.inbox_id, self.now)

    def in_functional(self, entry: JournalEntry) -> JournalEntry | None:
        """The entry restated in the functional currency at its date's rate when its fact is
        in another currency (docs/multi-currency.md); a missing rate blocks the delivery.
        Entries already in several currencies were built per currency by their rule
        (settlements with realised exchange differences) and are posted as they are."""
        fx = self.rules.fx
        if fx is None:
            return entry
        currencies = {line.currency for line in entry.lines}
        if len(currencies) != 1 or fx.functional in currencies:
            return entry
        (currency,) = currencies
        try:
            rate = self.fx_rates().rate(currency, entry.entry_date)
        except RateMissing as missing:
            raise self.rate_missing(missing, entry.memo, entry.total_debits) from None
        policy = self.rules.posting
        return to_functional(entry, rate, fx.functional, policy.accounts, policy.holds_money)

    def post_cost(
        self,
        order: Order,
        costs: Sequence[CostLine],
        on: date,
        source: SourceRef,
        reverse: bool = False,
    ) -> None:
        """Cost of an order's goods sold (or, ``reverse``, restocked), under its sale rule."""
        policy = self.rules.posting
        self.post(
            cost_of_sales(
                self.cost_currency(order.currency),
                order.channel,
                costs,
                on,
                source,
                policy,
                reverse=reverse,
                sale=policy.order_type(order),
            )
        )

    def cost_currency(self, sale_currency: str) -> str:
        """The currency of cost-of-sales entries: inventory cost is kept in the functional
        currency (the item master's), whatever the currency of the sale."""
        return self.rules.fx.functional if self.rules.fx is not None else sale_currency

    def fx_rates(self) -> FxRates:
        """The exchange rates in force; an unreadable rates file blocks the delivery."""
        fx = self.rules.fx
        if fx is None:
            raise RuntimeError("no functional currency configured")  # a bug: callers check
        try:
            return fx.rates()
        except RatesUnavailable as exc:
            raise Blocked(
                Problem(
                    ProblemType.FX_RATE_MISSING,
                    f"exchange rates unavailable: {exc}",
                    subject="fx:rates-file",
                )
            ) from None

    def rate_missing(self, missing: RateMissing, what: str, amount: int = 0) -> Blocked:
        """The delivery waits for a rate: retried (``replay fx:EUR:2026-10-30``) once the
        rates file has it."""
        return Blocked(
            Problem(
                ProblemType.FX_RATE_MISSING,
                f"{what}: {missing}",
                subject=f"fx:{missing.currency}:{missing.on.isoformat()}",
                amount=amount,
            )
        )

    def day(self, at: datetime) -> date:
        """The business day an event falls on, in the company's time zone (for entry dates)."""
        return at.astimezone(self.rules.timezone).date()

    def location(self, ref: ExternalRef, what: str) -> str:
        """Our location code for a channel's location id; an unmapped one blocks the delivery."""
        code = self.uow.catalog.location_for(ref)
        if code is not None and self.store is None:
            self.store = code
        if code is None:
            raise Blocked(
                Problem(
                    ProblemType.UNKNOWN_LOCATION,
                    f"{what}: {ref.system} location {ref.id} is not mapped to a retailhub location",
                    subject=f"location:{ref.system}:{ref.id}",
                )
            )
        return code

    def order(self, system: str, order_id: str, what: str) -> OrderRecord:
        """The order a fact belongs to; if it has not arrived yet, the delivery waits for it."""
        record = self.uow.orders.get(system, order_id)
        if record is None:
            raise Waiting(order_key(system, order_id), f"{what} arrived before order {order_id}")
        return record

    def note(self, problem: Problem) -> None:
        self.problems.append(self.stamped(problem))

    def stamped(self, problem: Problem) -> Problem:
        """The problem with the delivery's store, unless it names its own."""
        if problem.store is not None or self.store is None:
            return problem
        return replace(problem, store=self.store)

    def put_right(self, problem_type: ProblemType, subject: str) -> None:
        """An advisory problem about ``subject`` no longer holds (the drawer balances now)."""
        self.settled.append((problem_type.value, subject))


def recognition_of(order: Order, ctx: ApplyContext) -> Recognition:
    """When this order's revenue is recognised: the rule in force on the day it was placed."""
    exchange = order.exchanged_from is not None
    return ctx.rules.posting.recognition_for(order.channel, ctx.day(order.created_at), exchange)


def order_key(source: str, order_id: str) -> str:
    """The dependency name a delivery waits on until its order is applied."""
    return f"order:{source}:{order_id}"
