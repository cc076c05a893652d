"""OFX bank and credit-card statements (1.x SGML and 2.x XML): one ``BankLine`` per ``STMTTRN``.

``ofxtools`` reads both syntaxes into an element tree and converts aggregates into typed
values. We convert each ``STMTTRN`` on its own rather than the whole document: banks' files
often break a rule in the envelope (a missing ``LEDGERBAL``, an unknown sign-on tag) that does
not touch the transactions, and refusing a statement for that would help nobody; every
transaction itself is still checked in full.

Sources: OFX 2.2 specification (ofx.net), sections 3.1.5 (STATUS), 3.2.8.2 (dates), 3.2.9
(amounts, signed from the customer's point of view), 5.2 (currency), 11.4 (STMTRS, STMTTRN);
the section numbers are those ofxtools' models cite.
"""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import Element

from ofxtools.header import OFXHeaderError, parse_header
from ofxtools.models.base import Aggregate
from ofxtools.Parser import OFXTree, ParseError

from retailhub.adapters.files.bank import BankFileError, currency_code, minor_units
from retailhub.domain.bank import BankLine

# What ofxtools raises on bad input besides its own ParseError/OFXHeaderError: OFXSpecError is a
# ValueError, a stray closing tag surfaces as IndexError, a bad number as decimal.InvalidOperation.
_OFXTOOLS_ERRORS = (SyntaxError, ValueError, TypeError, LookupError, ArithmeticError)

_STMTTRN = re.compile(rb"<STMTTRN\s*>")
_POSITION = re.compile(r"position=\[(\d+):\d+\]")
_TAIL = re.compile(r"Tail text '(.*?)' (?:in|after) ", re.DOTALL)


def parse(data: bytes, account: str | None) -> list[BankLine]:
    # ofxtools looks for the XML declaration at the very start of the first line; a UTF-8
    # byte-order mark (Windows tools add one) would make it take OFX 2.x for a broken 1.x.
    data = data.removeprefix(b"\xef\xbb\xbf")
    root = _tree(data)
    statements = [el for el in root.iter() if el.tag in ("STMTRS", "CCSTMTRS")]
    if not statements:
        raise BankFileError(0, _why_no_statement(root))
    line_of = _transaction_lines(data, root)
    lines: list[BankLine] = []
    for statement in statements:
        curdef = currency_code(statement.findtext("CURDEF"), 0, "CURDEF")
        named = (
            _text(statement, "BANKACCTFROM/ACCTID")
            or _text(statement, "CCACCTFROM/ACCTID")
            or account
        )
        if not named:
            raise BankFileError(0, "the statement names no account (BANKACCTFROM/ACCTID)")
        for trn in statement.findall("BANKTRANLIST/STMTTRN"):
            lines.append(_line(trn, line_of.get(trn, 0), named, curdef))
    return lines


def _tree(data: bytes) -> Element:
    tree = OFXTree()
    try:
        tree.parse(io.BytesIO(data))
    except OFXHeaderError:
        raise BankFileError(
            1,
            "not a readable OFX file: the OFX header (OFXHEADER:100 ... for OFX 1.x, or "
            '<?OFX OFXHEADER="200" ...?> for OFX 2.x) is missing or malformed',
        ) from None
    except ParseError as exc:
        raise BankFileError(
            _parse_error_line(data, exc), f"the OFX markup is malformed: {_parse_error_reason(exc)}"
        ) from None
    except IndexError:
        # ofxtools pops its element stack on every closing tag; an empty stack means a closing
        # tag that was never opened.
        raise BankFileError(
            0, "the OFX markup is malformed: a closing tag was never opened"
        ) from None
    except _OFXTOOLS_ERRORS as exc:
        raise BankFileError(0, f"not a readable OFX file: {str(exc)[:200]}") from None
    root = tree.getroot()
    if root is None or root.tag != "OFX":
        raise BankFileError(0, "not a readable OFX file: no <OFX> element after the header")
    # ofxtools builds whatever it has read and never checks that every aggregate was closed, so
    # a download cut short would pass as a shorter statement. Aggregates need end tags even in
    # OFX 1.x SGML (only data elements may omit them), so a whole file ends with </OFX>.
    if not data.rstrip(b" \t\r\n\x00\x1a").endswith(b"</OFX>"):
        raise BankFileError(
            data.count(b"\n") + 1,
            "the file ends before </OFX>: it was cut off (an interrupted download?)",
        )
    return root


