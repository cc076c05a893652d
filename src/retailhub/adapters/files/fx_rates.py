"""The exchange-rates file the user supplies: ``[fx] rates_file`` (docs/multi-currency.md).

CSV, one rate per line, an optional header, ``#`` comments and blank lines allowed::

    date,currency,rate
    2026-10-30,EUR,1.10
    2026-10-30,JPY,0.0067

``rate`` is functional-currency units per one unit of ``currency`` (USD per EUR), a decimal
(never a float). The rate of a date is the latest on or before it, so a weekend uses Friday's.
A malformed file is refused whole, naming the line at fault; the hub reads the file again
whenever it changes, so a delivery blocked for a missing rate succeeds on retry once the rate
is added, without a restart.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from retailhub.domain.fx import FxRates, RatesUnavailable
from retailhub.domain.money import MoneyError, check_currency

HEADER = ("date", "currency", "rate")


class FxRatesFileError(RatesUnavailable):
    """A rates file that cannot be used; names the file and the line at fault."""

    def __init__(self, source: str, line: int, message: str) -> None:
        super().__init__(f"{source}:{line}: {message}" if line else f"{source}: {message}")
        self.line = line
        self.message = message


def parse_rates(text: str, functional: str, source: str = "fx_rates.csv") -> FxRates:
    """The rates in ``text`` (the file's content) into ``functional``."""
    functional = functional.upper()
    rows: list[tuple[date, str, Decimal]] = []
    seen: dict[tuple[date, str], tuple[int, Decimal]] = {}
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for fields in reader:
            line = reader.line_num
            cells = [f.strip() for f in fields]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if not rows and not seen and tuple(c.lower() for c in cells) == HEADER:
                continue
            on, currency, rate = _row(cells, source, line)
            if currency == functional:
                if rate != 1:
                    raise FxRatesFileError(
                        source, line, f"{currency} is the functional currency: its rate is 1"
                    )
                continue
            earlier = seen.get((on, currency))
            if earlier is not None and earlier[1] != rate:
                raise FxRatesFileError(
                    source,
                    line,
                    f"{currency} on {on} is {rate} here but {earlier[1]} on line {earlier[0]}",
                )
            seen[(on, currency)] = (line, rate)
            rows.append((on, currency, rate))
    except csv.Error as exc:
        raise FxRatesFileError(source, reader.line_num, f"not readable as CSV ({exc})") from None
    return FxRates.of(functional, rows, source)


def _row(cells: list[str], source: str, line: int) -> tuple[date, str, Decimal]:
    if len(cells) != 3:
        raise FxRatesFileError(
            source, line, f"expected 3 fields (date,currency,rate), found {len(cells)}"
        )
    day, code, value = cells
    try:
        on = date.fromisoformat(day)
    except ValueError:
        raise FxRatesFileError(source, line, f"date {day!r} is not YYYY-MM-DD") from None
    try:
        currency = check_currency(code)
    except MoneyError:
        raise FxRatesFileError(source, line, f"{code!r} is not a currency code") from None
    try:
        rate = Decimal(value)
    except InvalidOperation:
        raise FxRatesFileError(source, line, f"rate {value!r} is not a number") from None
    if not rate.is_finite() or rate <= 0:
        raise FxRatesFileError(source, line, f"rate {value!r} must be a positive number")
    return on, currency, rate


def load_rates(path: Path, functional: str) -> FxRates:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FxRatesFileError(str(path), 0, f"cannot be read ({exc.strerror})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FxRatesFileError(str(path), line, "the file is not UTF-8 text") from None
    return parse_rates(text, functional, path.name)


@dataclass
class FxRatesFile:
    """The rates file as an ``FxSource``: read when first needed and again whenever it changes
    (size or modification time), so a long-running worker sees rates added later."""

    path: Path
    _stamp: tuple[int, int, int] | None = field(default=None, repr=False)
    _rates: FxRates | None = field(default=None, repr=False)

    def rates(self, functional: str) -> FxRates:
        try:
            stat = os.stat(self.path)
        except OSError as exc:
            raise FxRatesFileError(str(self.path), 0, f"cannot be read ({exc.strerror})") from None
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if self._rates is None or stamp != self._stamp or self._rates.functional != functional:
            self._rates = load_rates(self.path, functional)
            self._stamp = stamp
        return self._rates
