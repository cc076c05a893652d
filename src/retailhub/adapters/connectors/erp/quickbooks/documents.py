"""QuickBooks Online documents built from one currency's lines of a hub journal entry.

Shapes follow Intuit's Accounting API v3 entity reference (JournalEntry, SalesReceipt,
RefundReceipt, Deposit) as python-quickbooks models them (``quickbooks/objects/journalentry.py``,
``salesreceipt.py``, ``refundreceipt.py``, ``deposit.py``):

* **JournalEntry** (always possible): one line per hub line, ``DetailType
  "JournalEntryLineDetail"``, ``PostingType`` Debit or Credit from the sign, ``Amount`` positive.
* **SalesReceipt** (``documents = true``, revenue of an order): the hub's credits are item lines
  (``SalesItemLineDetail.ItemRef`` from ``[erp.quickbooks.items]``: an item's income account is
  what QuickBooks credits), a debit to an income account is the discount line
  (``DiscountLineDetail.DiscountAccountRef``), and the one remaining debit is where the money
  went (``DepositToAccountRef``).
* **RefundReceipt** (a refund): the mirror image — debits are item lines, an income credit is the
  discount line, the one remaining credit is the account refunded from.
* **Deposit** (a settlement): the bank debit is ``DepositToAccountRef``; every other line is a
  ``DepositLineDetail`` line, positive for money in (the clearing account relieved), negative
  for money kept back (fees).

An entry that does not have a receipt's or a deposit's shape (two tenders on one refund, a payout
the gateway took money back in) goes as a JournalEntry instead: the books come out the same,
only the document type differs.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from retailhub.adapters.connectors.erp.accounts import AccountMap
from retailhub.domain.accounts import AccountType, account_type
from retailhub.domain.ledger import JournalEntry, JournalLine
from retailhub.domain.money import to_decimal
from retailhub.services.erp_posting import PostingRejected

JOURNAL = "JournalEntry"
SALES_RECEIPT = "SalesReceipt"
REFUND_RECEIPT = "RefundReceipt"
DEPOSIT = "Deposit"

DOC_NUMBER_MAX = 21  # Intuit: DocNumber "max 21 characters"
TEXT_MAX = 4000  # PrivateNote and line Description
# QuickBooks stores amounts with 15 significant digits; past that it would round them.
_EXACT_DIGITS = 15

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Document:
    """One QuickBooks entity to create: its name (``JournalEntry``) and its JSON body."""

    entity: str
    body: Json


@dataclass(frozen=True, slots=True)
class Dimensions:
    """Hub location -> QuickBooks Department (shown as "Location"), hub channel -> Class.

    Both optional: a location or channel with no mapping is simply not tagged.
    """

    departments: Mapping[str, str]
    classes: Mapping[str, str]

    def department(self, location: str | None) -> Json | None:
        ref = self.departments.get(location) if location else None
        return {"value": ref} if ref else None

    def class_ref(self, channel: str | None) -> Json | None:
        ref = self.classes.get(channel) if channel else None
        return {"value": ref} if ref else None


def amount(minor: int, currency: str) -> Decimal:
    """A positive amount as an exact decimal; the connector kit writes it as the JSON number
    ``59.95`` (never through a float). QuickBooks keeps 15 significant digits."""
    exact = to_decimal(abs(minor), currency)
    if len(exact.as_tuple().digits) > _EXACT_DIGITS:
        raise PostingRejected(f"amount {exact} {currency} is too large for QuickBooks")
    return exact


def doc_number(material: str) -> str:
    """A short number, stable for an entry (and currency): ``RH-`` and 12 base-32 characters."""
    digest = hashlib.sha256(material.encode()).digest()
    number = "RH-" + base64.b32encode(digest).decode()[:12]
    assert len(number) <= DOC_NUMBER_MAX
    return number


class DocumentMapper:
    """Builds the document for one currency group of an entry."""

    def __init__(
        self,
        accounts: AccountMap,
        items: Mapping[str, str],
        dimensions: Dimensions,
        *,
        documents: bool = False,
        bank_account: str = "Assets:Bank",
        item_tax_code: str | None = None,
    ) -> None:
        self.accounts = accounts
        self.items = AccountMap("quickbooks", items)
        self.dimensions = dimensions
        self.documents = documents
        self.bank_account = bank_account
        self.item_tax_code = item_tax_code

    def build(
        self,
        entry: JournalEntry,
        lines: Sequence[JournalLine],
        currency: str,
        home_currency: str,
        split: bool,
    ) -> Document:
        """``split``: the entry spans currencies, so this group's number includes its currency."""
        header: Json = {
            "TxnDate": entry.entry_date.isoformat(),
            "DocNumber": doc_number(f"{entry.key}\x1f{currency}" if split else entry.key),
            "PrivateNote": _note(entry),
        }
        if currency != home_currency:
            header["CurrencyRef"] = {"value": currency}
        kind = self.document_type(entry)
        document = None
        if kind in (SALES_RECEIPT, REFUND_RECEIPT):
            document = self._receipt(kind, entry, lines, currency, header)
        elif kind == DEPOSIT:
            document = self._deposit(entry, lines, currency, header)
        return document or self._journal(entry, lines, currency, header)

    def document_type(self, entry: JournalEntry) -> str:
        """The document an entry would like to be, before its shape is checked."""
        if not self.documents or entry.reverses is not None:
            return JOURNAL
        kind, rule = entry.source.kind, entry.rule
        if kind in ("order", "fulfilment") and rule.startswith("revenue"):
            return SALES_RECEIPT
        if kind == "refund" and rule == "refund":
            return REFUND_RECEIPT
        if kind == "settlement" and rule == "settlement":
            return DEPOSIT
        return JOURNAL

    # -- JournalEntry ------------------------------------------------------------------------

    def _journal(
        self, entry: JournalEntry, lines: Sequence[JournalLine], currency: str, header: Json
    ) -> Document:
        body_lines = []
        for line in lines:
            detail: Json = {
                "PostingType": "Debit" if line.amount > 0 else "Credit",
                "AccountRef": {"value": self.accounts(line.account)},
            }
            _put(detail, "ClassRef", self.dimensions.class_ref(line.channel))
            _put(detail, "DepartmentRef", self.dimensions.department(line.location))
            body_lines.append(
                {
                    "Description": _description(entry, line),
                    "Amount": amount(line.amount, currency),
                    "DetailType": "JournalEntryLineDetail",
                    "JournalEntryLineDetail": detail,
                }
            )
        return Document(JOURNAL, {**header, "Line": body_lines})

    # -- SalesReceipt / RefundReceipt ---------------------------------------------------------

    def _receipt(
        self,
        kind: str,
        entry: JournalEntry,
        lines: Sequence[JournalLine],
        currency: str,
        header: Json,
    ) -> Document | None:
        # A sale takes money in (a debit); a refund pays it out (a credit).
        money_sign = 1 if kind == SALES_RECEIPT else -1
        products = [line for line in lines if line.amount * money_sign < 0]
        rest = [line for line in lines if line.amount * money_sign > 0]
        discounts = [line for line in rest if account_type(line.account) is AccountType.INCOME]
        money = [line for line in rest if account_type(line.account) is not AccountType.INCOME]
        if len(money) != 1 or len(discounts) > 1 or not products:
            return None
        body_lines = [self._item_line(entry, line, currency) for line in products]
        body_lines += [self._discount_line(entry, line, currency) for line in discounts]
        body: Json = {
            **header,
            "DepositToAccountRef": {"value": self.accounts(money[0].account)},
            "Line": body_lines,
        }
        _put(body, "DepartmentRef", self.dimensions.department(_location(money[0], lines)))
        return Document(kind, body)

    def _item_line(self, entry: JournalEntry, line: JournalLine, currency: str) -> Json:
        value = amount(line.amount, currency)
        detail: Json = {"ItemRef": {"value": self._item(line.account)}, "Qty": 1}
        detail["UnitPrice"] = value
        _put(detail, "ClassRef", self.dimensions.class_ref(line.channel))
        if self.item_tax_code:
            detail["TaxCodeRef"] = {"value": self.item_tax_code}
        return {
            "Description": _description(entry, line),
            "Amount": value,
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": detail,
        }

    def _discount_line(self, entry: JournalEntry, line: JournalLine, currency: str) -> Json:
        detail: Json = {
            "PercentBased": False,
            "DiscountAccountRef": {"value": self.accounts(line.account)},
        }
        _put(detail, "ClassRef", self.dimensions.class_ref(line.channel))
        return {
            "Description": _description(entry, line),
            "Amount": amount(line.amount, currency),
            "DetailType": "DiscountLineDetail",
            "DiscountLineDetail": detail,
        }

    def _item(self, account: str) -> str:
        try:
            return self.items(account)
        except PostingRejected:
            raise PostingRejected(
                f"account {account!r} has no QuickBooks item to sell or refund it through: add "
                "one (or a parent) under [erp.quickbooks.items] in retailhub.toml",
                code="unmapped_item",
            ) from None

    # -- Deposit -----------------------------------------------------------------------------

    def _deposit(
        self, entry: JournalEntry, lines: Sequence[JournalLine], currency: str, header: Json
    ) -> Document | None:
        bank = [line for line in lines if _under(line.account, self.bank_account)]
        others = [line for line in lines if not _under(line.account, self.bank_account)]
        # A payout the gateway clawed money back in (a negative deposit) is no Deposit.
        if len(bank) != 1 or bank[0].amount <= 0 or not others:
            return None
        body_lines = []
        for line in others:
            detail: Json = {"AccountRef": {"value": self.accounts(line.account)}}
            _put(detail, "ClassRef", self.dimensions.class_ref(line.channel))
            value = amount(line.amount, currency)
            body_lines.append(
                {
                    "Description": _description(entry, line),
                    # Money in (a credit to clearing) is a positive line; a fee kept back, negative.
                    "Amount": value if line.amount < 0 else -value,
                    "DetailType": "DepositLineDetail",
                    "DepositLineDetail": detail,
                }
            )
        body: Json = {
            **header,
            "DepositToAccountRef": {"value": self.accounts(bank[0].account)},
            "Line": body_lines,
        }
        _put(body, "DepartmentRef", self.dimensions.department(_location(bank[0], lines)))
        return Document(DEPOSIT, body)


def _put(target: Json, key: str, value: Json | None) -> None:
    if value is not None:
        target[key] = value


def _note(entry: JournalEntry) -> str:
    """The memo and, always whole, the entry's key: what a bookkeeper searches for."""
    key = f" | retailhub {entry.key}"
    return entry.memo[: TEXT_MAX - len(key)] + key


def _description(entry: JournalEntry, line: JournalLine) -> str:
    return (line.memo or entry.memo)[:TEXT_MAX]


def _under(account: str, prefix: str) -> bool:
    return account == prefix or account.startswith(prefix + ":")


def _location(money: JournalLine, lines: Sequence[JournalLine]) -> str | None:
    """The receipt's location: the money line's, else the one location every line shares."""
    if money.location:
        return money.location
    found = {line.location for line in lines}
    return found.pop() if len(found) == 1 else None
