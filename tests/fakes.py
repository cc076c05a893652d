"""In-memory fakes of the ports in ``retailhub.services.ports``, for tests with no database.

They keep the SQL adapters' semantics: ``orders.get`` returns the same record throughout, the
ledger posts once per key, positions fold the movements, a savepoint left with an exception
undoes everything done inside it, and leaving the unit of work uncommitted rolls back. Snapshots
are deep copies: correct rather than fast.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from typing import Any

from retailhub.domain import inventory, ledger
from retailhub.domain.catalog import Item
from retailhub.domain.customers import Customer
from retailhub.domain.inventory import Movement, Position
from retailhub.domain.ledger import JournalEntry
from retailhub.domain.orders import ExternalRef, Fulfilment, Order
from retailhub.domain.payments import ExpectedReceipt, PaymentKind
from retailhub.domain.problems import DEFAULT_OWNERS, Problem
from retailhub.domain.returns import Refund
from retailhub.domain.settlements import Settlement
from retailhub.services.ports import Delivery, InboxRow, LineState, OrderRecord, StoredReceipt

_LIVE = ("open", "retrying")


class _Snapshots:
    """For dataclass repositories: a snapshot is a deep copy of every field."""

    def snapshot(self) -> Any:
        state = {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]
        return copy.deepcopy(state)

    def restore(self, state: Any) -> None:
        for name, value in copy.deepcopy(state).items():
            setattr(self, name, value)


@dataclass
class FakeInboxRepository(_Snapshots):
    """The inbox: deliveries by id, deduplicated by (source, event id), claimed in id order."""

    rows: dict[int, Delivery] = field(default_factory=dict)
    waiting_on: dict[int, str] = field(default_factory=dict)
    duplicates: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, source: str, event_id: str, topic: str, headers: Mapping[str, str],
            body: bytes, received_at: datetime, correlation_id: str) -> int | None:
        if (source, event_id) in {(d.source, d.event_id) for d in self.rows.values()}:
            return None
        inbox_id = max(self.rows, default=0) + 1
        self.rows[inbox_id] = Delivery(inbox_id, source, event_id, topic, dict(headers), body,
                                       received_at, "pending", 0, correlation_id)
        return inbox_id

    def add_many(self, rows: Sequence[InboxRow]) -> set[str]:
        stored = set()
        for r in rows:
            if self.add(r.source, r.event_id, r.topic, r.headers, r.body, r.received_at,
                        r.correlation_id) is None:
                self.count_duplicate(r.source, r.event_id)
            else:
                stored.add(r.correlation_id)
        return stored

    def count_duplicate(self, source: str, event_id: str) -> None:
        self.duplicates[(source, event_id)] = self.duplicates.get((source, event_id), 0) + 1

    def claim_pending(self, limit: int) -> list[Delivery]:
        return [d for _, d in sorted(self.rows.items()) if d.status == "pending"][:limit]

    def get(self, inbox_id: int) -> Delivery | None:
        return self.rows.get(inbox_id)

    def _mark(self, inbox_id: int, status: str) -> None:
        d = self.rows[inbox_id]
        self.rows[inbox_id] = replace(d, status=status, attempts=d.attempts + 1)

    def mark_applied(self, inbox_id: int, at: datetime) -> None:
        self._mark(inbox_id, "applied")
        self.waiting_on.pop(inbox_id, None)

    def mark_waiting(self, inbox_id: int, dependency: str, reason: str) -> None:
        self._mark(inbox_id, "waiting")
        self.waiting_on[inbox_id] = dependency

    def mark_failed(self, inbox_id: int, reason: str) -> None:
        self._mark(inbox_id, "failed")  # keeps what it waited on, as the SQL inbox does

    def requeue(self, inbox_id: int) -> None:
        self.rows[inbox_id] = replace(self.rows[inbox_id], status="pending")

    def _sleeping(self) -> dict[int, str]:
        return {i: dep for i, dep in self.waiting_on.items()
                if self.rows[i].status in ("waiting", "failed")}

    def wake(self, dependency: str) -> int:
        woken = [i for i, dep in self._sleeping().items() if dep == dependency]
        for inbox_id in woken:
            self.requeue(inbox_id)
        return len(woken)

    def waiting_dependencies(self) -> set[str]:
        return set(self._sleeping().values())

    def expired_waiting(self, received_before: datetime) -> list[Delivery]:
        return [d for _, d in sorted(self.rows.items())
                if d.status == "waiting" and d.received_at < received_before]


@dataclass
class FakeExceptionRepository(_Snapshots):
    """The exception queue as dicts; a problem seen again reopens its exception, as in SQL."""

    rows: dict[int, dict[str, Any]] = field(default_factory=dict)

    def raise_problem(self, problem: Problem, at: datetime, source: str | None,
                      inbox_id: int | None, correlation_id: str | None,
                      headers: Mapping[str, str] | None = None,
                      payload: bytes | None = None) -> int:
        for eid, row in self.rows.items():
            again = (  # the same delivery failed again, or an advisory about the same record
                (inbox_id is not None and problem.blocking and row["inbox_id"] == inbox_id
                 and row["status"] in _LIVE)
                or (not problem.blocking and problem.subject is not None
                    and row["subject"] == problem.subject and row["status"] == "open"))
            if row["type"] == problem.type and again:
                row.update(status="open", reason=problem.reason, attempts=row["attempts"] + 1)
                return eid
        eid = len(self.rows) + 1
        self.rows[eid] = {
            "id": eid, "type": problem.type, "status": "open", "blocking": problem.blocking,
            "owner": DEFAULT_OWNERS[problem.type].value, "reason": problem.reason,
            "subject": problem.subject, "amount": problem.amount, "source": source,
            "inbox_id": inbox_id, "correlation_id": correlation_id, "headers": headers,
            "payload": payload, "attempts": 1, "created_at": at}
        return eid

    def resolve_for_delivery(self, inbox_id: int, at: datetime, note: str) -> int:
        ids = [eid for eid, r in self.rows.items()
               if r["inbox_id"] == inbox_id and r["blocking"] and r["status"] in _LIVE]
        for eid in ids:
            self.set_status(eid, "resolved", at, "system", note)
        return len(ids)

    def resolve_subjects(self, types: Any, subjects: Iterable[str], at: datetime,
                         note: str) -> int:
        wanted = set(subjects)
        ids = [eid for eid, r in self.rows.items() if r["type"] in set(types)
               and r["subject"] in wanted and r["status"] in _LIVE]
        for eid in ids:
            self.set_status(eid, "resolved", at, "system", note)
        return len(ids)

    def get(self, exception_id: int) -> Mapping[str, object] | None:
        return self.rows.get(exception_id)

    def open_ids(self) -> list[int]:
        return sorted(eid for eid, r in self.rows.items() if r["status"] == "open")

    def set_status(self, exception_id: int, status: str, at: datetime, actor: str,
                   note: str) -> None:
        self.rows[exception_id].update(status=status, note=note)
        if status != "retrying":
            self.rows[exception_id]["next_retry_at"] = None

    def schedule_retry(self, exception_id: int, due: datetime, at: datetime, note: str) -> None:
        self.rows[exception_id].update(status="retrying", next_retry_at=due, note=note)

    def due_retries(self, now: datetime) -> list[tuple[int, int]]:
        return sorted(((eid, r["inbox_id"]) for eid, r in self.rows.items()
                       if r["status"] == "retrying" and r.get("next_retry_at") is not None
                       and r["next_retry_at"] <= now and r["inbox_id"] is not None),
                      key=lambda pair: pair[1])

    def claim_retry(self, exception_id: int, at: datetime, note: str) -> None:
        self.rows[exception_id]["next_retry_at"] = None

    def live_on_subject(self, subject: str) -> list[Mapping[str, object]]:
        return [r for r in self.rows.values() if r["subject"] == subject and r["status"] in _LIVE]

    def live_blocked_deliveries(self) -> list[tuple[int, int, str, str, bytes]]:
        return []  # the fake keeps no delivery bodies: supersession is tested on the real DB

    def assign(self, exception_id: int, assignee: str | None, at: datetime, actor: str) -> None:
        self.rows[exception_id]["assignee"] = assignee

    def note(self, exception_id: int, at: datetime, actor: str, action: str,
             result: str) -> None:
        self.rows[exception_id].setdefault("notes", []).append((actor, action, result))

    def map_identity(self, system: str, kind: str, external_id: str, sku: str) -> None:
        raise NotImplementedError("alias mapping is tested on the real database")

    def refresh_priorities(self, now: datetime) -> int:
        return 0


def _copy_fields(source: object, target: object) -> None:
    for f in fields(target):  # type: ignore[arg-type]
        setattr(target, f.name, getattr(source, f.name))


class FakeOrderRepository:
    """Orders by (source, order id), an identity map. Records are restored *in place*, so a
    handler still holding a record after a failed savepoint sees it as it was."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], OrderRecord] = {}
        self.customers: dict[tuple[str, str], int] = {}

    def snapshot(self) -> Any:
        return {key: (r, copy.deepcopy(r)) for key, r in self.records.items()}, dict(self.customers)

    def restore(self, state: Any) -> None:
        saved, customers = state
        self.records, self.customers = {}, dict(customers)
        for key, (record, was) in saved.items():
            was = copy.deepcopy(was)
            lines = {lid: record.lines.get(lid, s) for lid, s in was.lines.items()}
            for lid, s in was.lines.items():
                _copy_fields(s, lines[lid])
            _copy_fields(was, record)
            record.lines = lines
            self.records[key] = record

    def prefetch(self, keys: Iterable[tuple[str, str]],
                 customers_of: Iterable[Customer] = ()) -> None:
        """Nothing to read ahead in memory."""

    def get(self, source: str, order_id: str) -> OrderRecord | None:
        return self.records.get((source, order_id))

    def add(self, order: Order, location: str | None, lines: Sequence[LineState],
            customer_id: int | None, at: datetime) -> OrderRecord:
        record = OrderRecord(len(self.records) + 1, order, location, 0, False)
        record.lines.update({s.line_id: s for s in lines})
        self.records[(order.source, order.order_id)] = record
        return record

    def fulfilment_exists(self, record: OrderRecord, fulfilment_id: str) -> bool:
        return fulfilment_id in record.fulfilment_ids

    def add_fulfilment(self, record: OrderRecord, f: Fulfilment, kind: str,
                       location: str | None) -> None:
        record.fulfilment_ids.add(f.fulfilment_id)

    def refund_exists(self, record: OrderRecord, refund_id: str) -> bool:
        return refund_id in record.refund_ids

    def add_refund(self, record: OrderRecord, r: Refund, location: str | None,
                   skus: Mapping[str, str | None], locations: Sequence[str | None]) -> None:
        record.refund_ids.add(r.refund_id)

    def upsert_customer(self, customer: Customer) -> int:
        key = (customer.identity.system, customer.identity.external_id)
        return self.customers.setdefault(key, len(self.customers) + 1)


