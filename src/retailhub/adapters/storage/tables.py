"""The schema, as SQLAlchemy Core tables. Alembic migrations are generated from this metadata.

Facts (inbox deliveries, inventory movements, journal entries) are append-only; positions and
order-line counters are read models kept in step in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL wants BIGINT identities.
Id = BigInteger().with_variant(Integer, "sqlite")
Minor = BigInteger  # money in minor units


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python; naive UTC in SQLite, timestamptz in PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass UTC-aware values")
        if value.tzinfo is not UTC:  # most values are already UTC: skip the conversion
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


inbox = Table(
    "inbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(40), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("topic", String(80), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),  # pending, waiting, applied, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("waiting_on", String(200)),
    Column("last_error", Text),
    Column("applied_at", UtcDateTime),
    Column("duplicates", Integer, nullable=False, default=0),
    Column("correlation_id", String(64), nullable=False),
    UniqueConstraint("source", "event_id", name="uq_inbox_source_event"),
    Index("ix_inbox_status_id", "status", "id"),
    Index("ix_inbox_waiting_on", "waiting_on"),
)

# The raw delivery, apart from its processing state: marking a delivery applied then rewrites a
# small row, not the whole payload (SQLite rewrites a row in full on every update).
inbox_payloads = Table(
    "inbox_payloads",
    metadata,
    Column("inbox_id", Id, ForeignKey("inbox.id"), primary_key=True, autoincrement=False),
    Column("headers", JSON, nullable=False),
    Column("body", LargeBinary, nullable=False),
)

exceptions = Table(
    "exceptions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("type", String(40), nullable=False),
    Column("status", String(16), nullable=False),  # open, retrying, resolved, ignored
    Column("owner", String(20), nullable=False),
    Column("priority", Integer, nullable=False, default=3),
    Column("blocking", Boolean, nullable=False, default=True),
    Column("reason", Text, nullable=False),
    Column("subject", String(200)),
    Column("amount", Minor, nullable=False, default=0),
    Column("source", String(40)),
    Column("inbox_id", Id, ForeignKey("inbox.id")),
    Column("headers", JSON),  # for deliveries refused before the inbox (bad signature)
    Column("payload", LargeBinary),
    Column("attempts", Integer, nullable=False, default=1),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("correlation_id", String(64)),
    Column("assignee", String(80)),  # who is working on it
    Column("sla_due_at", UtcDateTime),  # when it breaches its owner team's service level
    Column("next_retry_at", UtcDateTime),  # automatic retry with backoff (status "retrying")
    Column("store", String(40)),  # the store/company it concerns, for scoped API tokens
    Index("ix_exceptions_status_type", "status", "type"),
    Index("ix_exceptions_inbox", "inbox_id"),
    Index("ix_exceptions_type_subject", "type", "subject"),
)

exception_audit = Table(
    "exception_audit",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("exception_id", Id, ForeignKey("exceptions.id"), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(40), nullable=False),
    Column("result", Text),
)

locations = Table(
    "locations",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("region", String(80)),
)

location_identities = Table(
    "location_identities",
    metadata,
    Column("system", String(40), primary_key=True),
    Column("external_id", String(80), primary_key=True),
    Column("location", String(40), ForeignKey("locations.code"), nullable=False),
)

items = Table(
    "items",
    metadata,
    Column("sku", String(80), primary_key=True),
    Column("title", String(300), nullable=False),
    Column("barcode", String(40)),
    Column("style", String(80)),
    Column("options", JSON),
    Column("uom", String(12), nullable=False),
    Column("conversions", JSON),
    Column("tax_class", String(40), nullable=False),
    Column("unit_cost", Minor, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("tracks_inventory", Boolean, nullable=False, default=True),
    Column("channels", String(200)),  # eligibility: "web;pos" (only) or "-amazon" (not)
)

item_identities = Table(
    "item_identities",
    metadata,
    Column("system", String(40), primary_key=True),
    Column("kind", String(40), primary_key=True),  # variant, inventory_item
    Column("external_id", String(80), primary_key=True),
    Column("sku", String(80), ForeignKey("items.sku"), nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("email", String(200)),
    Column("name", String(200)),
)

customer_identities = Table(
    "customer_identities",
    metadata,
    Column("system", String(40), primary_key=True),
    Column("external_id", String(80), primary_key=True),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(40), nullable=False),
    Column("order_id", String(80), nullable=False),
    Column("channel", String(40), nullable=False),
    Column("name", String(80), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("source_updated_at", UtcDateTime, nullable=False),
    Column("payment_status", String(24), nullable=False),
    Column("total_price", Minor, nullable=False),
    Column("delivery", String(12), nullable=False),
    Column("location", String(40)),  # where stock is reserved / sold from
    Column("customer_id", Id, ForeignKey("customers.id")),
    Column("cancelled_at", UtcDateTime),
    Column("captured", Minor, nullable=False, default=0),
    Column("shipping_recognised", Boolean, nullable=False, default=False),
    Column("document", LargeBinary, nullable=False),  # the canonical snapshot (JSON)
    Column("first_seen_at", UtcDateTime, nullable=False),
    UniqueConstraint("source", "order_id", name="uq_orders_source_order"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_pk", Id, ForeignKey("orders.id"), primary_key=True),
    Column("line_id", String(80), primary_key=True),
    Column("sku", String(80)),
    Column("quantity", Integer, nullable=False),
    Column("unit_cost", Minor, nullable=False, default=0),
    Column("fulfilled", Integer, nullable=False, default=0),  # units that left a location
    Column("recognised", Integer, nullable=False, default=0),  # units whose revenue is recognised
    Column("cancelled", Integer, nullable=False, default=0),  # never-recognised units refunded
    Column("returned", Integer, nullable=False, default=0),  # fulfilled units refunded
    Column("reversed", Integer, nullable=False, default=0),  # recognised units reversed
    Column("reserved", Integer, nullable=False, default=0),
    Column("reserved_location", String(40)),
)

fulfilments = Table(
    "fulfilments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(40), nullable=False),
    Column("fulfilment_id", String(80), nullable=False),
    Column("order_pk", Id, ForeignKey("orders.id"), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("location", String(40)),
    Column("status", String(20), nullable=False),
    Column("lines", JSON, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    UniqueConstraint("source", "fulfilment_id", name="uq_fulfilments_source_id"),
)

refunds = Table(
    "refunds",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(40), nullable=False),
    Column("refund_id", String(80), nullable=False),
    Column("order_pk", Id, ForeignKey("orders.id"), nullable=False, index=True),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("amount", Minor, nullable=False),
    Column("location", String(40)),
    Column("return_id", String(80)),
    Column("note", Text),
    UniqueConstraint("source", "refund_id", name="uq_refunds_source_id"),
)

refund_lines = Table(
    "refund_lines",
    metadata,
    Column("refund_pk", Id, ForeignKey("refunds.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("line_id", String(80), nullable=False),
    Column("sku", String(80)),
    Column("quantity", Integer, nullable=False),
    Column("disposition", String(20), nullable=False),
    Column("location", String(40)),
    Column("reason", Text),
)

inventory_movements = Table(
    "inventory_movements",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sku", String(80), nullable=False),
    Column("location", String(40), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("on_hand", Integer, nullable=False, default=0),
    Column("reserved", Integer, nullable=False, default=0),
    Column("in_transit", Integer, nullable=False, default=0),
    Column("quarantined", Integer, nullable=False, default=0),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("reason", Text),
    Column("reference", String(120)),
    Column("inbox_id", Id),
    Index("ix_movements_sku_location", "sku", "location"),
)

inventory_positions = Table(
    "inventory_positions",
    metadata,
    Column("sku", String(80), primary_key=True),
    Column("location", String(40), primary_key=True),
    Column("on_hand", Integer, nullable=False, default=0),
    Column("reserved", Integer, nullable=False, default=0),
    Column("in_transit", Integer, nullable=False, default=0),
    Column("quarantined", Integer, nullable=False, default=0),
    Column("safety_stock", Integer, nullable=False, default=0),
)

channel_stock_reports = Table(
    "channel_stock_reports",
    metadata,
    Column("system", String(40), primary_key=True),
    Column("item_external_id", String(80), primary_key=True),
    Column("location_external_id", String(80), primary_key=True),
    Column("sku", String(80)),
    Column("location", String(40)),
    Column("available", Integer, nullable=False),
    Column("reported_at", UtcDateTime, nullable=False),
    Column("inbox_id", Id),
)

accounts = Table(
    "accounts",
    metadata,
    Column("account", String(200), primary_key=True),
    Column("type", String(12), nullable=False),
    Column("opened_on", Date, nullable=False),
)

journal_entries = Table(
    "journal_entries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(250), nullable=False),
    Column("entry_date", Date, nullable=False),
    Column("memo", Text, nullable=False),
    Column("source_kind", String(40), nullable=False),
    Column("document_id", String(120), nullable=False),
    Column("event", String(250)),
    Column("rule", String(80), nullable=False),
    Column("reverses", String(250)),
    Column("inbox_id", Id),
    Column("posted_at", UtcDateTime, nullable=False),
    # Which posting rule (and rules-file version) produced the entry: "web_sale@2026-01-01 v3".
    Column("rule_version", String(120)),
    UniqueConstraint("key", name="uq_journal_entries_key"),
    Index("ix_journal_entries_document", "source_kind", "document_id"),
)

journal_lines = Table(
    "journal_lines",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("entry_id", Id, ForeignKey("journal_entries.id"), nullable=False, index=True),
    Column("account", String(200), nullable=False, index=True),
    Column("amount", Minor, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("memo", Text),
    Column("channel", String(40)),
    Column("location", String(40)),
    Column("brand", String(40)),
)

# -- financial control: ERP postings, closed periods ----------------------------------------

# One row per journal entry per accounting target once the target has answered: the id it
# gave the document ("posted") or its refusal ("rejected"). The idempotency key is derived from
# (target, entry key), so a retry after a crash sends the same key and the target deduplicates.
erp_postings = Table(
    "erp_postings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("target", String(40), nullable=False),
    Column("entry_id", Id, ForeignKey("journal_entries.id"), nullable=False),
    Column("entry_key", String(250), nullable=False),
    Column("idempotency_key", String(64), nullable=False),
    Column("status", String(12), nullable=False),  # posted | rejected
    Column("document", String(40)),  # JournalEntry, SalesReceipt, ManualJournal, cashSale …
    Column("target_id", String(120)),
    Column("message", Text),
    Column("attempts", Integer, nullable=False, default=1),
    Column("posted_at", UtcDateTime, nullable=False),
    UniqueConstraint("target", "entry_id", name="uq_erp_postings_target_entry"),
)

# OAuth2 tokens of accounting targets: refresh tokens rotate, so the latest must be kept.
erp_tokens = Table(
    "erp_tokens",
    metadata,
    Column("target", String(40), primary_key=True),
    Column("access_token", Text),
    Column("refresh_token", Text),
    Column("expires_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
)

# A closed period: no entry may be dated inside it any more; a later correction (a late refund,
# a reversal) is dated into the first open day instead.
closed_periods = Table(
    "closed_periods",
    metadata,
    Column("period", String(10), primary_key=True),  # "2026-10"
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("closed_at", UtcDateTime, nullable=False),
    Column("closed_by", String(80)),
)

# Every lock and reopening of a period, never deleted: who, when, why, and what a forced lock
# overrode. ``closed_periods`` says what is closed now; this says how it got there.
period_events = Table(
    "period_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("period", String(10), nullable=False, index=True),
    Column("action", String(12), nullable=False),  # locked | reopened
    Column("at", UtcDateTime, nullable=False),
    Column("by", String(80), nullable=False),
    Column("forced", Boolean, nullable=False, default=False),
    Column("reason", Text),  # a reopening's reason; what a forced lock overrode
)

# -- money: expected receipts, settlements, bank lines, reconciliation ----------------------

payments = Table(
    "payments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("receipt_id", String(200), nullable=False),
    Column("gateway", String(60), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("amount", Minor, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("transaction_id", String(120)),
    Column("order_source", String(40)),
    Column("order_id", String(120)),
    Column("status", String(24), nullable=False),  # expected | pending | failed
    Column("inbox_id", Id),
    Column("recorded_at", UtcDateTime, nullable=False),
    UniqueConstraint("receipt_id", name="uq_payments_receipt_id"),
    Index("ix_payments_transaction", "gateway", "transaction_id"),
    Index("ix_payments_order", "order_id", "gateway", "kind"),
)

settlements = Table(
    "settlements",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("gateway", String(60), nullable=False),
    Column("settlement_id", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total", Minor, nullable=False),
    Column("deposit_date", Date),
    Column("period_start", UtcDateTime),
    Column("period_end", UtcDateTime),
    Column("origin", String(250), nullable=False),  # the imported file's name, or "api"
    Column("imported_at", UtcDateTime, nullable=False),
    UniqueConstraint("gateway", "settlement_id", name="uq_settlements_gateway"),
)

settlement_lines = Table(
    "settlement_lines",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("settlement_pk", Id, ForeignKey("settlements.id"), nullable=False, index=True),
    Column("gateway", String(60), nullable=False),
    Column("settlement_id", String(200), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("kind", String(24), nullable=False),
    Column("amount", Minor, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("transaction_id", String(120)),
    Column("order_ref", String(120)),
    Column("description", Text, nullable=False),
    # What the customer paid when the gateway converted it (docs/multi-currency.md).
    Column("original_amount", Minor),
    Column("original_currency", String(3)),
    Index("ix_settlement_lines_transaction", "gateway", "transaction_id"),
)

bank_lines = Table(
    "bank_lines",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account", String(80), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("booked_on", Date, nullable=False),
    Column("amount", Minor, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("reference", Text, nullable=False),
    Column("bank_ref", String(120)),
    Column("counterparty", String(200)),
    Column("origin", String(250), nullable=False),
    # Re-importing an overlapping statement must not double a deposit: the bank's own id
    # when it gives one, else (account, date, amount, reference, occurrence).
    Column("fingerprint", String(64), nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
    UniqueConstraint("fingerprint", name="uq_bank_lines_fingerprint"),
)

reconciliation_runs = Table(
    "reconciliation_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_at", UtcDateTime, nullable=False),
    Column("gateway", String(60)),
    Column("on_date", Date),
    Column("matched", Integer, nullable=False),
    Column("matchable", Integer, nullable=False),
    Column("summary", JSON, nullable=False),
)

reconciliation_items = Table(
    "reconciliation_items",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_id", Id, ForeignKey("reconciliation_runs.id"), nullable=False, index=True),
    Column("outcome", String(32), nullable=False),
    Column("gateway", String(60), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("method", String(24), nullable=False),
    Column("expected", Minor, nullable=False),
    Column("settled", Minor, nullable=False),
    Column("subject", String(250), nullable=False),
    Column("detail", JSON, nullable=False),
)

# -- store registers ----------------------------------------------------------------------

register_cash = Table(
    "register_cash",
    metadata,
    Column("location", String(40), primary_key=True),
    Column("register", String(40), primary_key=True),
    Column("business_day", Date, primary_key=True),
    Column("expected_cash", Minor, nullable=False),  # cash taken less cash paid out, no float
    Column("counted", Minor),
    Column("opening_float", Minor),
)

# The highest sequence number imported per register (the POS batch feed's gap detection).
register_sequences = Table(
    "register_sequences",
    metadata,
    Column("store", String(40), primary_key=True),
    Column("register", String(40), primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
)

# -- stock control: transfers between locations and cycle counts --------------------------

stock_transfers = Table(
    "stock_transfers",
    metadata,
    Column("reference", String(120), primary_key=True),
    Column("sku", String(80), nullable=False),
    Column("source", String(40), nullable=False),
    Column("destination", String(40), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("shipped_at", UtcDateTime, nullable=False),
    Column("received", Integer),
    Column("received_at", UtcDateTime),
)

cycle_counts = Table(
    "cycle_counts",
    metadata,
    Column("reference", String(160), primary_key=True),
    Column("sku", String(80), nullable=False),
    Column("location", String(40), nullable=False),
    Column("counted", Integer, nullable=False),
    Column("expected", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("counted_at", UtcDateTime, nullable=False),
)

# -- prices: the owner's price lists, channels' reports, and changes to push back ---------

prices = Table(
    "prices",
    metadata,
    Column("sku", String(80), primary_key=True),
    Column("channel", String(40), primary_key=True),
    Column("location", String(40), primary_key=True),  # "" = every location of the channel
    Column("effective_from", Date, primary_key=True),
    Column("effective_to", Date),
    Column("price", Minor, nullable=False),
    Column("currency", String(3), nullable=False),
)

price_reports = Table(
    "price_reports",
    metadata,
    Column("system", String(40), primary_key=True),
    Column("variant_id", String(120), primary_key=True),
    Column("sku", String(80), nullable=False),
    Column("price", Minor, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("reported_at", UtcDateTime, nullable=False),
)

# Changes the hub owes a channel (an owner's price pushed back over a non-owner's edit).
channel_updates = Table(
    "channel_updates",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("system", String(40), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("target", String(120), nullable=False),
    Column("sku", String(80), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),  # pending | sent | failed
    Column("sent_at", UtcDateTime),
    Column("answer", Text),
    Index("ix_channel_updates_status", "status", "id"),
)

# Every level pushed to a channel: what, when, why and the channel's answer.
stock_pushes = Table(
    "stock_pushes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel", String(40), nullable=False),
    Column("sku", String(80), nullable=False),
    Column("location_id", String(80), nullable=False),
    Column("item_id", String(120), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("previous", Integer),
    Column("reasons", JSON, nullable=False),
    Column("marks", Integer, nullable=False),
    Column("marked_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=False),
    Column("acked_at", UtcDateTime),
    Column("accepted", Boolean, nullable=False),
    Column("status", Integer),
    Column("answer", Text, nullable=False),
    Index("ix_stock_pushes_sku", "sku", "channel"),
)

# -- the operations desk: API tokens and SLA alerts -----------------------------------------

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False),  # sha256 of the token; never the token
    Column("name", String(120), nullable=False),
    Column("role", String(20), nullable=False),  # admin | finance | operations | read_only
    Column("stores", JSON, nullable=False),  # store/company codes it may see; [] = all
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
)

sla_alerts = Table(
    "sla_alerts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("exception_id", Id, ForeignKey("exceptions.id"), nullable=False, index=True),
    Column("team", String(20), nullable=False),
    Column("url", Text, nullable=False),
    Column("sent_at", UtcDateTime, nullable=False),
    Column("status", Integer),  # the webhook's HTTP status, None when unreachable
    Column("answer", Text),
)

# -- daily summary posting: entries held per channel and day, then posted as one -----------

staged_entries = Table(
    "staged_entries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(250), nullable=False),
    Column("entry_date", Date, nullable=False),
    Column("channel", String(40), nullable=False),
    Column("location", String(40)),
    Column("memo", Text, nullable=False),
    Column("source_kind", String(40), nullable=False),
    Column("document_id", String(120), nullable=False),
    Column("event", String(250)),
    Column("rule", String(80), nullable=False),
    Column("inbox_id", Id),
    Column("posted_at", UtcDateTime, nullable=False),
    Column("summary_key", String(250)),  # the summary entry it went into, once summarised
    UniqueConstraint("key", name="uq_staged_entries_key"),
    Index("ix_staged_entries_open", "summary_key", "channel", "entry_date"),
)

staged_lines = Table(
    "staged_lines",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("staged_id", Id, ForeignKey("staged_entries.id"), nullable=False, index=True),
    Column("account", String(200), nullable=False),
    Column("amount", Minor, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("memo", Text),
    Column("channel", String(40)),
    Column("location", String(40)),
    Column("brand", String(40)),
)
