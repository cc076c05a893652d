"""Hub journal entries as the Xero documents that carry them.

By default every entry becomes one **ManualJournal** (``PUT /ManualJournals``): ``JournalLines``
with a signed ``LineAmount`` (debit positive, credit negative, as the hub's own lines),
``LineAmountTypes: NoTax`` (the hub already split tax onto its own lines, Xero must not add more)
and ``Status: POSTED``. With ``documents = true`` the entries finance reads as business documents
go as such:

* recognised revenue (rules ``revenue`` / ``revenue-at-order:…``) → an ACCREC **Invoice** whose
  line items credit sales, tax, shipping (discounts as negative lines), then one **Payment** per
  account the entry debits among ``payment_accounts`` (customer deposits, gateway clearing):
  invoice and payments together post exactly the entry's lines, through Accounts Receivable;
* settlements → a RECEIVE **BankTransaction** for what the entry credits (clearing) and a SPEND
  one for what it debits (fees, commissions, reserves), both on the bank account the payout
  landed in: received less spent is the deposit;
* everything else, refunds included, stays a ManualJournal. A refund reverses revenue, tax,
  shipping and the refund adjustment line in the original sale's context, often for part of an
  order at another store; a credit note would need allocating to one invoice and a refund
  payment, and could not carry those lines exactly. An entry that does not fit its document
  (no bank line, nothing to pay, a negative total) falls back to a journal the same way.

Each currency group of an entry is posted on its own (the hub balances per currency). Xero's
manual journals have no currency — they are always in the organisation's base currency — so an
entry with a journal in another currency is refused before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from retailhub.adapters.connectors.erp.accounts import AccountMap
from retailhub.domain.ledger import JournalEntry, JournalLine
from retailhub.domain.money import format_minor
from retailhub.services.erp_posting import OutboundPosting, PostingRejected

ENDPOINTS = {
    "ManualJournal": "ManualJournals",
    "Invoice": "Invoices",
    "Payment": "Payments",
    "BankTransaction": "BankTransactions",
}
# The dimensions a hub line carries that can become Xero tracking categories.
DIMENSIONS = ("location", "channel", "brand")


@dataclass(frozen=True)
class XeroMapping:
    """How the hub's accounts and dimensions map onto one Xero organisation."""

    accounts: AccountMap
    documents: bool = False
    contact: str = "Retail Customers"
    payment_accounts: tuple[str, ...] = ("Liabilities:Customer-Deposits", "Assets:Clearing")
    bank_accounts: tuple[str, ...] = ("Assets:Bank",)
    base_currency: str | None = None  # None: the hub's functional currency
    tracking: Mapping[str, str] = field(default_factory=dict)  # dimension -> category name
    tracking_options: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Document:
    """One Xero write: its type, body (one element), idempotency key and how to find it again.

    ``lookup`` is a Xero ``where`` filter matching only this document (its narration or
    reference, which carry the entry's key). A Payment's invoice is only known once the invoice
    exists, so ``pays_invoice`` marks a body that still needs ``Invoice.InvoiceID``.
    """

    kind: str
    key: str
    body: dict[str, Any]
    lookup: str
    pays_invoice: bool = False

    @property
    def endpoint(self) -> str:
        return ENDPOINTS[self.kind]

    def body_for(self, invoice_id: str | None) -> dict[str, Any]:
        if not self.pays_invoice:
            return self.body
        if invoice_id is None:
            raise ValueError("a payment needs its invoice first")
        return {"Invoice": {"InvoiceID": invoice_id}, **self.body}


@dataclass(frozen=True)
class Group:
    """The documents for one currency of an entry; the first is the one the hub records."""

    currency: str
    documents: tuple[Document, ...]

    @property
    def kind(self) -> str:
        return self.documents[0].kind


def plan(posting: OutboundPosting, mapping: XeroMapping) -> list[Group]:
    """Every document the posting needs, checked (accounts, currency) before anything is sent."""
    entry = posting.entry
    currencies = list(dict.fromkeys(line.currency for line in entry.lines))
    base = mapping.base_currency or posting.functional_currency
    groups = []
    for currency in currencies:
        lines = [line for line in entry.lines if line.currency == currency]
        multi = len(currencies) > 1
        key = f"{posting.idempotency_key}-{currency}" if multi else posting.idempotency_key
        reference = f"{entry.key} {currency}" if multi else entry.key
        docs = _business_documents(entry, lines, currency, key, reference, mapping)
        if docs is None:
            if currency != base:
                raise PostingRejected(
                    f"Xero manual journals are always in the organisation's base currency "
                    f"({base}); the {currency} lines of {entry.memo} need a {currency} document "
                    f"or converting first",
                    "ManualJournal",
                    "currency_not_base",
                )
            docs = (_manual_journal(entry, lines, key, reference, mapping),)
        groups.append(Group(currency, docs))
    return groups


def xero_date(day: date) -> str:
    """Xero's JSON date, ``/Date(<ms since epoch>)/`` at midnight UTC.

    What xero-python's serializer sends for ``date[ms-format]`` fields (Xero also reads
    ``YYYY-MM-DD``, and answers ``/Date(…+0000)/``); using it keeps our bodies identical to what
    Xero's own SDK would send.
    """
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return f"/Date({int(midnight.timestamp()) * 1000})/"


def amount(minor: int, currency: str) -> Decimal:
    """The exact decimal for ``minor`` units; the connector kit writes it as a JSON number
    spelled as ``format_minor`` spells it (never through a float)."""
    return Decimal(format_minor(minor, currency))


