"""Adyen's Settlement details report: one settlement per payout batch, costs split from payments.

Adyen writes one CSV row per journal entry booked to a payable batch (docs.adyen.com, "Settlement
details report" > Structure, and its "Journal types" page). Every row carries a net amount in the
settlement ("net") currency, as a debit or a credit, and payment rows also carry the costs Adyen
withheld: Commission, Markup, Scheme Fees, Interchange (columns 17-20). The batch ends with a
``MerchantPayout`` row whose Net Debit is what was sent to the bank; Net Credit minus Net Debit
over the other rows adds up to it (docs: "validate the funds you received").

A payment row becomes two lines, so fees are never netted away inside a charge: the payment
itself (net + costs, i.e. the gross in the net currency; Adyen's Chargeback example books
Gross Debit 349.99, Net Debit 357.49, Commission 7.5) and a FEE line of minus the costs.
We do not recompute the gross from Gross Credit x Exchange Rate: that product is rounded by
Adyen differently from the net, while net + costs is exact in the net currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from retailhub.adapters.files.settlements.common import (
    Progress,
    SettlementFileError,
    csv_records,
    csv_row,
    minor_amount,
    require_columns,
    utf8_text,
)
from retailhub.domain.money import MoneyError, check_currency, format_minor
from retailhub.domain.settlements import LineKind, Settlement, SettlementLine

GATEWAY = "adyen"

NEEDED = (
    "Merchant Account",
    "Psp Reference",
    "Merchant Reference",
    "Creation Date",
    "TimeZone",
    "Type",
    "Net Currency",
    "Net Debit (NC)",
    "Net Credit (NC)",
    "Commission (NC)",
    "Markup (NC)",
    "Scheme Fees (NC)",
    "Interchange (NC)",
    "Batch Number",
)
COSTS = ("Commission (NC)", "Markup (NC)", "Scheme Fees (NC)", "Interchange (NC)")

# Journal types (docs.adyen.com ... settlement-detail-report-structure/journal-types).
# Anything not listed (MatchedStatement, ManualCorrected, BankInstructionReturned, EpaPaid,
# PaidOut, RefundedReversed, journal types Adyen adds later, ...) is an ADJUSTMENT: it is still
# booked, with its journal type in the description, and still counts towards the batch total.
KINDS: dict[str, LineKind] = {
    "Settled": LineKind.CHARGE,
    "Refunded": LineKind.REFUND,
    "Chargeback": LineKind.CHARGEBACK,
    "SecondChargeback": LineKind.CHARGEBACK,  # "unsuccessful defense of a first chargeback"
    "ChargebackReversed": LineKind.CHARGEBACK_REVERSAL,
    "Fee": LineKind.FEE,
    "MiscCosts": LineKind.FEE,
    "InvoiceDeduction": LineKind.FEE,  # "a monthly invoice ... deducted from the account"
    "PaymentCost": LineKind.FEE,  # Klarna late-return fees, ELO arbitration costs
    "AuthorisationSchemeFee": LineKind.FEE,
    # Funds "withheld from/released to the account due to a change in the required security
    # deposit": a reserve in our vocabulary.
    "DepositCorrection": LineKind.RESERVE,
    "ReserveAdjustment": LineKind.RESERVE,
    # A balance carried to / from another batch (docs.adyen.com/reporting/balance-transfers):
    # money that stays with Adyen until a later payout, so it posts like a reserve movement and
    # the two sides cancel across batches instead of hitting profit and loss.
    "Balancetransfer": LineKind.RESERVE,
}
PAYOUT = "MerchantPayout"

# Adyen writes the account's time zone as an abbreviation ("BST, CET, CEST, etc.", structure
# page, column 7). Pairs with a summer label map to their region, so the date decides the offset
# whichever label Adyen printed; labels without daylight saving map to a fixed zone.
ZONES: dict[str, str] = {
    "UTC": "UTC",
    "GMT": "UTC",
    "BST": "Europe/London",
    "WET": "Europe/Lisbon",
    "WEST": "Europe/Lisbon",
    "CET": "Europe/Amsterdam",
    "CEST": "Europe/Amsterdam",
    "EET": "Europe/Helsinki",
    "EEST": "Europe/Helsinki",
    "EST": "America/New_York",
    "EDT": "America/New_York",
    "CST": "America/Chicago",
    "CDT": "America/Chicago",
    "MST": "America/Denver",
    "MDT": "America/Denver",
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "AEST": "Australia/Sydney",
    "AEDT": "Australia/Sydney",
    "NZST": "Pacific/Auckland",
    "NZDT": "Pacific/Auckland",
    "SGT": "Asia/Singapore",
    "HKT": "Asia/Hong_Kong",
    "JST": "Asia/Tokyo",
    "BRT": "America/Sao_Paulo",
}


@dataclass
class _Batch:
    merchant: str
    batch: str
    currency: str
    lines: list[SettlementLine] = field(default_factory=list)
    payout: int | None = None  # minor units sent to the bank, from the MerchantPayout row(s)
    payout_line: int = 0
    deposit_date: date | None = None


def parse(data: bytes, on_progress: Progress | None = None) -> list[Settlement]:
    records = csv_records(utf8_text(data), on_progress)
    header_line, header = next(records, (1, []))
    header = [name.strip() for name in header]
    require_columns(header, NEEDED, header_line, "Settlement details report (Adyen)")
    batches: dict[tuple[str, str, str], _Batch] = {}
    for line, fields in records:
        _take(csv_row(header, fields, line), line, batches)
    currencies: dict[tuple[str, str], int] = {}
    for merchant, batch, _ in batches:
        currencies[(merchant, batch)] = currencies.get((merchant, batch), 0) + 1
    return [
        _settlement(b, several_currencies=currencies[(b.merchant, b.batch)] > 1)
        for b in batches.values()
    ]


def _take(row: dict[str, str], line: int, batches: dict[tuple[str, str, str], _Batch]) -> None:
    journal = row["Type"].strip()
    merchant = row["Merchant Account"].strip()
    batch_no = row["Batch Number"].strip()
    if not batch_no:
        raise SettlementFileError(line, f"the {journal} row has no Batch Number")
    currency = _currency(row["Net Currency"], line)
    key = (merchant, batch_no, currency)
    batch = batches.setdefault(key, _Batch(merchant, batch_no, currency))
    net = _amount(row, "Net Credit (NC)", currency, line) - _amount(
        row, "Net Debit (NC)", currency, line
    )
    booked = _creation(row, line)
    if journal == PAYOUT:
        # The payout is a debit on the batch: what leaves Adyen for the bank.
        batch.payout = (batch.payout or 0) - net
        batch.payout_line = line
        batch.deposit_date = booked.date()  # the local booking date, as on the report
        return
    kind = KINDS.get(journal, LineKind.ADJUSTMENT)
    costs = sum(_amount(row, column, currency, line) for column in COSTS)

    def line_of(kind: LineKind, amount: int, description: str) -> SettlementLine:
        return SettlementLine(
            gateway=GATEWAY,
            settlement_id="",  # set once every batch's currencies are known
            line_no=line,
            kind=kind,
            amount=amount,
            currency=currency,
            occurred_at=booked.astimezone(UTC),
            transaction_id=row["Psp Reference"].strip() or None,
            order_ref=row["Merchant Reference"].strip() or None,
            description=description,
        )

    if kind is LineKind.FEE or costs == 0:
        batch.lines.append(line_of(kind, net, _describe(row)))
        return
    breakdown = ", ".join(
        f"{column.removesuffix(' (NC)').lower()} {row[column].strip()}"
        for column in COSTS
        if _amount(row, column, currency, line)
    )
    batch.lines.append(line_of(kind, net + costs, _describe(row)))
    batch.lines.append(line_of(LineKind.FEE, -costs, f"{journal} costs: {breakdown}"))


def _settlement(batch: _Batch, several_currencies: bool) -> Settlement:
    settlement_id = f"{batch.merchant}:{batch.batch}"
    if several_currencies:
        settlement_id += f":{batch.currency}"
    lines = tuple(replace(line, settlement_id=settlement_id) for line in batch.lines)
    explained = sum(line.amount for line in lines)
    if batch.payout is not None and batch.payout != explained:
        raise SettlementFileError(
            batch.payout_line,
            f"batch {batch.batch} of {batch.merchant}: the rows add up to "
            f"{format_minor(explained, batch.currency)} {batch.currency} but the MerchantPayout "
            f"is {format_minor(batch.payout, batch.currency)} {batch.currency}",
        )
    return Settlement(
        gateway=GATEWAY,
        settlement_id=settlement_id,
        currency=batch.currency,
        # A batch that paid nothing out (a negative balance carried forward, a blocked payout)
        # has no MerchantPayout row: nothing reached the bank beyond what its lines say.
        total=explained if batch.payout is None else batch.payout,
        deposit_date=batch.deposit_date,
        lines=lines,
    )


def _describe(row: dict[str, str]) -> str:
    journal = row["Type"].strip()
    notes = [
        text
        for text in (
            row.get("Modification Reference", "").strip(),
            row.get("Modification Merchant Reference", "").strip(),
        )
        if text and text != journal
    ]
    return f"{journal}: {', '.join(notes)}" if notes else journal


def _amount(row: dict[str, str], column: str, currency: str, line: int) -> int:
    text = row[column]
    return minor_amount(text, currency, line, column) if text.strip() else 0


def _currency(text: str, line: int) -> str:
    try:
        return check_currency(text.strip())
    except MoneyError:
        raise SettlementFileError(
            line, f"Net Currency {text.strip()!r} is not a currency code"
        ) from None


def _creation(row: dict[str, str], line: int) -> datetime:
    """Creation Date in the account's time zone (the TimeZone column), as an aware datetime."""
    text, label = row["Creation Date"].strip(), row["TimeZone"].strip()
    try:
        local = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise SettlementFileError(
            line, f"Creation Date {text!r} is not YYYY-MM-DD HH:MM:SS"
        ) from None
    name = ZONES.get(label.upper(), label)
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettlementFileError(
            line,
            f"TimeZone {label!r} is not one we know; use a region name such as Europe/Amsterdam",
        ) from None
    return local.replace(tzinfo=zone)
