"""One POS record: checked, normalised, and encoded as the canonical bytes the inbox stores.

``parse_record`` takes a record as plain data (a decoded JSON line, or the dict a CSV reader
built from a record's rows) and returns the typed record with every value checked: codes,
aware timestamps, exact amounts, tenders that add up. It also normalises what two spellings
could say alike (``"12.5"`` → ``"12.50"``, ``"usd"`` → ``"USD"``, ``Z`` → ``+00:00``), so
``canonical_body`` gives the same bytes for the same record whatever file it came in — the
fingerprint the sequence checks compare. ``decode_body`` reads those bytes back, checking
again: a stored body may have been replayed or edited since.

Every problem is a ``RecordError`` carrying the JSON path it is about (``$.lines[1].quantity``);
the file reader turns the path into a file line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar, get_args

import msgspec

from retailhub.adapters.connectors.pos import shapes as s
from retailhub.domain.money import MoneyError, check_currency, exponent, format_minor, to_minor

__all__ = [
    "RecordError",
    "canonical_body",
    "decode_body",
    "minor",
    "parse_record",
    "returned_total",
    "sold_total",
]

# Store, register and receipt codes become parts of ids joined with ":" ("SPR01:R1:7"), so a
# code may hold neither a colon nor white space.
_CODE = re.compile(r"[^:\s]{1,64}")
_ORIGINAL = re.compile(r"(?:(?P<store>[^:\s]{1,64}):)?(?P<receipt>[^:\s]{1,64})")
_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

R = TypeVar("R", bound=s.Record)
_CHOICES: dict[str, tuple[str, ...]] = {
    "method": get_args(s.TenderMethodName),
    "disposition": get_args(s.DispositionName),
}


class RecordError(ValueError):
    """A record that breaks the format; ``path`` is the JSON path of the offending value."""

    def __init__(self, message: str, path: str = "$") -> None:
        super().__init__(f"{message} (at `{path}`)")
        self.message = message
        self.path = path


def parse_record(data: Any) -> s.AnyRecord:
    """The record in ``data``, checked and normalised; ``RecordError`` says what is wrong."""
    if not isinstance(data, dict):
        raise RecordError(f"a record must be an object, not {type(data).__name__}")
    kind = data.get("type")
    if kind is None:
        raise RecordError("the record has no `type`")
    if kind not in s.RECORD_TYPES:
        raise RecordError(
            f"unknown record type {kind!r}; expected one of {', '.join(s.RECORD_TYPES)}",
            "$.type",
        )
    try:
        record: s.AnyRecord = msgspec.convert(data, s.AnyRecord)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).partition(" - at `")
        path = where.rstrip("`") or "$"
        if "Expected `str`, got `float`" in message or "Expected `str`, got `int`" in message:
            message += ' (amounts are decimal strings such as "12.50")'
        if message.startswith("Invalid enum value"):
            field = path.rpartition(".")[2]
            message += f"; expected one of {', '.join(_CHOICES.get(field, ()))}"
        raise RecordError(message, path) from None
    return _normalise(record)


def canonical_body(record: s.Record) -> bytes:
    """Sorted keys, defaults left out: equal records give equal bytes."""
    return msgspec.json.encode(record, order="sorted")


def decode_body(body: bytes) -> s.AnyRecord:
    """A stored body back to its record, checked again."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise RecordError(f"not valid JSON: {exc}") from None
    return parse_record(data)


# -- amounts ------------------------------------------------------------------------------


def minor(value: str, currency: str, path: str, *, signed: bool = False) -> int:
    """A decimal string in minor units, exact: ``"12.505"`` in USD is refused, not rounded."""
    if not _DECIMAL.fullmatch(value):
        raise RecordError(f"{value!r} is not a decimal amount such as 12.50", path)
    amount = Decimal(value)
    places = exponent(currency)
    if amount.scaleb(places) != amount.scaleb(places).to_integral_value():
        raise RecordError(f"{value} has more decimals than {currency} allows ({places})", path)
    result = to_minor(amount, currency)
    if result < 0 and not signed:
        raise RecordError(f"{value} cannot be negative", path)
    return result


def sold_total(lines: Iterable[s.SaleLine], currency: str, taxes_included: bool) -> int:
    """What the customer owes for sale lines: price × quantity − discount (+ tax unless included)."""
    total = 0
    for line in lines:
        total += line.quantity * minor(line.unit_price, currency, "$")
        total -= minor(line.discount, currency, "$") if line.discount else 0
        if not taxes_included:
            total += sum(minor(t.amount, currency, "$") for t in line.taxes)
    return total


def returned_total(lines: Iterable[s.ReturnLine], currency: str) -> int:
    """What returned lines give back: the amounts, which are before tax, plus their taxes."""
    return sum(
        minor(line.amount, currency, "$") + sum(minor(t.amount, currency, "$") for t in line.taxes)
        for line in lines
    )


def _money(value: str, currency: str, path: str, *, signed: bool = False) -> str:
    return format_minor(minor(value, currency, path, signed=signed), currency)


