"""Bank statement readers: ``read_bank_statement(path)`` for CSV, CAMT.053 and OFX files.

A payout is only truly in when it lands on the bank statement, so reconciliation needs the
statement's lines. Each reader turns a whole file into ``BankLine`` values (signed minor
units, + = money in) or raises ``BankFileError`` naming the line at fault; nothing is returned
for a file that is partly bad, so an import is all or nothing.

Errors::

    ValueError
    └── BankFileError   .line (1-based, 0 when the file as a whole is at fault) and .message

The readers live in ``csv_statement``, ``camt053`` and ``ofx``; each exposes
``parse(data: bytes, account: str | None) -> list[BankLine]`` and is imported on first use.
"""

from __future__ import annotations

import importlib
from decimal import Decimal
from pathlib import Path

from retailhub.domain.bank import BankLine
from retailhub.domain.money import MoneyError, check_currency, exponent, to_minor

FORMATS = ("csv", "camt053", "ofx")
_MODULES = {"csv": "csv_statement", "camt053": "camt053", "ofx": "ofx"}


class BankFileError(ValueError):
    """A bank statement that cannot be imported; names the file line at fault (0 = the file)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}" if line > 0 else message)
        self.line = line
        self.message = message


def read_bank_statement(
    path: Path, fmt: str | None = None, account: str | None = None
) -> list[BankLine]:
    """Every line of the statement at ``path``, in file order.

    ``fmt`` is one of ``FORMATS``, or None to detect it from the content. ``account`` names the
    bank account for lines whose file does not say (a CSV without an ``account`` column); an
    account the file names (CAMT ``Acct/Id``, OFX ``ACCTID``, the CSV column) always wins, so a
    multi-account export keeps its accounts apart.
    """
    if fmt is not None and fmt not in FORMATS:
        raise BankFileError(
            0, f"unknown bank statement format {fmt!r} (one of {', '.join(FORMATS)})"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BankFileError(0, f"cannot read {path}: {exc.strerror or exc}") from None
    kind = fmt or detect_format(data)
    module = importlib.import_module(f"{__name__}.{_MODULES[kind]}")
    lines: list[BankLine] = module.parse(data, account)
    return lines


def detect_format(data: bytes) -> str:
    """``"csv"``, ``"camt053"`` or ``"ofx"``, judged from the content (never the file name)."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise BankFileError(0, "the file is empty")
    upper = head.upper()
    # OFX 1.x opens with the SGML header ``OFXHEADER:100``; OFX 2.x with an XML declaration and
    # the ``<?OFX OFXHEADER="200" ...?>`` processing instruction (OFX 2.2 spec, section 2.2).
    if upper.startswith(b"OFXHEADER") or b"<?OFX" in upper or b"<OFX>" in upper:
        return "ofx"
    if head.startswith(b"<"):
        return _xml_kind(data)
    for magic, what in _BINARY_MAGIC:
        if head.startswith(magic):
            raise BankFileError(
                0, f"this is {what}, not a bank statement we can read: export CSV, CAMT.053 or OFX"
            )
    if b"\x00" in head:
        raise BankFileError(0, "this is a binary file, not a CSV, CAMT.053 or OFX statement")
    return "csv"


_BINARY_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive or Excel workbook"),
    (b"\xd0\xcf\x11\xe0", "an old-style Excel workbook"),
)


def _xml_kind(data: bytes) -> str:
    # The three ISO 20022 cash-management reports share a layout but differ in meaning: only the
    # camt.053 statement lists booked entries for the day (camt.052 is intraday, camt.054 a
    # notification); the root element under <Document> names which one it is.
    if b"BkToCstmrStmt" in data:
        return "camt053"
    if b"BkToCstmrAcctRpt" in data:
        raise BankFileError(
            0, "this is a camt.052 intraday account report; import the camt.053 statement instead"
        )
    if b"BkToCstmrDbtCdtNtfctn" in data:
        raise BankFileError(
            0, "this is a camt.054 debit/credit notification; import the camt.053 statement instead"
        )
    raise BankFileError(0, "an XML file that is neither a CAMT.053 statement nor an OFX statement")


def currency_code(text: str | None, line: int, where: str) -> str:
    """An ISO 4217 code from the file, or BankFileError naming ``where`` it was read."""
    try:
        return check_currency((text or "").strip())
    except MoneyError:
        raise BankFileError(
            line, f"{where} {(text or '').strip()!r} is not a three-letter currency code"
        ) from None


def minor_units(value: Decimal, currency: str, line: int, what: str) -> int:
    """``value`` in ``currency`` as integer minor units, refusing digits the currency lacks.

    A bank books whole minor units; ``12.345`` USD on a statement means the file was misread
    (a thousands separator taken for decimals), so it is an error, never a rounding.
    """
    try:
        minor = to_minor(value, currency)
    except MoneyError as exc:
        raise BankFileError(line, f"{what}: {exc}") from None
    if Decimal(minor).scaleb(-exponent(currency)) != value:
        raise BankFileError(
            line,
            f"{what} {value} has more decimals than {currency} allows ({exponent(currency)})",
        )
    return minor


__all__ = ["FORMATS", "BankFileError", "detect_format", "read_bank_statement"]
