"""Ports: what the service layer needs from storage and connectors, as Protocols.

The SQL adapters in ``retailhub.adapters.storage`` implement these; connectors implement
``WebhookSource``. Nothing here knows about SQLAlchemy, HTTP or a vendor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from retailhub.domain.bank import BankLine
from retailhub.domain.catalog import Item
from retailhub.domain.customers import Customer
from retailhub.domain.events import InboundEvent
from retailhub.domain.inventory import Movement, Position
from retailhub.domain.ledger import JournalEntry, JournalLine
from retailhub.domain.money import Money
from retailhub.domain.orders import ExternalRef, Fulfilment, Order
from retailhub.domain.payments import ExpectedReceipt, PaymentKind
from retailhub.domain.pricing import PriceEntry
from retailhub.domain.problems import Problem
from retailhub.domain.returns import Refund
from retailhub.domain.settlements import Settlement, SettlementLine


class WebhookSource(Protocol):
    """A channel that delivers signed webhooks (Shopify, Square, Stripe, …)."""

    name: str

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool: ...

    def event_id(self, headers: Mapping[str, str], body: bytes) -> str: ...

    def topic(self, headers: Mapping[str, str], body: bytes) -> str:
        """The event type: a header for Shopify, a body field for Square and Stripe."""

    def translate(self, topic: str, body: bytes) -> InboundEvent | Problem: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    source: str
    event_id: str
    topic: str
    headers: Mapping[str, str]
    body: bytes
    received_at: datetime
    status: str
    attempts: int
    correlation_id: str


@dataclass(frozen=True, slots=True)
class InboxRow:
    """A verified delivery about to be stored."""

    source: str
    event_id: str
    topic: str
    headers: Mapping[str, str]
    body: bytes
    received_at: datetime
    correlation_id: str


class InboxRepository(Protocol):
    def add(
        self,
        source: str,
        event_id: str,
        topic: str,
        headers: Mapping[str, str],
        body: bytes,
        received_at: datetime,
        correlation_id: str,
    ) -> int | None:
        """Store a delivery; ``None`` if (source, event_id) is already there."""

    def add_many(self, rows: Sequence[InboxRow]) -> set[str]:
        """Store rows whose (source, event_id) is new; return the correlation ids stored."""

    def count_duplicate(self, source: str, event_id: str) -> None: ...

    def claim_pending(self, limit: int) -> list[Delivery]: ...

    def get(self, inbox_id: int) -> Delivery | None: ...

    def mark_applied(self, inbox_id: int, at: datetime) -> None: ...

    def mark_waiting(self, inbox_id: int, dependency: str, reason: str) -> None: ...

    def mark_failed(self, inbox_id: int, reason: str) -> None: ...

    def requeue(self, inbox_id: int) -> None: ...

    def wake(self, dependency: str) -> int: ...

    def waiting_dependencies(self) -> set[str]:
        """The dependencies some delivery is waiting on (so wake-ups can skip the rest)."""

    def expired_waiting(self, received_before: datetime) -> list[Delivery]: ...


class ExceptionRepository(Protocol):
    def raise_problem(
        self,
        problem: Problem,
        at: datetime,
        source: str | None,
        inbox_id: int | None,
        correlation_id: str | None,
        headers: Mapping[str, str] | None = None,
        payload: bytes | None = None,
    ) -> int: ...

    def resolve_for_delivery(self, inbox_id: int, at: datetime, note: str) -> int: ...

    def resolve_subjects(
        self, types: Sequence[str], subjects: Iterable[str], at: datetime, note: str
    ) -> int:
        """Resolve the open exceptions of ``types`` about ``subjects`` (they came right)."""

    def get(self, exception_id: int) -> Mapping[str, object] | None: ...

    def open_ids(self) -> list[int]: ...

    def set_status(
        self, exception_id: int, status: str, at: datetime, actor: str, note: str
    ) -> None: ...

    def schedule_retry(self, exception_id: int, due: datetime, at: datetime, note: str) -> None:
        """Mark it ``retrying`` until ``due`` (automatic retry with backoff)."""

    def due_retries(self, now: datetime) -> list[tuple[int, int]]:
        """(exception id, inbox id) of automatic retries due by ``now``."""

    def claim_retry(self, exception_id: int, at: datetime, note: str) -> None: ...

    def live_on_subject(self, subject: str) -> list[Mapping[str, object]]: ...

    def live_blocked_deliveries(self) -> list[tuple[int, int, str, str, bytes]]:
        """(exception id, inbox id, source, topic, body) behind live blocking exceptions."""

    def assign(self, exception_id: int, assignee: str | None, at: datetime, actor: str) -> None: ...

    def note(
        self, exception_id: int, at: datetime, actor: str, action: str, result: str
    ) -> None: ...

    def map_identity(self, system: str, kind: str, external_id: str, sku: str) -> None: ...

    def refresh_priorities(self, now: datetime) -> int: ...


@dataclass(slots=True)
class LineState:
    """Per-line counters that make postings and reservations order-independent."""

    line_id: str
    sku: str | None
    quantity: int
    unit_cost: int
    fulfilled: int = 0
    recognised: int = 0
    cancelled: int = 0
    returned: int = 0
    reversed: int = 0
    reserved: int = 0
    reserved_location: str | None = None

    def copy(self) -> LineState:
        return LineState(
            self.line_id,
            self.sku,
            self.quantity,
            self.unit_cost,
            self.fulfilled,
            self.recognised,
            self.cancelled,
            self.returned,
            self.reversed,
            self.reserved,
            self.reserved_location,
        )


@dataclass(slots=True)
class OrderRecord:
    pk: int
    order: Order
    location: str | None
    captured: int
    shipping_recognised: bool
    lines: dict[str, LineState] = field(default_factory=dict)
    fulfilment_ids: set[str] = field(default_factory=set)  # facts already applied, by their ids
    refund_ids: set[str] = field(default_factory=set)


class OrderRepository(Protocol):
    """Orders by (source, order id).

    ``get`` returns the same record for the life of the unit of work; changes made to it are
    written when the unit of work commits, so there is no separate save.
    """

    def prefetch(
        self, keys: Iterable[tuple[str, str]], customers_of: Iterable[Customer] = ()
    ) -> None:
        """Load, in one go, the orders (and customers) a batch of deliveries will touch."""

    def get(self, source: str, order_id: str) -> OrderRecord | None: ...

    def add(
        self,
        order: Order,
        location: str | None,
        lines: Sequence[LineState],
        customer_id: int | None,
        at: datetime,
    ) -> OrderRecord: ...

    def fulfilment_exists(self, record: OrderRecord, fulfilment_id: str) -> bool: ...

    def add_fulfilment(
        self, record: OrderRecord, f: Fulfilment, kind: str, location: str | None
    ) -> None: ...

    def refund_exists(self, record: OrderRecord, refund_id: str) -> bool: ...

    def add_refund(
        self,
        record: OrderRecord,
        r: Refund,
        location: str | None,
        skus: Mapping[str, str | None],
        locations: Sequence[str | None],
    ) -> None: ...

    def upsert_customer(self, customer: Customer) -> int: ...


class CatalogRepository(Protocol):
    def item(self, sku: str) -> Item | None: ...

    def sku_for(self, ref: ExternalRef, kind: str) -> str | None: ...

    def location_for(self, ref: ExternalRef) -> str | None: ...


class InventoryRepository(Protocol):
    def record(self, movements: Iterable[Movement], inbox_id: int | None) -> None:
        """Append movements and fold them into the positions read model."""

    def prefetch(self, skus: Iterable[str]) -> None:
        """Read, in one go, the positions of SKUs a batch will touch."""

    def position(self, sku: str, location: str) -> Position: ...

    def changed_skus(self) -> set[str]:
        """SKUs whose stock this unit of work has written (committed) since the last call."""

    def channel_report_at(self, system: str, item: str, location: str) -> datetime | None: ...

    def save_channel_report(
        self,
        system: str,
        item: str,
        location: str,
        sku: str,
        location_code: str,
        available: int,
        at: datetime,
        inbox_id: int,
    ) -> None: ...


class LedgerRepository(Protocol):
    def post(self, entry: JournalEntry, inbox_id: int | None, at: datetime) -> bool:
        """Post once per ``entry.key``.

        ``False`` when this unit of work already holds an entry with that key. An entry posted
        by an earlier unit of work may not be known yet; it is skipped when the batch is
        written, so the ledger still holds exactly one entry per key.
        """

    def stage(
        self,
        entry: JournalEntry,
        channel: str,
        location: str | None,
        inbox_id: int | None,
        at: datetime,
    ) -> bool:
        """Hold an entry of a daily-summary channel (once per key) for its day's summary."""

    def staged_open(self) -> list[tuple[int, str, date, str | None, JournalLine]]:
        """Held lines not yet summarised: (held entry id, channel, day, store, line)."""

    def mark_summarised(self, staged_ids: list[int], summary_key: str) -> None: ...

    def summaries_posted(self, prefix: str) -> int:
        """How many summary entries exist whose key starts with ``prefix``."""

    def trial_balance(self) -> dict[tuple[str, str], int]: ...