# -- normalising, one record type at a time -------------------------------------------------


def _normalise(record: s.AnyRecord) -> s.AnyRecord:
    record = _common(record)
    if isinstance(record, s.Sale):
        return _sale(record)
    if isinstance(record, s.Return):
        return _return(record)
    if isinstance(record, s.Exchange):
        return _exchange(record)
    if isinstance(record, s.Void):
        return msgspec.structs.replace(record, voids=_code(record.voids, "$.voids"))
    if isinstance(record, s.PaidIn | s.PaidOut):
        amount = minor(record.amount, record.currency, "$.amount")
        if amount == 0:
            raise RecordError("a cash movement of zero", "$.amount")
        return msgspec.structs.replace(
            record,
            amount=format_minor(amount, record.currency),
            reason=_text(record.reason, "$.reason"),
        )
    return _end_of_day(record)


def _common(record: R) -> R:
    try:
        currency = check_currency(record.currency)
    except MoneyError as exc:
        raise RecordError(str(exc), "$.currency") from None
    if record.seq < 1:
        raise RecordError(f"seq {record.seq} must be 1 or more", "$.seq")
    receipt = record.receipt
    if receipt is None and isinstance(record, s.Sale | s.Return | s.Exchange):
        raise RecordError(f"a {s.record_type(record)} needs its `receipt` number", "$")
    return msgspec.structs.replace(
        record,
        store=_code(record.store, "$.store"),
        register=_code(record.register, "$.register"),
        timestamp=_timestamp(record.timestamp).isoformat(),
        currency=currency,
        receipt=_code(receipt, "$.receipt") if receipt is not None else None,
    )


def _sale(r: s.Sale) -> s.Sale:
    lines = _sale_lines(r.lines, r.currency, "$.lines")
    tenders = _tenders(r.tenders, r.currency, signed=False)
    _balance(tenders, sold_total(lines, r.currency, r.taxes_included), r.currency, "sale total")
    return msgspec.structs.replace(r, lines=lines, tenders=tenders)


def _return(r: s.Return) -> s.Return:
    original = _original(r.original)
    lines = _return_lines(r.lines, r.currency, "$.lines", linked=original is not None)
    tenders = _tenders(r.tenders, r.currency, signed=False)
    _balance(tenders, returned_total(lines, r.currency), r.currency, "refund total")
    return msgspec.structs.replace(r, original=original, lines=lines, tenders=tenders)


def _exchange(r: s.Exchange) -> s.Exchange:
    original = _original(r.original)
    returned = _return_lines(r.returned, r.currency, "$.returned", linked=original is not None)
    sold = _sale_lines(r.sold, r.currency, "$.sold")
    tenders = _tenders(r.tenders, r.currency, signed=True)
    signs = {minor(t.amount, r.currency, "$", signed=True) > 0 for t in tenders}
    if len(signs) > 1:
        raise RecordError(
            "an exchange's tenders are either all paid (+) or all refunded (−), not both",
            "$.tenders",
        )
    difference = sold_total(sold, r.currency, r.taxes_included) - returned_total(
        returned, r.currency
    )
    _balance(tenders, difference, r.currency, "difference (sold − returned)")
    return msgspec.structs.replace(
        r, original=original, returned=returned, sold=sold, tenders=tenders
    )


def _end_of_day(r: s.EndOfDay) -> s.EndOfDay:
    if not _DAY.fullmatch(r.business_day):
        raise RecordError(f"business_day {r.business_day!r} is not YYYY-MM-DD", "$.business_day")
    try:
        date.fromisoformat(r.business_day)
    except ValueError:
        raise RecordError(
            f"business_day {r.business_day!r} is not a calendar date", "$.business_day"
        ) from None
    return msgspec.structs.replace(
        r,
        counted_cash=_money(r.counted_cash, r.currency, "$.counted_cash"),
        opening_float=_money(r.opening_float, r.currency, "$.opening_float"),
    )


# -- parts ----------------------------------------------------------------------------------


def _sale_lines(lines: list[s.SaleLine], currency: str, where: str) -> list[s.SaleLine]:
    if not lines:
        raise RecordError("at least one line is needed", where)
    out: list[s.SaleLine] = []
    seen: set[str] = set()
    for i, line in enumerate(lines):
        path = f"{where}[{i}]"
        line_id = _code(line.line, f"{path}.line")
        if line_id in seen:
            raise RecordError(f"line id {line_id!r} appears twice in the receipt", f"{path}.line")
        seen.add(line_id)
        _quantity(line.quantity, f"{path}.quantity")
        unit_price = _money(line.unit_price, currency, f"{path}.unit_price")
        discount = _money(line.discount, currency, f"{path}.discount") if line.discount else None
        gross = line.quantity * minor(unit_price, currency, path)
        if discount is not None and minor(discount, currency, path) > gross:
            raise RecordError(
                f"discount {discount} is more than the line's {format_minor(gross, currency)}",
                f"{path}.discount",
            )
        out.append(
            msgspec.structs.replace(
                line,
                line=line_id,
                sku=_text(line.sku, f"{path}.sku"),
                unit_price=unit_price,
                discount=discount if discount != format_minor(0, currency) else None,
                taxes=_taxes(line.taxes, currency, f"{path}.taxes"),
            )
        )
    return out


