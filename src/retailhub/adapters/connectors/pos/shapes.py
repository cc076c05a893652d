"""Typed shapes of one POS batch record, the format documented in ``docs/pos-feed.md``.

The shapes say which fields a record type has and of what JSON type; ``records`` checks the
values (codes, amounts, sums). Unlike a vendor payload, the format is ours, so it is strict:
an unknown field is refused (``forbid_unknown_fields``) rather than silently ignored, because a
misspelt ``dicount`` would otherwise drop a discount from the books.

Money, tax rates, timestamps and the business day are strings (``"12.50"``, ``"0.0625"``,
``"2025-03-15T09:05:00-05:00"``): a JSON number would be read through ``float``.
Optional fields default to ``None`` / ``False`` / ``[]`` and are left out of the canonical
encoding (``omit_defaults``), so a CSV row's empty cell and a JSON record's missing key store
the same bytes.
"""

from __future__ import annotations

from typing import Literal

import msgspec

TenderMethodName = Literal["card", "cash", "gift_card", "wallet", "store_credit"]
DispositionName = Literal["restock", "damaged", "quarantine"]


class _Shape(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    omit_defaults=True,
):
    """Base: keyword-only, immutable, unknown fields refused, defaults omitted when encoded.

    Subclasses repeat ``frozen`` and ``kw_only``: msgspec inherits them, mypy does not.
    """


class Tax(_Shape, frozen=True, kw_only=True):
    jurisdiction: str
    rate: str  # a fraction: "0.0625" is 6.25 %
    amount: str


class SaleLine(_Shape, frozen=True, kw_only=True):
    line: str  # the line's id within the receipt; a later return names it
    sku: str
    quantity: int
    unit_price: str
    discount: str | None = None  # total for the line, not per unit
    taxes: list[Tax] = []


class ReturnLine(_Shape, frozen=True, kw_only=True):
    line: str | None = None  # the ORIGINAL sale's line id, when the record names ``original``
    sku: str | None = None  # the item returned, when it does not
    quantity: int
    amount: str  # refunded for the line, before tax
    taxes: list[Tax] = []
    disposition: DispositionName


class TenderIn(_Shape, frozen=True, kw_only=True):
    method: TenderMethodName
    amount: str
    gateway: str | None = None  # default by method: see ``translate.PosFeedSource``
    transaction_id: str | None = None
    gift_card: str | None = None


class Record(_Shape, frozen=True, kw_only=True, tag_field="type"):
    """Fields every record carries; ``type`` is the tag that picks the subclass."""

    store: str
    register: str
    seq: int
    timestamp: str  # ISO 8601 with an offset, the time at the register
    currency: str
    receipt: str | None = None  # required on sale, return and exchange


class Sale(Record, frozen=True, kw_only=True, tag="sale"):
    lines: list[SaleLine]
    taxes_included: bool = False
    tenders: list[TenderIn] = []


class Return(Record, frozen=True, kw_only=True, tag="return"):
    original: str | None = None  # "RECEIPT" (same store) or "STORE:RECEIPT"
    lines: list[ReturnLine]
    tenders: list[TenderIn] = []


class Exchange(Record, frozen=True, kw_only=True, tag="exchange"):
    original: str | None = None
    returned: list[ReturnLine]
    sold: list[SaleLine]
    taxes_included: bool = False  # of the sold lines; returned amounts are always before tax
    tenders: list[TenderIn] = []  # the difference: + the customer paid, − the customer got back


class Void(Record, frozen=True, kw_only=True, tag="void"):
    voids: str  # the receipt voided, at the same store


class PaidIn(Record, frozen=True, kw_only=True, tag="paid_in"):
    amount: str
    reason: str


class PaidOut(Record, frozen=True, kw_only=True, tag="paid_out"):
    amount: str
    reason: str


class EndOfDay(Record, frozen=True, kw_only=True, tag="end_of_day"):
    business_day: str  # YYYY-MM-DD
    counted_cash: str  # everything in the drawer, float included
    opening_float: str


AnyRecord = Sale | Return | Exchange | Void | PaidIn | PaidOut | EndOfDay

RECORD_TYPES: tuple[str, ...] = (
    "sale", "return", "exchange", "void", "paid_in", "paid_out", "end_of_day",
)  # fmt: skip


def record_type(record: Record) -> str:
    """The record's ``type`` (msgspec keeps the tag on the class, not as a field)."""
    return str(type(record).__struct_config__.tag)