@dataclass
class FakeCatalogRepository:
    """Read-only master data: items by SKU, SKUs by (system, kind, external id) and location
    codes by (system, external id)."""

    items: dict[str, Item]
    identities: dict[tuple[str, str, str], str] = field(default_factory=dict)
    locations: dict[tuple[str, str], str] = field(default_factory=dict)

    def item(self, sku: str) -> Item | None:
        return self.items.get(sku)

    def sku_for(self, ref: ExternalRef, kind: str) -> str | None:
        return self.identities.get((ref.system, kind, ref.id))

    def location_for(self, ref: ExternalRef) -> str | None:
        return self.locations.get((ref.system, ref.id))

    def location_exists(self, code: str) -> bool:
        return code in self.locations.values()


@dataclass
class FakeInventoryRepository(_Snapshots):
    """Movements appended in order; positions are always the fold of them."""

    movements: list[tuple[Movement, int | None]] = field(default_factory=list)
    reports: dict[tuple[str, str, str], tuple[str, str, int, datetime, int]] = field(
        default_factory=dict)

    def record(self, movements: Iterable[Movement], inbox_id: int | None) -> None:
        self.movements += [(m, inbox_id) for m in movements]

    def prefetch(self, skus: Iterable[str]) -> None:
        """Nothing to read ahead in memory."""

    def changed_skus(self) -> set[str]:
        return {m.sku for m, _ in self.movements}

    def position(self, sku: str, location: str) -> Position:
        folded = inventory.fold(m for m, _ in self.movements)
        return folded.get((sku, location), Position(sku, location))

    def channel_report_at(self, system: str, item: str, location: str) -> datetime | None:
        report = self.reports.get((system, item, location))
        return report[3] if report else None

    def save_channel_report(self, system: str, item: str, location: str, sku: str,
                            location_code: str, available: int, at: datetime,
                            inbox_id: int) -> None:
        self.reports[(system, item, location)] = (sku, location_code, available, at, inbox_id)