def _parse_error_line(data: bytes, exc: ParseError) -> int:
    """The file line of an ofxtools ParseError, which gives a position in the body only."""
    found = _POSITION.search(str(exc))
    if found is None:
        return 0
    try:
        header, body = parse_header(io.BytesIO(data))
        text = data.decode(header.codec)
    except (*_OFXTOOLS_ERRORS, UnicodeError):
        return 0
    start = text.find(body)
    if start < 0:
        return 0
    return text.count("\n", 0, start + int(found.group(1))) + 1


def _parse_error_reason(exc: ParseError) -> str:
    # ofxtools quotes the whole document in its message ("Tail text 'x' in <OFX>..."); keep
    # only what went wrong.
    reason = str(exc).split(" - position=")[0]
    tail = _TAIL.match(reason)
    if tail:
        return f"text {tail.group(1)!r} stands where a tag should be"
    return reason[:200]


def _why_no_statement(root: Element) -> str:
    # A sign-on or statement request that failed comes back with a non-zero STATUS/CODE and the
    # bank's MESSAGE (OFX 2.2 section 3.1.5) instead of a statement.
    for status in root.iter("STATUS"):
        code = _text(status, "CODE")
        if code and code != "0":
            message = _text(status, "MESSAGE") or "no message"
            return f"the OFX file carries no statement; the bank reported error {code}: {message}"
    if any(root.iter("INVSTMTRS")):
        return "this is an investment statement; only bank and credit-card statements are read"
    return "the OFX file carries no bank or credit-card statement (STMTRS / CCSTMTRS)"


def _transaction_lines(data: bytes, root: Element) -> dict[Element, int]:
    """Each STMTTRN's file line: the n-th ``<STMTTRN>`` tag in the bytes is the n-th element."""
    starts = [data.count(b"\n", 0, m.start()) + 1 for m in _STMTTRN.finditer(data)]
    elements = list(root.iter("STMTTRN"))
    if len(starts) != len(elements):
        return {}
    return dict(zip(elements, starts, strict=True))


def _line(trn: Element, line: int, account: str, curdef: str) -> BankLine:
    fitid = _text(trn, "FITID")
    what = f"transaction {fitid}" if fitid else "transaction"
    amount_text = _text(trn, "TRNAMT")
    if amount_text is None:
        raise BankFileError(line, f"{what} has no TRNAMT")
    try:
        # OFX 3.2.9.1 allows a comma as the radix point; ofxtools converts it the same way.
        Decimal(amount_text.replace(",", "."))
    except InvalidOperation:
        raise BankFileError(line, f"{what}: TRNAMT {amount_text!r} is not a number") from None
    try:
        model: Any = Aggregate.from_etree(trn)
    except _OFXTOOLS_ERRORS as exc:
        raise BankFileError(line, f"{what} is not valid OFX: {exc}") from None
    if model.correctaction is not None:
        raise BankFileError(
            line,
            f"{what} {model.correctaction}s earlier transaction {model.correctfitid}; corrections "
            "to a statement already imported are not supported, ask the bank for a full statement",
        )
    # OFX 5.2: a CURRENCY aggregate puts this transaction's amounts in CURSYM; ORIGCURRENCY
    # only records what they were converted from, so they stay in CURDEF.
    currency = (
        currency_code(model.currency.cursym, line, "CURSYM")
        if model.currency is not None  # an Aggregate is falsy when it has no list members
        else curdef
    )
    payee = model.payee.name if model.payee is not None else None
    return BankLine(
        account=account,
        line_no=line,
        booked_on=_posted_on(_text(trn, "DTPOSTED") or "", line, what),
        amount=minor_units(model.trnamt, currency, line, f"{what}: TRNAMT"),
        currency=currency,
        reference=_reference(model.name or payee, model.memo),
        bank_ref=model.fitid,
        counterparty=payee,
    )


def _posted_on(text: str, line: int, what: str) -> date:
    # OFX 3.2.8.2: YYYYMMDD[HHMMSS[.XXX]][[gmt offset[:tz name]]]. ofxtools normalises the moment
    # to UTC, which moves a posting at 20:00 [-5:EST] to the next day; the statement's day is
    # the calendar day the bank wrote, its first eight digits.
    digits = text[:8]
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise BankFileError(line, f"{what}: DTPOSTED {text!r} is not an OFX date") from None


def _reference(name: str | None, memo: str | None) -> str:
    """NAME and MEMO as one text, once: many banks cut the description to 32 characters for
    NAME (its OFX limit) and repeat it in full in MEMO."""
    parts = [part.strip() for part in (name, memo) if part and part.strip()]
    if len(parts) == 2:
        first, second = parts
        if second.startswith(first):
            return second
        if first.startswith(second):
            return first
    return " ".join(parts)


def _text(element: Element, path: str) -> str | None:
    found = element.find(path)
    text = (found.text or "").strip() if found is not None else ""
    return text or None
