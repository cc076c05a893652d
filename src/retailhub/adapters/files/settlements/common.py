"""What every settlement file reader shares: its error, and the formats' number and date quirks.

Settlement files are produced per marketplace and locale: Amazon's EU reports write
``1.234,56`` and ``15.01.2023``, the US ones ``1,234.56`` and ``2023-01-15``. The readers
normalise here so a quirk is handled once.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from retailhub.domain.money import MoneyError, exponent, to_minor

# Called with the number of source lines consumed since the last call (for a progress bar).
Progress = Callable[[int], None]


class SettlementFileError(ValueError):
    """A settlement file that cannot be imported; names the file line at fault."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


_GROUPED_COMMA = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")  # 1.234,56
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d{1,2}$")  # 12,50


def decimal_amount(text: str, line: int, what: str) -> Decimal:
    """A decimal amount in either convention: ``1,234.56``, ``1.234,56``, ``-12,50``, ``(3.10)``."""
    raw = text.strip().replace("\u00a0", "").replace(" ", "")
    if not raw:
        raise SettlementFileError(line, f"{what} is empty")
    negative = raw.startswith("(") and raw.endswith(")")
    if negative:
        raw = raw[1:-1]
    if _GROUPED_COMMA.match(raw) or _DECIMAL_COMMA.match(raw):
        raw = raw.replace(".", "").replace(",", ".")
    else:
        raw = raw.replace(",", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise SettlementFileError(line, f"{what} {text.strip()!r} is not a number") from None
    if not value.is_finite():
        raise SettlementFileError(line, f"{what} {text.strip()!r} is not a number")
    return -value if negative else value


def minor_amount(text: str, currency: str, line: int, what: str) -> int:
    """A decimal amount in ``currency``, as integer minor units (refusing sub-minor precision)."""
    value = decimal_amount(text, line, what)
    try:
        places = exponent(currency)
        if value != value.quantize(Decimal(1).scaleb(-places)):
            raise SettlementFileError(
                line, f"{what} {text.strip()!r} has more decimals than {currency} allows"
            )
        return to_minor(value, currency)
    except MoneyError as exc:
        raise SettlementFileError(line, f"{what}: {exc}") from None


_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S %Z",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%dT%H:%M:%S",
    "%d.%m.%Y %H:%M:%S %Z",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y",
    "%d/%m/%Y %H:%M:%S",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
)


def timestamp(
    text: str, line: int, what: str, formats: tuple[str, ...] = _DATE_FORMATS
) -> datetime:
    """A timestamp in any of the formats' conventions; naive ones are taken as UTC."""
    raw = text.strip()
    if raw.endswith(" UTC") or raw.endswith(" GMT"):
        raw = raw[:-4] + " UTC"
    if raw.endswith("Z"):
        raw = raw[:-1] + "+00:00"
    for fmt in formats:
        try:
            moment = datetime.strptime(raw, fmt)
        except ValueError:
            continue
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise SettlementFileError(
            line, f"{what} {text.strip()!r} is not a date we understand"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def day(text: str, line: int, what: str) -> date:
    return timestamp(text, line, what).date()


def require_columns(header: list[str], needed: tuple[str, ...], line: int, fmt: str) -> None:
    missing = [name for name in needed if name not in header]
    if missing:
        raise SettlementFileError(line, f"not a {fmt} file: missing column(s) {', '.join(missing)}")


def utf8_text(data: bytes) -> str:
    """The file as text (a byte-order mark dropped); a non-UTF-8 file names its first bad line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SettlementFileError(line, "the file is not UTF-8 text") from None


def csv_records(text: str, on_progress: Progress | None) -> Iterator[tuple[int, list[str]]]:
    """Each non-blank CSV record with the file line it starts on; reports lines consumed."""
    # strict: an opened quote that never closes is an error, not a field swallowing the file.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    consumed = reported = 0
    while True:
        start = consumed + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise SettlementFileError(
                start, f"this row cannot be read as CSV ({exc}): is the file cut short?"
            ) from None
        consumed = reader.line_num
        if on_progress is not None and consumed - reported >= 1000:
            on_progress(consumed - reported)
            reported = consumed
        if any(f.strip() for f in fields):
            yield start, fields
    if on_progress is not None and consumed > reported:
        on_progress(consumed - reported)


def csv_row(header: list[str], fields: list[str], line: int) -> dict[str, str]:
    """A record as {column: text}; a short row (a cut file) is refused, trailing blanks allowed."""
    if len(fields) < len(header) or any(f.strip() for f in fields[len(header) :]):
        raise SettlementFileError(
            line,
            f"this row has {len(fields)} fields but the header has {len(header)}: "
            "is the file cut short or the row damaged?",
        )
    return dict(zip(header, fields, strict=False))