@dataclass
class FakeLedgerRepository(_Snapshots):
    """Journal entries by idempotency key; the trial balance is folded from them."""

    entries: dict[str, JournalEntry] = field(default_factory=dict)

    def post(self, entry: JournalEntry, inbox_id: int | None, at: datetime) -> bool:
        if entry.key in self.entries:
            return False
        self.entries[entry.key] = entry
        return True

    staged: dict[str, tuple[JournalEntry, str, str | None]] = field(default_factory=dict)

    def stage(self, entry: JournalEntry, channel: str, location: str | None,
              inbox_id: int | None, at: datetime) -> bool:
        if entry.key in self.staged:
            return False
        self.staged[entry.key] = (entry, channel, location)
        return True

    summarised: dict[str, str] = field(default_factory=dict)

    def staged_open(self) -> list[tuple[int, str, date, str | None, ledger.JournalLine]]:
        return [(i, channel, entry.entry_date, location, line)
                for i, (key, (entry, channel, location)) in enumerate(self.staged.items())
                if key not in self.summarised for line in entry.lines]

    def mark_summarised(self, staged_ids: list[int], summary_key: str) -> None:
        keys = list(self.staged)
        for i in staged_ids:
            self.summarised[keys[i]] = summary_key

    def summaries_posted(self, prefix: str) -> int:
        return sum(1 for key in self.entries if key.startswith(prefix))

    def trial_balance(self) -> dict[tuple[str, str], int]:
        return ledger.trial_balance(self.entries.values())


