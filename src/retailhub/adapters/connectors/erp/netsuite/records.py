"""A hub journal entry as NetSuite REST records: journalEntry, or cashSale / cashRefund.

Record shapes from the REST API Browser (record/v1): references are ``{"id": "<internal id>"}``,
sublists ``{"items": [...]}``, dates ``YYYY-MM-DD``, money JSON numbers.

* ``journalEntry``: ``tranDate``, ``memo``, ``subsidiary`` (OneWorld), ``currency``, and
  ``line.items[]`` with ``account``, ``debit`` or ``credit``, ``memo`` and the segments
  ``department`` / ``class`` / ``location`` where mapped.
* With ``documents = true``, revenue entries become a ``cashSale`` and refunds a ``cashRefund``
  when they have the shape of one: every income/tax line on an account that has an item in
  ``[erp.netsuite.items]``, and exactly one line on the other side (the account the cash lands
  in, or leaves from: the record's ``account``). Anything else stays a journalEntry — a journal
  is always a faithful copy of the hub's entry; a document is a nicer one when it fits.

An entry in several currencies becomes one record per currency (each balances on its own), with
external id ``<key>-<currency>``. Unmapped accounts or currencies refuse the whole entry before
anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from retailhub.adapters.connectors.erp.accounts import AccountMap
from retailhub.domain.ledger import JournalEntry, JournalLine
from retailhub.domain.money import to_decimal
from retailhub.services.erp_posting import OutboundPosting, PostingRejected

MEMO_LIMIT = 999  # the transaction memo field's length in the REST record browser

SEGMENT_FIELDS = ("location", "department", "class")
HUB_DIMENSIONS = ("location", "channel", "brand")


@dataclass(frozen=True, slots=True)
class Segment:
    """A NetSuite segment (``location``, ``department``, ``class``) fed by a hub dimension."""

    field: str
    source: str  # the hub's line dimension: location, channel or brand
    values: Mapping[str, str]  # hub value -> NetSuite internal id

    def ref(self, line: JournalLine) -> dict[str, str] | None:
        value = getattr(line, self.source)
        internal_id = self.values.get(value) if value is not None else None
        return {"id": internal_id} if internal_id else None


@dataclass(frozen=True, slots=True)
class Books:
    """How the hub's books map onto one NetSuite account (``[erp.netsuite]``)."""

    accounts: AccountMap
    subsidiary: str | None = None
    currencies: Mapping[str, str] = field(default_factory=dict)
    segments: Sequence[Segment] = ()
    documents: bool = False
    customers: Mapping[str, str] = field(default_factory=dict)  # channel -> customer id
    customer: str | None = None  # fallback customer for cash sales and refunds
    items: Mapping[str, str] = field(default_factory=dict)  # hub account (prefix) -> item id
    approved: bool = False  # send journals approved (accounts with journal approval routing)


@dataclass(frozen=True, slots=True)
class Record:
    """One upsert: ``PUT /record/v1/{record_type}/eid:{external_id}?replace={sublist}``."""

    record_type: str
    external_id: str
    sublist: str
    body: dict[str, Any]


def plan(posting: OutboundPosting, books: Books) -> list[Record]:
    """Every record the entry becomes, in currency order of first appearance."""
    entry = posting.entry
    groups = currency_groups(entry.lines)
    keys = {
        currency: posting.idempotency_key
        if len(groups) == 1
        else f"{posting.idempotency_key}-{currency}"
        for currency in groups
    }
    heads = {c: _head(entry, c, posting.functional_currency, books) for c in groups}
    if books.documents:
        documents = {c: _document(entry, c, ls, heads[c], books) for c, ls in groups.items()}
        # All or nothing: one entry never lands half as documents, half as journals.
        if all(documents.values()):
            return [Record(d[0], keys[c], "item", d[1]) for c, d in documents.items() if d]
    approval = {"approved": True} if books.approved else {}
    return [
        Record(
            "journalEntry",
            keys[c],
            "line",
            {**heads[c], **approval, "line": {"items": _journal_lines(entry, ls, books)}},
        )
        for c, ls in groups.items()
    ]


def currency_groups(lines: Sequence[JournalLine]) -> dict[str, list[JournalLine]]:
    groups: dict[str, list[JournalLine]] = {}
    for line in lines:
        groups.setdefault(line.currency, []).append(line)
    return groups


def amount(minor: int, currency: str) -> Decimal:
    """The exact decimal for ``minor`` units; the connector kit writes it as a JSON number
    spelled exactly (never via a float)."""
    return to_decimal(minor, currency)


def _head(entry: JournalEntry, currency: str, functional: str, books: Books) -> dict[str, Any]:
    head: dict[str, Any] = {
        "tranDate": entry.entry_date.isoformat(),
        "memo": f"{entry.memo} [{entry.key}]"[:MEMO_LIMIT],
    }
    if books.subsidiary:
        head["subsidiary"] = {"id": books.subsidiary}
    if currency in books.currencies:
        head["currency"] = {"id": books.currencies[currency]}
    elif currency != functional:
        raise PostingRejected(
            f"{entry.memo} has {currency} lines and NetSuite needs the currency's internal id: "
            f'add [erp.netsuite.currencies] {currency} = "<id>" to retailhub.toml',
            code="unmapped_currency",
        )
    return head


def _journal_lines(
    entry: JournalEntry, lines: Sequence[JournalLine], books: Books
) -> list[dict[str, Any]]:
    out = []
    for line in lines:
        side = "debit" if line.amount > 0 else "credit"
        item: dict[str, Any] = {
            "account": {"id": books.accounts(line.account)},
            side: amount(abs(line.amount), line.currency),
            "memo": (line.memo or entry.memo)[:MEMO_LIMIT],
        }
        out.append(item | _segments(line, books))
    return out


def _segments(line: JournalLine, books: Books) -> dict[str, Any]:
    refs = {s.field: s.ref(line) for s in books.segments}
    return {name: ref for name, ref in refs.items() if ref is not None}


def _document(
    entry: JournalEntry,
    currency: str,
    lines: Sequence[JournalLine],
    head: dict[str, Any],
    books: Books,
) -> tuple[str, dict[str, Any]] | None:
    """A cashSale / cashRefund for the group, or None when the entry is not shaped like one."""
    if entry.rule.startswith("revenue"):
        kind, money_sign = "cashSale", 1  # the cash side is the debit
    elif entry.source.kind == "refund" and entry.rule == "refund":
        kind, money_sign = "cashRefund", -1  # the cash side is the credit
    else:
        return None
    cash = [line for line in lines if line.amount * money_sign > 0]
    goods = [line for line in lines if line.amount * money_sign < 0]
    customer = books.customers.get(lines[0].channel or "", books.customer)
    item_map = AccountMap("netsuite", books.items)
    items = [_item_for(line.account, item_map) for line in goods]
    if len(cash) != 1 or not goods or customer is None or None in items:
        return None
    item_lines = [
        {
            "item": {"id": item},
            "quantity": 1,
            "rate": amount(abs(line.amount), currency),
            "amount": amount(abs(line.amount), currency),
            "description": (line.memo or line.account)[:MEMO_LIMIT],
        }
        | _segments(line, books)
        for line, item in zip(goods, items, strict=True)
    ]
    body = {
        **head,
        "entity": {"id": customer},
        "account": {"id": books.accounts(cash[0].account)},
        "undepFunds": False,
        "item": {"items": item_lines},
    }
    return kind, body


def _item_for(account: str, items: AccountMap) -> str | None:
    try:
        return items(account)
    except PostingRejected:
        return None