@dataclass(frozen=True, slots=True)
class StoredReceipt:
    receipt: ExpectedReceipt
    order: ExternalRef | None
    status: str  # "expected" (the gateway owes it), "pending" or "failed" (it does not)


class PaymentRepository(Protocol):
    """Expected receipts by our own ``receipt_id``; a second record of one id replaces it."""

    def record(
        self,
        receipt: ExpectedReceipt,
        order: ExternalRef | None,
        status: str,
        inbox_id: int | None,
        at: datetime,
    ) -> None: ...

    def prefetch(self, order_ids: Iterable[str]) -> None:
        """Read, in one go, the receipts of the orders a batch will touch."""

    def get(self, receipt_id: str) -> StoredReceipt | None: ...

    def find(self, gateway: str, transaction_id: str) -> StoredReceipt | None: ...

    def for_order(self, gateway: str, order_id: str, kind: PaymentKind) -> list[StoredReceipt]: ...


class PriceRepository(Protocol):
    """The owner's price entries per SKU, channels' last reports, and updates owed to them."""

    def entries(self, sku: str) -> list[PriceEntry]: ...

    def add_entry(self, entry: PriceEntry) -> None: ...

    def report_at(self, system: str, variant_id: str) -> datetime | None: ...

    def save_report(
        self, system: str, variant_id: str, sku: str, price: Money, at: datetime
    ) -> None: ...

    def queue_update(
        self,
        system: str,
        kind: str,
        target: str,
        sku: str,
        payload: dict[str, Any],
        reason: str,
        at: datetime,
    ) -> None:
        """Owe ``system`` a change (an owner's price pushed back), sent by the channel updater."""