@dataclass
class FakePaymentRepository(_Snapshots):
    """Expected receipts by receipt id."""

    receipts: dict[str, StoredReceipt] = field(default_factory=dict)

    def record(self, receipt: ExpectedReceipt, order: ExternalRef | None, status: str,
               inbox_id: int | None, at: datetime) -> None:
        self.receipts[receipt.receipt_id] = StoredReceipt(receipt, order, status)

    def prefetch(self, order_ids: Iterable[str]) -> None:
        """Nothing to read ahead in memory."""

    def get(self, receipt_id: str) -> StoredReceipt | None:
        return self.receipts.get(receipt_id)

    def find(self, gateway: str, transaction_id: str) -> StoredReceipt | None:
        return next((s for s in self.receipts.values() if s.receipt.gateway == gateway
                     and s.receipt.transaction_id == transaction_id), None)

    def for_order(self, gateway: str, order_id: str, kind: PaymentKind) -> list[StoredReceipt]:
        return [s for s in self.receipts.values() if s.receipt.gateway == gateway
                and s.receipt.order_ref == order_id and s.receipt.kind is kind]


@dataclass
class FakePriceRepository(_Snapshots):
    stored: list[Any] = field(default_factory=list)
    reports: dict[tuple[str, str], datetime] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)

    def entries(self, sku: str) -> list[Any]:
        return [e for e in self.stored if e.sku == sku]

    def add_entry(self, entry: Any) -> None:
        self.stored.append(entry)

    def report_at(self, system: str, variant_id: str) -> datetime | None:
        return self.reports.get((system, variant_id))

    def save_report(self, system: str, variant_id: str, sku: str, price: Any,
                    at: datetime) -> None:
        self.reports[(system, variant_id)] = at

    def queue_update(self, system: str, kind: str, target: str, sku: str,
                     payload: dict[str, Any], reason: str, at: datetime) -> None:
        self.updates.append({"system": system, "target": target, "payload": payload})


