"""Price list files, CSV or JSON, into dated price entries — every row checked, errors by line.

CSV columns (a header row; ``location``, ``currency`` and ``effective_to`` may be left empty)::

    sku, channel, location, price, currency, effective_from, effective_to

``price`` is a decimal in major units (``19.99``) with no more decimals than the currency has
(a price list must be exact, so ``19.999`` is refused rather than rounded); ``currency``
defaults to the company currency; dates are ``YYYY-MM-DD``; ``effective_to`` is the last day
the price applies, empty for "until a later price takes over"; an empty ``location`` prices
every location of the channel. A JSON file is a list of objects with the same keys (``price``
may be a string or a number; ``location`` and ``effective_to`` may be null).

Unknown columns are refused, not ignored: a misspelt ``efective_to`` would otherwise turn a
one-week promotion into a permanent price. Overlapping entries (see ``domain.pricing``) are
reported on the later row with the line of the row it clashes with. The reader returns rows
and errors; the caller imports nothing unless the error list is empty.

Also here: the text form of channel eligibility (``web;pos`` = only those channels,
``-amazon`` = every channel but that one) for an item file's ``channels`` column.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import msgspec

from retailhub.adapters.files.items import RowError, parse_eligibility
from retailhub.domain.money import Money, MoneyError, check_currency, exponent
from retailhub.domain.pricing import ChannelEligibility, PriceEntry, PriceListError, find_overlaps

COLUMNS = ("sku", "channel", "location", "price", "currency", "effective_from", "effective_to")
REQUIRED = ("sku", "channel", "price", "effective_from")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EXTRA = "\x00extra cells"  # where a CSV row's cells beyond the header are kept
# float_hook keeps a JSON number such as 19.99 as the exact Decimal of its text, never float.
_JSON = msgspec.json.Decoder(float_hook=Decimal)


@dataclass(frozen=True, slots=True)
class PriceRow:
    line: int  # the file's line (CSV) or the list position + 1 (JSON)
    entry: PriceEntry


def read_prices(
    path: Path, default_currency: str, file_format: str | None = None
) -> tuple[list[PriceRow], list[RowError]]:
    """Every row of the file, parsed and checked for overlaps; bad rows are reported, all of them."""
    kind = file_format or ("json" if path.suffix.lower() == ".json" else "csv")
    try:
        raw = path.read_bytes()
        records = list(_json_records(raw) if kind == "json" else _csv_records(raw))
    except _HeaderError as exc:
        return [], [RowError(1, str(exc))]
    except (ValueError, csv.Error, msgspec.DecodeError) as exc:
        return [], [RowError(0, f"{path}: not a readable {kind} price file: {exc}")]
    rows: list[PriceRow] = []
    errors: list[RowError] = []
    for line, where, record in records:
        try:
            rows.append(PriceRow(line, _entry(record, where, default_currency)))
        except (ValueError, MoneyError) as exc:
            errors.append(RowError(line, str(exc)))
    for overlap in find_overlaps([r.entry for r in rows]):
        first, second = rows[overlap.first], rows[overlap.second]
        if first.entry.effective_from == second.entry.effective_from:
            fix = "both start that day; keep one of them"
        else:
            fix = (
                f"line {first.line} is a bounded price still running then; end it on "
                f"{(second.entry.effective_from - timedelta(days=1)).isoformat()} or start "
                "this one after it"
            )
        errors.append(
            RowError(
                second.line,
                f"{second.entry.describe()} overlaps line {first.line} "
                f"({first.entry.describe()}) on {overlap.day.isoformat()}: {fix}",
            )
        )
    errors.sort(key=lambda e: e.line)
    return rows, errors


class _HeaderError(ValueError):
    """The header row is wrong: nothing below it can be trusted."""


def _csv_records(raw: bytes) -> Iterator[tuple[int, str, Mapping[str, Any]]]:
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
    header = reader.fieldnames
    if not header:
        raise _HeaderError(f"no header row; expected the columns {', '.join(COLUMNS)}")
    _check_columns([h.strip() for h in header], "header")
    for record in reader:
        # DictReader files the extra cells of a long row under the key None; kept for _entry.
        yield reader.line_num, "", {k.strip() if k else _EXTRA: v for k, v in record.items()}


def _json_records(raw: bytes) -> Iterator[tuple[int, str, Mapping[str, Any]]]:
    data = _JSON.decode(raw)
    if not isinstance(data, list):
        raise ValueError("expected a list of price objects")
    for i, record in enumerate(data):
        where = f"$[{i}]: "
        if not isinstance(record, dict):
            raise ValueError(f"{where}is not an object")
        yield i + 1, where, record


def _check_columns(names: Iterable[str], what: str) -> None:
    names = list(names)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise _HeaderError(f"{what}: column(s) {', '.join(repeated)} appear more than once")
    unknown = [n for n in names if n not in COLUMNS]
    missing = [c for c in REQUIRED if c not in names]
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s) {', '.join(repr(u) for u in unknown)}")
    if problems:
        raise _HeaderError(f"{what}: {'; '.join(problems)} (expected {', '.join(COLUMNS)})")


def _text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _entry(record: Mapping[str, Any], where: str, default_currency: str) -> PriceEntry:
    if _EXTRA in record:
        extra = [c for c in record[_EXTRA] if c.strip()]
        if extra:
            raise ValueError(f"{len(extra)} more cell(s) than the header has columns: {extra}")
    if where:  # JSON objects carry their own keys; a CSV row was checked by its header
        unknown = sorted(k for k in record if k not in COLUMNS)
        if unknown:
            raise ValueError(f"{where}unknown key(s) {', '.join(map(repr, unknown))}")
    sku = _text(record, "sku")
    if not sku:
        raise ValueError(f"{where}sku is missing")
    where = f"{where}{sku}: "
    channel = _text(record, "channel")
    if not channel:
        raise ValueError(f"{where}channel is missing")
    currency = _text(record, "currency") or default_currency
    try:
        currency = check_currency(currency)
    except MoneyError as exc:
        raise ValueError(f"{where}currency: {exc}") from None
    start = _date(record, "effective_from", where)
    if start is None:
        raise ValueError(f"{where}effective_from is missing")
    try:
        return PriceEntry(
            sku=sku,
            channel=channel,
            price=_price(record.get("price"), currency, where),
            effective_from=start,
            effective_to=_date(record, "effective_to", where),
            location=_text(record, "location"),
        )
    except PriceListError as exc:  # negative price, or a range that ends before it starts
        raise ValueError(f"{where}{str(exc).removeprefix(f'{sku}: ')}") from None


def _price(value: Any, currency: str, where: str) -> Money:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(f"{where}price is missing")
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError(f"{where}price {value!r} is not a decimal amount")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{where}price {value!r} is not a decimal amount (e.g. 19.99)") from None
    if not amount.is_finite():
        raise ValueError(f"{where}price {value!r} is not a decimal amount (e.g. 19.99)")
    places = exponent(currency)
    scaled = amount.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise ValueError(
            f"{where}price {value!s} has more decimals than {currency} allows ({places})"
        )
    if amount < 0:
        raise ValueError(f"{where}price {value!s} is negative")
    return Money(int(scaled), currency)


def _date(record: Mapping[str, Any], key: str, where: str) -> date | None:
    text = _text(record, key)
    if text is None:
        return None
    if not _ISO_DATE.fullmatch(text):
        raise ValueError(f"{where}{key} {text!r} is not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{where}{key} {text!r} is not a calendar date") from None


# -- channel eligibility in text ------------------------------------------------------------


def eligibility(rules: Iterable[tuple[str, Any]]) -> ChannelEligibility:
    """A ``ChannelEligibility`` from (sku, channels cell) pairs; raises ValueError naming the SKU."""
    only: dict[str, frozenset[str]] = {}
    excluded: dict[str, frozenset[str]] = {}
    for sku, value in rules:
        sku_only, sku_excluded = parse_eligibility(sku, value)
        if sku_only:
            only[sku] = sku_only
        if sku_excluded:
            excluded[sku] = sku_excluded
    return ChannelEligibility(only, excluded)
