"""Shopify Payments payouts, from the Admin API's JSON or the admin's transactions CSV export.

Two inputs, told apart by their first character:

* JSON, ``{"payouts": [...], "transactions": [...]}``: the Admin REST ``Payout`` and balance
  ``Transaction`` resources side by side (shopify.dev/docs/api/admin-rest/latest/resources/payouts
  and .../transactions; ``GET shopify_payments/balance/transactions.json?payout_id=...``).
  Money is a decimal string. A transaction has ``amount`` (gross), ``fee`` and ``net``
  (``net = amount - fee``: a dispute is amount -11.50, fee 15.00, net -26.50 in Shopify's own
  example, Shopify/shopify-api-php ``tests/Rest/Admin2023_04/PaymentTransaction202304Test.php``).
  Every payout's ``summary`` breaks it down into ``<bucket>_gross_amount`` and
  ``<bucket>_fee_amount`` with the transactions' signs (charges_fee_amount "1.32" taken,
  refunds_fee_amount "-0.23" given back; the payout is the sum of gross less fee over buckets).
  We check the transactions against that summary, bucket by bucket, and the payout ``amount``
  against the sum of their nets, so a missing page of transactions is refused, not booked.
* CSV, the admin's Finance > Payouts > "Export transactions" file (help.shopify.com, "Viewing
  and exporting your Shopify Payments payout details"): Transaction Date, Type, Order, Card
  Brand, Card Source, Payout Status, Payout Date, Payout ID, Available On, Amount, Fee, Net,
  Checkout, Payment Method Name, Presentment Amount, Presentment Currency, Currency. It has no
  payout totals, so a payout's total is the sum of its nets, and no transaction ids. A row
  whose Presentment Currency differs from its Currency was paid by the customer in another
  currency: its Presentment Amount becomes the line's original amount (docs/multi-currency.md).

Line kinds by transaction ``type``: charge, refund, dispute (a won dispute comes back as a
positive amount: a chargeback reversal), reserve; adjustment, credit, debit, payout_failure and
any other type are adjustments. The ``payout`` transaction is the payout itself, not a line.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

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

GATEWAY = "shopify_payments"

KINDS: dict[str, LineKind] = {
    "charge": LineKind.CHARGE,
    "refund": LineKind.REFUND,
    "dispute": LineKind.CHARGEBACK,
    "reserve": LineKind.RESERVE,
}
PAYOUT = "payout"
# Summary buckets checked one by one; every other bucket (adjustments "including disputes",
# retried payouts, advances, ...) is checked together against all other transaction types,
# because Shopify does not document which type lands in which of those.
BUCKETS: dict[str, str] = {"charge": "charges", "refund": "refunds", "reserve": "reserved_funds"}
OTHERS = "adjustments and other"

CSV_NEEDED = (
    "Transaction Date",
    "Type",
    "Order",
    "Payout ID",
    "Payout Date",
    "Amount",
    "Fee",
    "Net",
    "Currency",
)
# "2024-03-29 10:05:11 -0400" in the export; the API's processed_at is ISO 8601.
CSV_TIMES = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


def parse(data: bytes, on_progress: Progress | None = None) -> list[Settlement]:
    text = utf8_text(data)
    if text.lstrip().startswith("{"):
        return _parse_json(text, on_progress)
    return _parse_csv(text, on_progress)


# --- one payout's lines, whichever input they came from


@dataclass
class _Payout:
    payout_id: str
    currency: str
    deposit_date: date | None
    line: int
    stated: int | None = None  # the payout amount (JSON only)
    lines: list[SettlementLine] = field(default_factory=list)

    def settlement(self) -> Settlement:
        return Settlement(
            gateway=GATEWAY,
            settlement_id=self.payout_id,
            currency=self.currency,
            total=sum(line.amount for line in self.lines) if self.stated is None else self.stated,
            deposit_date=self.deposit_date,
            lines=tuple(self.lines),
        )


@dataclass(frozen=True)
class _Transaction:
    """One balance transaction, whichever input it came from, in minor units."""

    line: int
    where: str  # "$.transactions[3]" or "" for a CSV row: prefixed to field names in errors
    type: str
    gross: int
    fee: int
    net: int
    occurred_at: datetime
    transaction_id: str | None
    order_ref: str | None
    original: tuple[int, str] | None = None  # what the customer paid, in their currency


def _add(payout: _Payout, t: _Transaction) -> None:
    if t.gross - t.fee != t.net:
        raise SettlementFileError(
            t.line,
            f"{t.where}amount {format_minor(t.gross, payout.currency)} less fee "
            f"{format_minor(t.fee, payout.currency)} is "
            f"{format_minor(t.gross - t.fee, payout.currency)}, not the net "
            f"{format_minor(t.net, payout.currency)}",
        )
    kind = KINDS.get(t.type, LineKind.ADJUSTMENT)
    if kind is LineKind.CHARGEBACK and t.gross > 0:
        kind = LineKind.CHARGEBACK_REVERSAL

    def line_of(
        kind: LineKind, amount: int, description: str, gross: bool = True
    ) -> SettlementLine:
        original = t.original if gross else None
        return SettlementLine(
            gateway=GATEWAY,
            settlement_id=payout.payout_id,
            line_no=t.line,
            kind=kind,
            amount=amount,
            currency=payout.currency,
            occurred_at=t.occurred_at,
            transaction_id=t.transaction_id,
            order_ref=t.order_ref,
            description=description,
            original_amount=original[0] if original else None,
            original_currency=original[1] if original else None,
        )

    if t.fee == 0:
        payout.lines.append(line_of(kind, t.gross, t.type))
        return
    payout.lines.append(line_of(kind, t.gross, t.type))
    payout.lines.append(
        line_of(LineKind.FEE, -t.fee, f"Shopify Payments fee on {t.type}", gross=False)
    )


# --- JSON: the Admin REST resources


def _parse_json(text: str, on_progress: Progress | None) -> list[Settlement]:
    try:
        document = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise SettlementFileError(
            exc.lineno, f"not readable JSON ({exc.msg}, column {exc.colno}): is the file cut short?"
        ) from None
    if not (
        isinstance(document, dict)
        and isinstance(document.get("payouts"), list)
        and isinstance(document.get("transactions"), list)
    ):
        raise SettlementFileError(
            1,
            'not a Shopify Payments file: expected {"payouts": [...], "transactions": [...]}',
        )
    lines = _element_lines(text)
    payouts: dict[str, _Payout] = {}
    summaries: dict[str, dict[str, Any]] = {}
    for index, raw in enumerate(document["payouts"]):
        line, where = lines["payouts"][index], f"$.payouts[{index}]"
        payout, summary = _json_payout(raw, line, where)
        if payout.payout_id in payouts:
            raise SettlementFileError(line, f"payout {payout.payout_id} is listed twice")
        payouts[payout.payout_id], summaries[payout.payout_id] = payout, summary
    # per payout: bucket -> [gross, fee], and "payout" -> [line, net] of its own transaction
    sums: dict[str, dict[str, list[int]]] = {p: {} for p in payouts}
    reported = 0
    for index, raw in enumerate(document["transactions"]):
        line, where = lines["transactions"][index], f"$.transactions[{index}]"
        if on_progress is not None and line - reported >= 1000:
            on_progress(line - reported)
            reported = line
        _json_transaction(raw, line, where, payouts, sums)
    for payout_id, payout in payouts.items():
        own = sums[payout_id].pop(PAYOUT, None)
        _check_summary(payout, summaries[payout_id], sums[payout_id])
        if own is not None and own[1] != -(payout.stated or 0):
            # The payout's own transaction takes the whole amount out of the balance.
            raise SettlementFileError(
                own[0],
                f"the payout transaction of payout {payout_id} is "
                f"{format_minor(own[1], payout.currency)}, not minus its amount "
                f"{format_minor(payout.stated or 0, payout.currency)}",
            )
    total_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if on_progress is not None and total_lines > reported:
        on_progress(total_lines - reported)
    return [p.settlement() for p in payouts.values()]


def _json_payout(raw: Any, line: int, where: str) -> tuple[_Payout, dict[str, Any]]:
    if not isinstance(raw, dict):
        raise SettlementFileError(line, f"{where} is not a payout object")
    payout_id = _text(raw, "id", line, where)
    currency = _currency(_text(raw, "currency", line, where), line, f"{where}.currency")
    summary = raw.get("summary")
    if not isinstance(summary, dict):
        raise SettlementFileError(line, f"{where}.summary is missing: payout {payout_id}")
    payout = _Payout(
        payout_id=payout_id,
        currency=currency,
        deposit_date=day(_text(raw, "date", line, where), line, f"{where}.date"),
        line=line,
        stated=_money(raw, "amount", currency, line, where),
    )
    return payout, summary


def _json_transaction(
    raw: Any,
    line: int,
    where: str,
    payouts: dict[str, _Payout],
    sums: dict[str, dict[str, list[int]]],
) -> None:
    if not isinstance(raw, dict):
        raise SettlementFileError(line, f"{where} is not a transaction object")
    if raw.get("test") is True:
        return  # a test-mode transaction never moves real money
    payout_id = raw.get("payout_id")
    if payout_id is None:
        return  # not assigned to a payout yet ("pending"): it will come with a later payout
    payout = payouts.get(str(payout_id))
    if payout is None:
        raise SettlementFileError(
            line, f"{where} belongs to payout {payout_id}, which is not in $.payouts"
        )
    currency = _currency(_text(raw, "currency", line, where), line, f"{where}.currency")
    if currency != payout.currency:
        raise SettlementFileError(
            line, f"{where} is in {currency} but payout {payout_id} is in {payout.currency}"
        )
    kind = _text(raw, "type", line, where)
    gross = _money(raw, "amount", currency, line, where)
    fee = _money(raw, "fee", currency, line, where)
    net = _money(raw, "net", currency, line, where)
    if kind == PAYOUT:
        # The payout's own transaction: checked once the payout itself has been.
        sums[payout.payout_id][PAYOUT] = [line, net]
        return
    order = raw.get("source_order_id")
    bucket = sums[payout.payout_id].setdefault(BUCKETS.get(kind, OTHERS), [0, 0])
    bucket[0] += gross
    bucket[1] += fee
    _add(
        payout,
        _Transaction(
            line=line,
            where=f"{where}.",
            type=kind,
            gross=gross,
            fee=fee,
            net=net,
            occurred_at=timestamp(
                _text(raw, "processed_at", line, where), line, f"{where}.processed_at"
            ),
            # The order transaction is what the hub knows the payment by; the balance
            # transaction's own id is the fallback (reserves, adjustments).
            transaction_id=str(
                raw.get("source_order_transaction_id") or _text(raw, "id", line, where)
            ),
            order_ref=None if order is None else str(order),
        ),
    )


def _check_summary(payout: _Payout, summary: dict[str, Any], sums: dict[str, list[int]]) -> None:
    where = f"payout {payout.payout_id}"
    stated: dict[str, list[int]] = {}
    for key in summary:
        for part, index in (("_gross_amount", 0), ("_fee_amount", 1)):
            if key.endswith(part):
                bucket = key.removesuffix(part)
                bucket = bucket if bucket in BUCKETS.values() else OTHERS
                amount = _money(summary, key, payout.currency, payout.line, f"{where} summary")
                stated.setdefault(bucket, [0, 0])[index] += amount
    for bucket in sorted(set(stated) | set(sums)):
        want, got = stated.get(bucket, [0, 0]), sums.get(bucket, [0, 0])
        for index, what in ((0, "gross"), (1, "fees")):
            if want[index] != got[index]:
                raise SettlementFileError(
                    payout.line,
                    f"{where}: the summary says {bucket} {what} "
                    f"{format_minor(want[index], payout.currency)} but its transactions add up "
                    f"to {format_minor(got[index], payout.currency)}: are transactions missing?",
                )
    explained = sum(line.amount for line in payout.lines)
    if payout.stated != explained:
        raise SettlementFileError(
            payout.line,
            f"{where} is {format_minor(payout.stated or 0, payout.currency)} but its "
            f"transactions add up to {format_minor(explained, payout.currency)}",
        )


def _text(raw: dict[str, Any], key: str, line: int, where: str) -> str:
    value = raw.get(key)
    if value is None or isinstance(value, dict | list) or str(value).strip() == "":
        raise SettlementFileError(line, f"{where}.{key} is missing")
    return str(value).strip()


def _money(raw: dict[str, Any], key: str, currency: str, line: int, where: str) -> int:
    value = raw.get(key)
    if not isinstance(value, str | int | Decimal) or isinstance(value, bool):
        raise SettlementFileError(line, f"{where}.{key} is missing or not an amount")
    return minor_amount(str(value), currency, line, f"{where}.{key}")


def _currency(text: str, line: int, what: str) -> str:
    try:
        return check_currency(text)
    except MoneyError:
        raise SettlementFileError(line, f"{what} {text!r} is not a currency code") from None


_SPACE = re.compile(r"\s*")


def _element_lines(text: str) -> dict[str, list[int]]:
    """The file line each element of the top-level "payouts" and "transactions" lists starts on.

    ``json`` keeps no positions, so the already-validated text is walked once more with
    ``raw_decode``, value by value, at the top level only.
    """
    decoder = json.JSONDecoder()
    newlines = [m.start() for m in re.finditer("\n", text)]
    found: dict[str, list[int]] = {"payouts": [], "transactions": []}

    def skip(at: int) -> int:
        match = _SPACE.match(text, at)
        return match.end() if match else at

    at = skip(0) + 1  # past "{"
    while (at := skip(at)) < len(text) and text[at] != "}":
        key, at = decoder.raw_decode(text, at)
        at = skip(skip(at) + 1)  # past ":"
        if key in found and text[at] == "[":
            at = skip(at + 1)
            while text[at] != "]":
                found[key].append(bisect.bisect_left(newlines, at) + 1)
                _, at = decoder.raw_decode(text, at)
                at = skip(at)
                if text[at] == ",":
                    at = skip(at + 1)
            at += 1
        else:
            _, at = decoder.raw_decode(text, at)
        at = skip(at)
        if at < len(text) and text[at] == ",":
            at += 1
    return found


# --- CSV: the admin's transactions export


def _presentment(row: dict[str, str], currency: str, line: int) -> tuple[int, str] | None:
    """The Presentment Amount when the customer paid in another currency than the payout's."""
    code = row.get("Presentment Currency", "").strip()
    text = row.get("Presentment Amount", "").strip()
    if not code or not text:
        return None
    presentment = _currency(code, line, "Presentment Currency")
    if presentment == currency:
        return None
    return minor_amount(text, presentment, line, "Presentment Amount"), presentment