class SettlementRepository(Protocol):
    def exists(self, gateway: str, settlement_id: str) -> bool: ...

    def add(self, settlement: Settlement, origin: str, at: datetime) -> None: ...


class RegisterRepository(Protocol):
    """Cash per register drawer and business day."""

    def add_cash(self, location: str, register: str, day: date, amount: int) -> None: ...

    def set_counted(
        self, location: str, register: str, day: date, counted: int, opening_float: int
    ) -> None: ...

    def drawer(self, location: str, register: str, day: date) -> tuple[int, int | None]:
        """(cash taken less cash paid out that day, the count if the drawer was counted)."""

    def opening_float(self, location: str, register: str, day: date) -> int: ...


class MoneyRecords(Protocol):
    """The read side reconciliation works from, and where it writes its runs."""

    def expected_receipts(self, gateway: str | None = None) -> list[ExpectedReceipt]: ...

    def settlement_lines(self, gateway: str | None = None) -> list[SettlementLine]: ...

    def settlements(self, gateway: str | None = None) -> list[Settlement]: ...

    def bank_lines(self) -> list[BankLine]: ...

    def add_bank_lines(self, lines: Sequence[BankLine], origin: str, at: datetime) -> int: ...

    def save_run(
        self,
        at: datetime,
        gateway: str | None,
        on_date: date | None,
        matched: int,
        matchable: int,
        summary: dict[str, Any],
        items: Iterable[dict[str, Any]],
    ) -> int: ...


class UnitOfWork(Protocol):
    # Read-only properties so concrete units of work may expose their own repository types.
    @property
    def inbox(self) -> InboxRepository: ...

    @property
    def exceptions(self) -> ExceptionRepository: ...

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def catalog(self) -> CatalogRepository: ...

    @property
    def inventory(self) -> InventoryRepository: ...

    @property
    def ledger(self) -> LedgerRepository: ...

    @property
    def payments(self) -> PaymentRepository: ...

    @property
    def settlements(self) -> SettlementRepository: ...

    @property
    def registers(self) -> RegisterRepository: ...

    @property
    def prices(self) -> PriceRepository: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def savepoint(self) -> Savepoint: ...


class Savepoint(Protocol):
    """Leaving the block with an exception undoes every change made inside it through the
    domain repositories (orders, inventory, ledger). Handlers run inside one; inbox marks and
    exceptions are written by the processor outside it and are not undone."""

    def __enter__(self) -> object: ...

    def __exit__(self, *exc: Any) -> None: ...
