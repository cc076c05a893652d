"""CSV bank statements: the layout documented in ``docs/bank-statements.md``, checked line by line.

Banks' own CSV exports differ in every detail, so we ask for one header-named layout and
accept the variations that cost nothing to recognise: a ``;`` or tab delimiter (European
exports, where ``,`` is the decimal mark), ``debit``/``credit`` columns instead of a signed
``amount``, ``1.234,56`` decimals and ``dd.mm.yyyy`` / ``dd/mm/yyyy`` dates. ``dd/mm`` is
assumed, never ``mm/dd``: a US-style ``10/13/2026`` is refused rather than guessed.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from retailhub.adapters.files.bank import BankFileError, currency_code
from retailhub.adapters.files.settlements.common import (
    SettlementFileError,
    decimal_amount,
    minor_amount,
    timestamp,
)
from retailhub.domain.bank import BankLine
from retailhub.domain.money import exponent, to_decimal

REQUIRED = ("date", "currency", "reference")
OPTIONAL = ("bank_ref", "counterparty", "account")
SIGNED = ("amount",)
SPLIT = ("debit", "credit")
KNOWN = frozenset(REQUIRED + OPTIONAL + SIGNED + SPLIT)

_DELIMITERS = (",", ";", "\t")
# Date only: ISO first, then the day-first European forms (see the module docstring).
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%Y/%m/%d")


def parse(data: bytes, account: str | None) -> list[BankLine]:
    text = _decode(data)
    delimiter = _delimiter(_first_line(text))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    lines: list[BankLine] = []
    header: list[str] | None = None
    consumed = 0  # physical lines read so far, to name the line a record starts on
    try:
        for record in reader:
            start, consumed = consumed + 1, reader.line_num
            if not any(field.strip() for field in record):
                continue
            if header is None:
                header = _header(record, start)
                continue
            lines.append(_line(header, record, start, account))
    except csv.Error as exc:
        raise BankFileError(reader.line_num, f"not readable as CSV: {exc}") from None
    if header is None:
        raise BankFileError(0, "the file has no header line")
    return lines


def _decode(data: bytes) -> str:
    # Excel on Windows saves "CSV" in the ANSI code page, not UTF-8; a UTF-8 BOM is also common.
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BankFileError(0, "the file is neither UTF-8 nor Windows-1252 text")


def _first_line(text: str) -> str:
    for raw in text.splitlines():
        if raw.strip():
            return raw
    raise BankFileError(0, "the file is empty")


def _delimiter(header_text: str) -> str:
    """The delimiter that splits the header into the most column names we know."""

    def known(delimiter: str) -> int:
        return sum(1 for name in header_text.split(delimiter) if _column(name) in KNOWN)

    return max(_DELIMITERS, key=known)


def _column(name: str) -> str:
    return name.strip().strip('"').strip().lower().replace(" ", "_").replace("-", "_")


def _header(record: list[str], line: int) -> list[str]:
    names = [_column(name) for name in record]
    # A column without a name is what a trailing delimiter leaves (common in bank exports);
    # its values are ignored.
    unknown = [
        raw.strip() for raw, name in zip(record, names, strict=True) if name and name not in KNOWN
    ]
    if unknown:
        raise BankFileError(
            line,
            f"unknown column(s) {', '.join(repr(u) for u in unknown)}; a bank statement CSV has "
            f"{', '.join(REQUIRED)}, amount (or debit and credit) and optionally "
            f"{', '.join(OPTIONAL)} (see docs/bank-statements.md)",
        )
    repeated = sorted({name for name in names if name and names.count(name) > 1})
    if repeated:
        raise BankFileError(line, f"column(s) {', '.join(repeated)} appear more than once")
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise BankFileError(line, f"missing column(s) {', '.join(missing)}")
    has_amount = "amount" in names
    has_split = [name for name in SPLIT if name in names]
    if has_amount and has_split:
        raise BankFileError(
            line, "give either an amount column or debit and credit columns, not both"
        )
    if not has_amount and len(has_split) != len(SPLIT):
        wanted = [name for name in SPLIT if name not in names]
        raise BankFileError(
            line,
            "missing column(s) "
            + (", ".join(wanted) if has_split else "amount (or debit and credit)"),
        )
    return names


def _line(header: list[str], record: list[str], line: int, account: str | None) -> BankLine:
    if len(record) != len(header):
        raise BankFileError(
            line,
            f"{len(record)} values for {len(header)} columns ({', '.join(header)}); an amount "
            "written with a thousands separator must be in double quotes",
        )
    row = {name: value.strip() for name, value in zip(header, record, strict=True)}
    currency = currency_code(row["currency"], line, "currency")
    amount = (
        _money(row["amount"], currency, line, "amount")
        if "amount" in row
        else _debit_credit(row["debit"], row["credit"], currency, line)
    )
    named = row.get("account") or account
    if not named:
        raise BankFileError(
            line, "no account: add an 'account' column or name the account when importing"
        )
    return BankLine(
        account=named,
        line_no=line,
        booked_on=_date(row["date"], line),
        amount=amount,
        currency=currency,
        reference=row["reference"],
        bank_ref=row.get("bank_ref") or None,
        counterparty=row.get("counterparty") or None,
    )


def _date(text: str, line: int) -> date:
    if not text:
        raise BankFileError(line, "date is empty")
    try:
        return timestamp(text, line, "date", _DATE_FORMATS).date()
    except SettlementFileError as exc:
        hint = " (dates with / are read day first: dd/mm/yyyy)" if "/" in text else ""
        raise BankFileError(line, f"{exc.message}{hint}") from None


def _money(text: str, currency: str, line: int, what: str) -> int:
    try:
        minor = minor_amount(text, currency, line, what)
        exact = decimal_amount(text, line, what)
    except SettlementFileError as exc:
        raise BankFileError(line, exc.message) from None
    if to_decimal(minor, currency) != exact:
        raise BankFileError(
            line, f"{what} {text!r} has more decimals than {currency} allows ({exponent(currency)})"
        )
    return minor


def _debit_credit(debit: str, credit: str, currency: str, line: int) -> int:
    # Banks disagree on the sign in a debit column (some write 12.00, some -12.00); the column
    # itself says money went out, so its magnitude is what counts.
    out = abs(_money(debit, currency, line, "debit")) if debit else 0
    into = _money(credit, currency, line, "credit") if credit else 0
    if into < 0:
        raise BankFileError(
            line, f"credit {credit!r} is negative; money going out belongs in the debit column"
        )
    if not debit and not credit:
        raise BankFileError(line, "neither debit nor credit has an amount")
    if out and into:
        raise BankFileError(line, f"both debit ({debit}) and credit ({credit}) have an amount")
    return into - out
