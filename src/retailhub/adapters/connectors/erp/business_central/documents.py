"""A hub journal entry as Business Central API v2.0 documents: journal lines, or a sales invoice.

* General journal lines (``journals({id})/journalLines``, resource "journalLine"): one line per
  hub line, ``accountType`` "G/L Account", ``accountNumber``, ``postingDate``, ``documentNumber``
  and ``externalDocumentNumber`` (both the entry's short key, below), ``amount`` signed — debit
  positive, credit negative, exactly the hub's own sign — and ``description``. Dimensions
  (``[erp.business_central.dimensions]``) go on each line as ``dimensionSetLines``.
* With ``documents = true``, a revenue entry is a ``salesInvoice`` for the channel's customer
  when it has the shape of one: exactly one line on ``invoice_debit_account`` (the customer's
  side, by default ``Liabilities:Customer-Deposits``), which must be a debit; every other line
  becomes an ``Account`` invoice line at ``unitPrice`` = the credit. The customer's posting group
  must point its receivables account at that same G/L account, so the posted invoice debits
  what the hub debited (docs/erp/business_central.md).

Business Central has no idempotency header. The key it can search by is the document number:
``RH`` + 18 hex digits of SHA-256 over the hub's idempotency key — 20 characters, the length of
a Code[20] document number, and stable across retries and machines.

API v2.0 journal lines carry no currency code (they post in the local currency), so an entry
with lines in another currency can only go as a sales invoice; otherwise it is refused whole
before anything is sent, as are unmapped accounts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from retailhub.adapters.connectors.erp.accounts import AccountMap
from retailhub.domain.ledger import JournalEntry, JournalLine
from retailhub.domain.money import to_decimal
from retailhub.services.erp_posting import OutboundPosting, PostingRejected

DESCRIPTION_LIMIT = 100  # journalLine.description / salesInvoiceLine.description
CODE_LIMIT = 20  # Code[20]: document numbers, dimension value codes
HUB_DIMENSIONS = ("channel", "location", "brand")


@dataclass(frozen=True, slots=True)
class Books:
    """How the hub's books map onto one Business Central company (``[erp.business_central]``)."""

    accounts: AccountMap
    local_currency: str | None = None  # the company's LCY; None: the hub's functional currency
    documents: bool = False
    customers: Mapping[str, str] = field(default_factory=dict)  # channel -> customer number
    customer: str | None = None
    invoice_debit_account: str = "Liabilities:Customer-Deposits"
    dimensions: Mapping[str, str] = field(default_factory=dict)  # hub dimension -> BC code


@dataclass(frozen=True, slots=True)
class LinePlan:
    """One journal line as we want it; ``signature`` is how an existing line is recognised."""

    account_number: str
    amount: Decimal
    description: str
    dimensions: Mapping[str, str]  # BC dimension code -> value code

    @property
    def signature(self) -> tuple[str, Decimal, str]:
        return (self.account_number, self.amount, self.description)

    def body(self, posting_date: str, document_number: str) -> dict[str, Any]:
        return {
            "accountType": "G/L Account",
            "accountNumber": self.account_number,
            "postingDate": posting_date,
            "documentNumber": document_number,
            "externalDocumentNumber": document_number,
            "amount": json_number(self.amount),
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class JournalPlan:
    document_number: str
    posting_date: str
    lines: tuple[LinePlan, ...]
    document: str = "journal"


@dataclass(frozen=True, slots=True)
class InvoiceLinePlan:
    account_number: str
    unit_price: Decimal
    description: str

    @property
    def signature(self) -> tuple[str, Decimal, str]:
        return (self.account_number, self.unit_price, self.description)

    def body(self) -> dict[str, Any]:
        return {
            "lineType": "Account",
            "lineObjectNumber": self.account_number,
            "description": self.description,
            "quantity": 1,
            "unitPrice": json_number(self.unit_price),
        }


@dataclass(frozen=True, slots=True)
class InvoicePlan:
    external_number: str
    customer_number: str
    posting_date: str
    currency_code: str  # "" for the local currency, as Business Central shows it
    lines: tuple[InvoiceLinePlan, ...]
    document: str = "salesInvoice"

    def body(self) -> dict[str, Any]:
        return {
            "customerNumber": self.customer_number,
            "invoiceDate": self.posting_date,
            "postingDate": self.posting_date,
            "externalDocumentNumber": self.external_number,
            "currencyCode": self.currency_code,
        }


Plan = JournalPlan | InvoicePlan


def short_key(idempotency_key: str) -> str:
    """The 20-character document number Business Central is searched by for this key."""
    return "RH" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:18].upper()