@dataclass
class FakeSettlementRepository(_Snapshots):
    settlements: dict[tuple[str, str], Settlement] = field(default_factory=dict)

    def exists(self, gateway: str, settlement_id: str) -> bool:
        return (gateway, settlement_id) in self.settlements

    def add(self, settlement: Settlement, origin: str, at: datetime) -> None:
        self.settlements[(settlement.gateway, settlement.settlement_id)] = settlement


@dataclass
class FakeRegisterRepository(_Snapshots):
    cash: dict[tuple[str, str, date], int] = field(default_factory=dict)
    counted: dict[tuple[str, str, date], tuple[int, int]] = field(default_factory=dict)

    def add_cash(self, location: str, register: str, day: date, amount: int) -> None:
        key = (location, register, day)
        self.cash[key] = self.cash.get(key, 0) + amount

    def set_counted(self, location: str, register: str, day: date, counted: int,
                    opening_float: int) -> None:
        self.counted[(location, register, day)] = (counted, opening_float)

    def drawer(self, location: str, register: str, day: date) -> tuple[int, int | None]:
        key = (location, register, day)
        count = self.counted.get(key)
        return self.cash.get(key, 0), count[0] if count else None

    def opening_float(self, location: str, register: str, day: date) -> int:
        count = self.counted.get((location, register, day))
        return count[1] if count else 0


class FakeUnitOfWork:
    """All the fakes behind one unit of work; counts commits and explicit rollbacks."""

    def __init__(self, catalog: FakeCatalogRepository) -> None:
        self.inbox = FakeInboxRepository()
        self.exceptions = FakeExceptionRepository()
        self.orders = FakeOrderRepository()
        self.catalog = catalog
        self.inventory = FakeInventoryRepository()
        self.ledger = FakeLedgerRepository()
        self.payments = FakePaymentRepository()
        self.settlements = FakeSettlementRepository()
        self.registers = FakeRegisterRepository()
        self.prices = FakePriceRepository()
        self.commits = self.rollbacks = 0
        self._committed = self.snapshot()

    def snapshot(self) -> list[Any]:
        """Everything a transaction can change (the catalog is read-only here)."""
        stores = (self.inbox, self.exceptions, self.orders, self.inventory, self.ledger,
                  self.payments, self.settlements, self.registers, self.prices)
        return [(store, store.snapshot()) for store in stores]

    def restore(self, state: list[Any]) -> None:
        for store, saved in state:
            store.restore(saved)

    def __enter__(self) -> FakeUnitOfWork:
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore(self._committed)  # like a transaction left open: nothing uncommitted stays

    def commit(self) -> None:
        self.commits += 1
        self._committed = self.snapshot()

    def rollback(self) -> None:
        self.rollbacks += 1
        self.restore(self._committed)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Snapshot everything on entry; put it back if the block raises."""
        state = self.snapshot()
        try:
            yield
        except BaseException:
            self.restore(state)
            raise