def _return_lines(
    lines: list[s.ReturnLine], currency: str, where: str, *, linked: bool
) -> list[s.ReturnLine]:
    if not lines:
        raise RecordError("at least one line is needed", where)
    out: list[s.ReturnLine] = []
    for i, line in enumerate(lines):
        path = f"{where}[{i}]"
        # Linked returns name the original sale's line; unlinked ones can only name the item.
        if linked and (line.line is None or line.sku is not None):
            raise RecordError(
                "a return of a known sale names the original `line`, not a `sku`", path
            )
        if not linked and (line.sku is None or line.line is not None):
            raise RecordError(
                "a return without `original` names the `sku` returned, not a `line`", path
            )
        _quantity(line.quantity, f"{path}.quantity")
        out.append(
            msgspec.structs.replace(
                line,
                line=_code(line.line, f"{path}.line") if line.line is not None else None,
                sku=_text(line.sku, f"{path}.sku") if line.sku is not None else None,
                amount=_money(line.amount, currency, f"{path}.amount"),
                taxes=_taxes(line.taxes, currency, f"{path}.taxes"),
            )
        )
    return out


def _taxes(taxes: list[s.Tax], currency: str, where: str) -> list[s.Tax]:
    out: list[s.Tax] = []
    for i, tax in enumerate(taxes):
        path = f"{where}[{i}]"
        if not _DECIMAL.fullmatch(tax.rate) or tax.rate.startswith("-"):
            raise RecordError(f"rate {tax.rate!r} is not a decimal such as 0.0625", f"{path}.rate")
        rate = Decimal(tax.rate)
        if rate > 1:
            raise RecordError(
                f"rate {tax.rate} is over 1; rates are fractions (0.0625 for 6.25 %)",
                f"{path}.rate",
            )
        out.append(
            s.Tax(
                jurisdiction=_text(tax.jurisdiction, f"{path}.jurisdiction"),
                rate=f"{rate.normalize():f}",
                amount=_money(tax.amount, currency, f"{path}.amount"),
            )
        )
    return out


def _tenders(tenders: list[s.TenderIn], currency: str, *, signed: bool) -> list[s.TenderIn]:
    out: list[s.TenderIn] = []
    for i, t in enumerate(tenders):
        path = f"$.tenders[{i}]"
        amount = minor(t.amount, currency, f"{path}.amount", signed=signed)
        if amount == 0:
            raise RecordError("a tender of zero", f"{path}.amount")
        out.append(
            msgspec.structs.replace(
                t,
                amount=format_minor(amount, currency),
                gateway=_text(t.gateway, f"{path}.gateway") if t.gateway is not None else None,
                transaction_id=(
                    _text(t.transaction_id, f"{path}.transaction_id")
                    if t.transaction_id is not None
                    else None
                ),
                gift_card=(
                    _text(t.gift_card, f"{path}.gift_card") if t.gift_card is not None else None
                ),
            )
        )
        if t.gift_card is not None and t.method != "gift_card":
            raise RecordError("`gift_card` belongs on a gift_card tender", f"{path}.gift_card")
    return out


def _balance(tenders: list[s.TenderIn], due: int, currency: str, what: str) -> None:
    paid = sum(minor(t.amount, currency, "$", signed=True) for t in tenders)
    if paid != due:
        raise RecordError(
            f"tenders add up to {format_minor(paid, currency)} but the {what} is "
            f"{format_minor(due, currency)}",
            "$.tenders",
        )


def _original(value: str | None) -> str | None:
    if value is None:
        return None
    if not _ORIGINAL.fullmatch(value):
        raise RecordError(
            f"original {value!r} is not RECEIPT or STORE:RECEIPT (no spaces)", "$.original"
        )
    return value


def _timestamp(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise RecordError(
            f"timestamp {value!r} is not ISO 8601 (2025-03-15T09:05:00-05:00)", "$.timestamp"
        ) from None
    if moment.utcoffset() is None:
        raise RecordError(
            f"timestamp {value!r} has no UTC offset; add the register's offset or Z, "
            "since the hub cannot guess the register's time zone",
            "$.timestamp",
        )
    return moment


def _quantity(value: int, path: str) -> None:
    if value < 1:
        raise RecordError(f"quantity {value} must be a whole number of at least 1", path)


def _code(value: str, path: str) -> str:
    if not _CODE.fullmatch(value):
        raise RecordError(f"{value!r} is not a code (1–64 characters, no spaces or colons)", path)
    return value


def _text(value: str, path: str) -> str:
    text = value.strip()
    if not text:
        raise RecordError("must not be empty", path)
    return text