def plan(posting: OutboundPosting, books: Books) -> list[Plan]:
    """What the entry becomes, one plan per currency; refuses what cannot be posted faithfully."""
    entry = posting.entry
    local = books.local_currency or posting.functional_currency
    groups: dict[str, list[JournalLine]] = {}
    for line in entry.lines:
        groups.setdefault(line.currency, []).append(line)
    keys = {
        c: posting.idempotency_key if len(groups) == 1 else f"{posting.idempotency_key}-{c}"
        for c in groups
    }
    if books.documents:
        invoices = {
            c: _invoice(entry, c, ls, short_key(keys[c]), local, books) for c, ls in groups.items()
        }
        if all(invoices.values()):  # all or nothing: never half invoices, half journals
            return [i for i in invoices.values() if i]
    foreign = sorted(c for c in groups if c != local)
    if foreign:
        raise PostingRejected(
            f"{entry.memo} has {', '.join(foreign)} lines, and Business Central API v2.0 journal "
            f"lines post only in the local currency ({local})",
            "journal",
            "foreign_currency_journal",
        )
    return [_journal(entry, ls, short_key(keys[c]), books) for c, ls in groups.items()]


def document_numbers(posting: OutboundPosting) -> list[str]:
    """The document numbers ``plan`` would give the entry, without needing it to be plannable."""
    currencies = list(dict.fromkeys(line.currency for line in posting.entry.lines))
    if len(currencies) == 1:
        return [short_key(posting.idempotency_key)]
    return [short_key(f"{posting.idempotency_key}-{c}") for c in currencies]


def json_number(value: Decimal) -> Decimal:
    """The exact decimal; the connector kit writes it as a JSON number (never via a float)."""
    return value


def _journal(
    entry: JournalEntry, lines: Sequence[JournalLine], number: str, books: Books
) -> JournalPlan:
    planned = tuple(
        LinePlan(
            books.accounts(line.account),
            to_decimal(line.amount, line.currency),
            _description(line.memo or entry.memo),
            _dimensions(line, books),
        )
        for line in lines
    )
    return JournalPlan(number, entry.entry_date.isoformat(), planned)


def _invoice(
    entry: JournalEntry,
    currency: str,
    lines: Sequence[JournalLine],
    number: str,
    local: str,
    books: Books,
) -> InvoicePlan | None:
    if not entry.rule.startswith("revenue"):
        return None
    debit = [line for line in lines if line.account == books.invoice_debit_account]
    rest = [line for line in lines if line.account != books.invoice_debit_account]
    customer = books.customers.get(lines[0].channel or "", books.customer)
    if len(debit) != 1 or debit[0].amount <= 0 or not rest or customer is None:
        return None
    invoice_lines = tuple(
        InvoiceLinePlan(
            books.accounts(line.account),
            to_decimal(-line.amount, currency),  # a credit is a positive price
            _description(line.memo or f"{entry.memo}: {line.account}"),
        )
        for line in rest
    )
    code = "" if currency == local else currency
    return InvoicePlan(number, customer, entry.entry_date.isoformat(), code, invoice_lines)


def _dimensions(line: JournalLine, books: Books) -> dict[str, str]:
    out = {}
    for source, code in books.dimensions.items():
        value = getattr(line, source)
        if value:
            out[code] = str(value).upper()[:CODE_LIMIT]
    return out


def _description(text: str) -> str:
    return text[:DESCRIPTION_LIMIT]
