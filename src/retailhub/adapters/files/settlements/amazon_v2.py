"""Amazon Settlement Report V2 flat file: one settlement period, one row per amount component.

Amazon pays a seller once per settlement period (usually 14 days) and describes the payout in
``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2``: tab-separated text, a header row of column
names, then a *summary row* (settlement id, period, deposit date, ``total-amount``, currency,
nothing else) followed by one row per amount component. A single order line therefore spreads
over several rows (ItemPrice/Principal, ItemPrice/Tax, ItemFees/Commission,
ItemFees/FBAPerUnitFulfillmentFee, ItemWithheldTax/MarketplaceFacilitatorTax-Principal, …),
and every row becomes its own ``SettlementLine`` so fees are never netted into a sale.

Sources: the Seller Central "Payments report" field definitions (settlement-id … promotion-id;
sellercentral.amazon.in help item 791), the airbyte schema for
``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2``, and the V1-to-V2 mapping guide at
help.intentwise.com (amount-type / amount-description / amount triplet). Locale quirks
(``15.01.2023 08:00:00 UTC``, ``1.234,56``) are observed in EU files, not documented; the
shared parsers in ``common`` handle them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from retailhub.adapters.files.settlements.common import (
    Progress,
    SettlementFileError,
    day,
    decimal_amount,
    require_columns,
    timestamp,
)
from retailhub.domain.money import MoneyError, check_currency, exponent, to_minor
from retailhub.domain.settlements import LineKind, Settlement, SettlementLine

GATEWAY = "amazon"
PROGRESS_EVERY = 1000

# The V2 columns in Amazon's order (airbyte schema; Seller Central field definitions).
V2_COLUMNS = (
    "settlement-id",
    "settlement-start-date",
    "settlement-end-date",
    "deposit-date",
    "total-amount",
    "currency",
    "transaction-type",
    "order-id",
    "merchant-order-id",
    "adjustment-id",
    "shipment-id",
    "marketplace-name",
    "amount-type",
    "amount-description",
    "amount",
    "fulfillment-id",
    "posted-date",
    "posted-date-time",
    "order-item-code",
    "merchant-order-item-id",
    "merchant-adjustment-item-id",
    "sku",
    "quantity-purchased",
    "promotion-id",
)
# What the reader cannot do without; older exports lack posted-date-time or promotion-id.
REQUIRED = (
    "settlement-id",
    "settlement-start-date",
    "settlement-end-date",
    "deposit-date",
    "total-amount",
    "currency",
    "transaction-type",
    "order-id",
    "adjustment-id",
    "amount-type",
    "amount-description",
    "amount",
    "posted-date",
)
# The V1 flat file spreads amounts over price-type/-amount, item-related-fee-type/-amount, …
# pairs instead (airbyte GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE.json); say so plainly.
_V1_MARKERS = ("price-type", "item-related-fee-type")

# Reserve rows ride the generic "other-transaction" type (or a blank one) and are named only by
# amount-description; V1-era exports put the name in transaction-type instead.
_RESERVE = frozenset({"previous reserve amount balance", "current reserve amount"})
# Amount types that carry Amazon's selling fees on an order or refund (Seller Central help:
# ItemFees = Commission, FBAPerUnitFulfillmentFee, ShippingHB, RefundCommission, …).
_SELLING_FEES = frozenset({"itemfees", "shipmentfees", "orderfees"})
# Words that mark an account-level charge (Subscription Fee, Storage Fee, StorageRenewalBilling,
# DisposalComplete, Cost of Advertising, Shipping label purchase, Vine Enrollment Fee, …).
_FEE_WORDS = ("fee", "advertis", "storage", "shipping label", "disposal", "removal", "subscription")


def parse(data: bytes, on_progress: Progress | None = None) -> list[Settlement]:
    """Every settlement in an Amazon V2 flat file, or ``SettlementFileError`` naming the line."""
    lines = _text_lines(data)
    columns = _header(lines)
    ticker = _Ticker(on_progress)
    ticker.tick()  # the header
    settlements: list[Settlement] = []
    current: _OpenSettlement | None = None
    for line_no, text in enumerate(lines[1:], start=2):
        ticker.tick()
        if not text.strip():
            continue
        row = _Row.split(text, columns, line_no)
        if _is_summary(row):
            if current is not None:
                settlements.append(current.close())
            current = _OpenSettlement.from_summary(row)
        elif current is None:
            raise SettlementFileError(
                line_no,
                "the first data row must be the settlement summary (settlement-id, dates, "
                "total-amount, currency and nothing else); this file has none",
            )
        else:
            current.add(row)
    ticker.flush()
    if current is None:
        raise SettlementFileError(
            max(len(lines), 1), "the file has a header but no settlement summary row"
        )
    settlements.append(current.close())
    return settlements


def _text_lines(data: bytes) -> list[str]:
    try:
        # utf-8-sig drops the byte order mark some downloads start with.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SettlementFileError(line, "the file is not UTF-8 text") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _header(lines: list[str]) -> dict[str, int]:
    if not lines or not lines[0].strip():
        raise SettlementFileError(1, "the file is empty: expected the V2 header row")
    names = [name.strip().lower() for name in lines[0].split("\t")]
    while names and not names[-1]:  # trailing tabs after the last column name
        names.pop()
    if any(marker in names for marker in _V1_MARKERS):
        raise SettlementFileError(
            1,
            "this is Amazon's older V1 settlement flat file (price-type / item-related-fee-type "
            "columns); download the 'Flat File V2' version of the report instead",
        )
    require_columns(names, REQUIRED, 1, "Amazon settlement V2")
    return {name: index for index, name in reversed(list(enumerate(names)))}


@dataclass(frozen=True, slots=True)
class _Row:
    line_no: int
    values: dict[str, str]

    @classmethod
    def split(cls, text: str, columns: dict[str, int], line_no: int) -> _Row:
        fields = text.split("\t")
        width = max(columns.values()) + 1
        if len(fields) < width:
            raise SettlementFileError(
                line_no,
                f"the row has {len(fields)} of the {width} columns in the header: "
                "the file looks cut off here",
            )
        if any(extra.strip() for extra in fields[width:]):
            raise SettlementFileError(
                line_no, f"the row has values beyond the header's {width} columns"
            )
        return cls(line_no, {name: fields[index].strip() for name, index in columns.items()})

    def get(self, name: str) -> str:
        return self.values.get(name, "")


def _is_summary(row: _Row) -> bool:
    return bool(row.get("total-amount")) and not row.get("transaction-type")


@dataclass
class _OpenSettlement:
    settlement_id: str
    currency: str
    total: int
    deposit_date: date | None
    period_start: datetime
    period_end: datetime
    lines: list[SettlementLine] = field(default_factory=list)

    @classmethod
    def from_summary(cls, row: _Row) -> _OpenSettlement:
        line = row.line_no
        settlement_id = row.get("settlement-id")
        if not settlement_id:
            raise SettlementFileError(line, "the summary row has no settlement-id")
        try:
            currency = check_currency(row.get("currency"))
        except MoneyError as exc:
            raise SettlementFileError(line, f"currency: {exc}") from None
        deposit = row.get("deposit-date")
        return cls(
            settlement_id=settlement_id,
            currency=currency,
            total=_minor(row.get("total-amount"), currency, line, "total-amount"),
            deposit_date=day(deposit, line, "deposit-date") if deposit else None,
            period_start=timestamp(row.get("settlement-start-date"), line, "settlement-start-date"),
            period_end=timestamp(row.get("settlement-end-date"), line, "settlement-end-date"),
        )

    def add(self, row: _Row) -> None:
        line = row.line_no
        if row.get("settlement-id") not in ("", self.settlement_id):
            raise SettlementFileError(
                line,
                f"settlement-id {row.get('settlement-id')} differs from the summary's "
                f"{self.settlement_id} with no summary row of its own",
            )
        if row.get("currency") not in ("", self.currency):
            raise SettlementFileError(
                line, f"currency {row.get('currency')} differs from the summary's {self.currency}"
            )
        kind = classify(
            row.get("transaction-type"), row.get("amount-type"), row.get("amount-description")
        )
        self.lines.append(
            SettlementLine(
                gateway=GATEWAY,
                settlement_id=self.settlement_id,
                line_no=line,
                kind=kind,
                amount=_minor(row.get("amount"), self.currency, line, "amount"),
                currency=self.currency,
                occurred_at=self._posted(row),
                # Refunds and other adjustments carry their own adjustment-id; orders only
                # their order-id (Seller Central field definitions).
                transaction_id=row.get("adjustment-id") or row.get("order-id") or None,
                order_ref=row.get("order-id") or None,
                description=_describe(row),
            )
        )

    def _posted(self, row: _Row) -> datetime:
        if row.get("posted-date-time"):
            return timestamp(row.get("posted-date-time"), row.line_no, "posted-date-time")
        if row.get("posted-date"):
            return timestamp(row.get("posted-date"), row.line_no, "posted-date")
        # Some reserve rows come without a posting date; Amazon books them at period end.
        return self.period_end

    def close(self) -> Settlement:
        return Settlement(
            gateway=GATEWAY,
            settlement_id=self.settlement_id,
            currency=self.currency,
            total=self.total,
            deposit_date=self.deposit_date,
            lines=tuple(self.lines),
            period_start=self.period_start,
            period_end=self.period_end,
        )


def classify(transaction_type: str, amount_type: str, description: str) -> LineKind:
    """The kind of one V2 amount component, from its transaction-type / amount-type / description."""
    tt, at, desc = (value.strip().lower() for value in (transaction_type, amount_type, description))
    if _RESERVE & {tt, at, desc}:
        return LineKind.RESERVE
    if tt.startswith("chargeback"):  # "Chargeback Refund": a card or A-to-z chargeback
        if at in _SELLING_FEES:
            return LineKind.COMMISSION  # the commission Amazon hands back with it
        return LineKind.ADJUSTMENT if at == "itemwithheldtax" else LineKind.CHARGEBACK
    if tt in ("order", "refund"):
        if at in ("itemprice", "promotion"):
            return LineKind.CHARGE if tt == "order" else LineKind.REFUND
        if at in _SELLING_FEES:
            return LineKind.COMMISSION
        # ItemWithheldTax: marketplace facilitator tax Amazon collects and remits itself.
        return LineKind.ADJUSTMENT
    text = f"{tt} {at} {desc}"
    if tt == "servicefee" or any(word in text for word in _FEE_WORDS):
        return LineKind.FEE
    return LineKind.ADJUSTMENT


def _describe(row: _Row) -> str:
    parts = [row.get("transaction-type") or "other-transaction"]
    parts.append("/".join(part for part in (row.get("amount-type"), row.get("amount-description"))))
    if row.get("sku"):
        parts.append(f"sku {row.get('sku')}")
    return " ".join(part for part in parts if part)


def _minor(text: str, currency: str, line: int, what: str) -> int:
    """Exact minor units; more decimals than the currency has means we misread the locale."""
    value = decimal_amount(text, line, what)
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise SettlementFileError(
            line, f"{what} {text.strip()!r} has more decimals than {currency} allows"
        )
    return to_minor(value, currency)


class _Ticker:
    """Reports lines consumed to ``on_progress`` every ``PROGRESS_EVERY`` lines and at the end."""

    def __init__(self, on_progress: Progress | None) -> None:
        self._on_progress = on_progress
        self._pending = 0

    def tick(self) -> None:
        self._pending += 1
        if self._pending >= PROGRESS_EVERY:
            self.flush()

    def flush(self) -> None:
        if self._on_progress is not None and self._pending:
            self._on_progress(self._pending)
        self._pending = 0