def _manual_journal(
    entry: JournalEntry, lines: list[JournalLine], key: str, reference: str, mapping: XeroMapping
) -> Document:
    narration = f"{entry.memo} [{reference}]"
    body = {
        "Narration": narration,
        "Date": xero_date(entry.entry_date),
        "Status": "POSTED",
        "LineAmountTypes": "NoTax",
        "JournalLines": [
            {
                "LineAmount": amount(line.amount, line.currency),
                "AccountCode": mapping.accounts(line.account),
                "Description": _description(line),
                **_tracking(line, mapping),
            }
            for line in lines
        ],
    }
    return Document("ManualJournal", key, body, f"Narration=={_quoted(narration)}")


def _business_documents(
    entry: JournalEntry,
    lines: list[JournalLine],
    currency: str,
    key: str,
    reference: str,
    mapping: XeroMapping,
) -> tuple[Document, ...] | None:
    if not mapping.documents:
        return None
    if entry.rule == "revenue" or entry.rule.startswith("revenue-"):
        return _invoice_and_payments(entry, lines, currency, key, reference, mapping)
    if entry.rule == "settlement":
        return _bank_transactions(entry, lines, currency, key, reference, mapping)
    return None


def _invoice_and_payments(
    entry: JournalEntry,
    lines: list[JournalLine],
    currency: str,
    key: str,
    reference: str,
    mapping: XeroMapping,
) -> tuple[Document, ...] | None:
    paid, items = _split(
        lines, lambda ln: ln.amount > 0 and _under(ln.account, mapping.payment_accounts)
    )
    # The invoice total is what the entry credits net of its other debits (discounts); it equals
    # what the payments bring in because the entry balances.
    if not paid or not items or -sum(ln.amount for ln in items) <= 0:
        return None
    day = xero_date(entry.entry_date)
    invoice = {
        "Type": "ACCREC",
        "Contact": {"Name": mapping.contact},
        "Date": day,
        "DueDate": day,
        "Status": "AUTHORISED",
        "LineAmountTypes": "NoTax",
        "CurrencyCode": currency,
        "Reference": reference,
        "LineItems": [_line_item(ln, -ln.amount, mapping) for ln in items],
    }
    docs = [Document("Invoice", key, invoice, f"Reference=={_quoted(reference)}")]
    by_account: dict[str, int] = {}
    for ln in paid:
        code = mapping.accounts(ln.account)
        by_account[code] = by_account.get(code, 0) + ln.amount
    for n, (code, minor) in enumerate(by_account.items(), start=1):
        ref = f"{reference} #{n}"
        payment = {
            "Account": {"Code": code},
            "Date": day,
            "Amount": amount(minor, currency),
            "Reference": ref,
        }
        lookup = f"Reference=={_quoted(ref)}"
        docs.append(Document("Payment", f"{key}-payment-{n}", payment, lookup, pays_invoice=True))
    return tuple(docs)


def _bank_transactions(
    entry: JournalEntry,
    lines: list[JournalLine],
    currency: str,
    key: str,
    reference: str,
    mapping: XeroMapping,
) -> tuple[Document, ...] | None:
    bank, others = _split(lines, lambda ln: _under(ln.account, mapping.bank_accounts))
    codes = {mapping.accounts(ln.account) for ln in bank}
    if len(codes) != 1:  # no bank line, or a payout split over two banks: a journal says it
        return None
    (bank_code,) = codes
    day = xero_date(entry.entry_date)
    docs: list[Document] = []
    # RECEIVE credits its lines and debits the bank; SPEND debits its lines and credits the bank.
    for kind, chosen, sign, suffix in (
        ("RECEIVE", [ln for ln in others if ln.amount < 0], -1, ""),
        ("SPEND", [ln for ln in others if ln.amount > 0], 1, "-spend"),
    ):
        if not chosen:
            continue
        ref = reference if kind == "RECEIVE" else f"{reference} SPEND"
        body = {
            "Type": kind,
            "Contact": {"Name": mapping.contact},
            "BankAccount": {"Code": bank_code},
            "Date": day,
            "Reference": ref,
            "Status": "AUTHORISED",
            "LineAmountTypes": "NoTax",
            "CurrencyCode": currency,
            "LineItems": [_line_item(ln, sign * ln.amount, mapping) for ln in chosen],
        }
        doc_key = key if not docs else f"{key}{suffix}"
        docs.append(Document("BankTransaction", doc_key, body, f"Reference=={_quoted(ref)}"))
    return tuple(docs) or None


def _line_item(line: JournalLine, minor: int, mapping: XeroMapping) -> dict[str, Any]:
    return {
        "Description": _description(line),
        "Quantity": 1,
        "UnitAmount": amount(minor, line.currency),
        "AccountCode": mapping.accounts(line.account),
        **_tracking(line, mapping),
    }


def _description(line: JournalLine) -> str:
    # The hub's account name stays visible in Xero, so a mapping can be audited from either side.
    return f"{line.account}: {line.memo}" if line.memo else line.account


def _tracking(line: JournalLine, mapping: XeroMapping) -> dict[str, Any]:
    options = []
    for dimension in DIMENSIONS:
        category = mapping.tracking.get(dimension)
        value = getattr(line, dimension)
        if category and value:
            option = mapping.tracking_options.get(dimension, {}).get(value, value)
            options.append({"Name": category, "Option": option})
    return {"Tracking": options} if options else {}


def _split(
    lines: list[JournalLine], chosen: Callable[[JournalLine], bool]
) -> tuple[list[JournalLine], list[JournalLine]]:
    yes: list[JournalLine] = []
    no: list[JournalLine] = []
    for line in lines:
        (yes if chosen(line) else no).append(line)
    return yes, no


def _under(account: str, prefixes: tuple[str, ...]) -> bool:
    return any(account == p or account.startswith(f"{p}:") for p in prefixes)


def _quoted(value: str) -> str:
    """A string literal for Xero's ``where`` filter (C#-like: backslash escapes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
