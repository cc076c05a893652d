"""Stripe's itemized payout reconciliation report: one settlement per automatic payout.

The report (``payout_reconciliation.itemized.5``, docs.stripe.com/reports/payout-reconciliation
and /reports/report-types/payout-reconciliation) lists every balance transaction settled in each
automatic payout, one CSV row each, with ``gross``, ``fee`` and ``net`` as major-unit decimals
(unlike the API's integer cents) and a lower-case ``currency``. For every balance transaction
``net = gross - fee`` (API reference, BalanceTransaction.net: "amount - fee"), and the payout
is the sum of the nets of its rows. So a row becomes its gross under the kind its
``reporting_category`` names, plus a FEE line of minus ``fee`` with the same transaction id: a
dispute's 15.00 dispute fee is that row's ``fee``.

Categories (docs.stripe.com/reports/reporting-categories): charge, refund, dispute,
dispute_reversal and fee are mapped by name; everything else (other_adjustment,
partial_capture_reversal, payout_reversal, refund_failure, risk_reserved_funds, tax, topup, ...)
is an ADJUSTMENT carrying its category in the description.

A charge the customer paid in another currency than the payout's (a EUR charge on a USD
account) carries what the customer paid in ``customer_facing_amount`` and
``customer_facing_currency`` (a major-unit decimal and a lower-case code, like ``gross``): it
becomes the line's original amount, signed like ``gross``, so the hub can clear the charge in
the currency it booked it in and realise the exchange difference (docs/multi-currency.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from retailhub.adapters.files.settlements.common import (
    Progress,
    SettlementFileError,
    csv_records,
    csv_row,
    day,
    minor_amount,
    require_columns,
    timestamp,
    utf8_text,
)
from retailhub.domain.money import MoneyError, check_currency, format_minor
from retailhub.domain.settlements import LineKind, Settlement, SettlementLine

GATEWAY = "stripe"

NEEDED = (
    "automatic_payout_id",
    "balance_transaction_id",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
)
# At least one of each pair. The ``_utc`` timestamps come first: the columns without it are in
# the timezone the report was run with, which the file does not name. The payout's effective
# date in UTC is also the right deposit date: Stripe defines automatic_payout_effective_at as
# "the date we expect this automatic payout to arrive in your bank account, in UTC", so in a
# report run for America/New_York the local column reads the evening before.
CREATED = ("created_utc", "created")
EFFECTIVE = ("automatic_payout_effective_at_utc", "automatic_payout_effective_at")

KINDS: dict[str, LineKind] = {
    "charge": LineKind.CHARGE,
    "refund": LineKind.REFUND,
    "dispute": LineKind.CHARGEBACK,
    "dispute_reversal": LineKind.CHARGEBACK_REVERSAL,
    "fee": LineKind.FEE,
}
# The id a matchable line is known by elsewhere in the hub, best first; source_id is the
# balance transaction's source (ch_, re_, dp_, ...) and is always the last resort.
ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "charge": ("charge_id",),
    "refund": ("refund_id",),
    "dispute": ("dispute_id",),
    "dispute_reversal": ("dispute_id",),
}
# A won dispute is expected under "dp_...:reversal" (connectors/stripe: inbound ``_dispute``
# and settlement ``REVERSAL_SUFFIX``); its reversal line carries the same id so they match.
REVERSAL_SUFFIX = ":reversal"
# Order references the merchant put in the payment's metadata (``payment_metadata[KEY]``
# columns appear when the report is run with them).
ORDER_COLUMNS = (
    "payment_metadata[order_id]",
    "payment_metadata[order_number]",
    "payment_metadata[order]",
)


@dataclass
class _Payout:
    payout_id: str
    currency: str
    deposit_date: date | None
    lines: list[SettlementLine] = field(default_factory=list)


def parse(data: bytes, on_progress: Progress | None = None) -> list[Settlement]:
    records = csv_records(utf8_text(data), on_progress)
    header_line, header = next(records, (1, []))
    header = [name.strip() for name in header]
    fmt = "Stripe payout reconciliation report (itemized)"
    require_columns(header, NEEDED, header_line, fmt)
    for utc, local in (CREATED, EFFECTIVE):
        if utc not in header and local not in header:
            raise SettlementFileError(
                header_line, f"not a {fmt} file: missing column {utc} (or {local})"
            )
    payouts: dict[str, _Payout] = {}
    for line, fields in records:
        _take(csv_row(header, fields, line), line, payouts)
    return [
        Settlement(
            gateway=GATEWAY,
            settlement_id=p.payout_id,
            currency=p.currency,
            total=sum(line.amount for line in p.lines),  # the payout is the sum of the nets
            deposit_date=p.deposit_date,
            lines=tuple(p.lines),
        )
        for p in payouts.values()
    ]


def _take(row: dict[str, str], line: int, payouts: dict[str, _Payout]) -> None:
    category = row["reporting_category"].strip()
    payout_id = row["automatic_payout_id"].strip()
    if not payout_id:
        raise SettlementFileError(
            line,
            f"balance transaction {row['balance_transaction_id'].strip()} has no "
            "automatic_payout_id: only automatic payouts can be reconciled from this report",
        )
    if category == "payout":
        return  # the payout's own balance transaction, should the report carry it: not a line
    currency = _currency(row["currency"], line)
    payout = payouts.get(payout_id)
    if payout is None:
        payout = payouts[payout_id] = _Payout(payout_id, currency, _effective(row, line))
    elif payout.currency != currency:
        raise SettlementFileError(
            line,
            f"payout {payout_id} is in {payout.currency} but this row is in {currency}",
        )
    gross = minor_amount(row["gross"], currency, line, "gross")
    fee = minor_amount(row["fee"], currency, line, "fee")
    net = minor_amount(row["net"], currency, line, "net")
    if gross - fee != net:
        raise SettlementFileError(
            line,
            f"gross {row['gross'].strip()} less fee {row['fee'].strip()} is "
            f"{format_minor(gross - fee, currency)}, not the net {row['net'].strip()}",
        )
    kind = KINDS.get(category, LineKind.ADJUSTMENT)
    source = _first(row, (*ID_COLUMNS.get(category, ()), "source_id"))

    original = _customer_facing(row, currency, gross, line)

    def line_of(
        kind: LineKind, amount: int, description: str, converted: bool = False
    ) -> SettlementLine:
        transaction_id = source
        if kind is LineKind.CHARGEBACK_REVERSAL and source:
            transaction_id = source + REVERSAL_SUFFIX
        return SettlementLine(
            gateway=GATEWAY,
            settlement_id=payout_id,
            line_no=line,
            kind=kind,
            amount=amount,
            currency=currency,
            occurred_at=_created(row, line),
            transaction_id=transaction_id,
            order_ref=_first(row, ORDER_COLUMNS),
            description=description,
            original_amount=original[0] if converted and original else None,
            original_currency=original[1] if converted and original else None,
        )

    described = row.get("description", "").strip()
    description = f"{category}: {described}" if described else category
    if kind is LineKind.FEE or fee == 0:
        fee_row = kind is LineKind.FEE
        payout.lines.append(line_of(kind, net if fee_row else gross, description, not fee_row))
        return
    payout.lines.append(line_of(kind, gross, description, True))
    payout.lines.append(line_of(LineKind.FEE, -fee, f"Stripe fee on {category}"))


def _customer_facing(
    row: dict[str, str], currency: str, gross: int, line: int
) -> tuple[int, str] | None:
    """What the customer paid, when it was in another currency than the payout's."""
    code = row.get("customer_facing_currency", "").strip()
    text = row.get("customer_facing_amount", "").strip()
    if not code or not text:
        return None
    original = _currency(code, line)
    if original == currency:
        return None
    amount = abs(minor_amount(text, original, line, "customer_facing_amount"))
    return (-amount if gross < 0 else amount), original


def _first(row: dict[str, str], columns: tuple[str, ...]) -> str | None:
    for column in columns:
        value = row.get(column, "").strip()
        if value:
            return value
    return None


def _created(row: dict[str, str], line: int) -> datetime:
    column = next(c for c in CREATED if c in row)
    return timestamp(row[column], line, column)


def _effective(row: dict[str, str], line: int) -> date | None:
    column = next(c for c in EFFECTIVE if c in row)
    return day(row[column], line, column) if row[column].strip() else None


def _currency(text: str, line: int) -> str:
    try:
        return check_currency(text.strip())
    except MoneyError:
        raise SettlementFileError(
            line, f"currency {text.strip()!r} is not a currency code"
        ) from None