def _parse_csv(text: str, on_progress: Progress | None) -> list[Settlement]:
    records = csv_records(text, on_progress)
    header_line, header = next(records, (1, []))
    header = [name.strip() for name in header]
    require_columns(header, CSV_NEEDED, header_line, "Shopify Payments transactions export")
    payouts: dict[str, _Payout] = {}
    for line, fields in records:
        row = csv_row(header, fields, line)
        payout_id = row["Payout ID"].strip()
        kind = row["Type"].strip()
        if not payout_id or kind == PAYOUT:
            continue  # pending (no payout yet), or the payout's own row: neither is a line
        currency = _currency(row["Currency"].strip(), line, "Currency")
        payout = payouts.get(payout_id)
        if payout is None:
            payout = payouts[payout_id] = _Payout(
                payout_id=payout_id,
                currency=currency,
                deposit_date=day(row["Payout Date"], line, "Payout Date"),
                line=line,
            )
        elif currency != payout.currency:
            raise SettlementFileError(
                line, f"payout {payout_id} is in {payout.currency} but this row is in {currency}"
            )
        _add(
            payout,
            _Transaction(
                line=line,
                where="",
                type=kind,
                gross=minor_amount(row["Amount"], currency, line, "Amount"),
                fee=minor_amount(row["Fee"], currency, line, "Fee"),
                net=minor_amount(row["Net"], currency, line, "Net"),
                occurred_at=timestamp(row["Transaction Date"], line, "Transaction Date", CSV_TIMES),
                transaction_id=None,  # the export names no transaction
                order_ref=row["Order"].strip() or None,  # the order name, "#1001"
                original=_presentment(row, currency, line),
            ),
        )
    return [p.settlement() for p in payouts.values()]
