"""CAMT.053 bank statements (ISO 20022 ``BkToCstmrStmt``): one ``BankLine`` per ``Stmt/Ntry``.

Banks send versions .001.02 (still the most common, e.g. the Dutch and Swiss guidelines), .04
and .08, which differ in namespace and in a few wrappers (``Sts`` became ``Sts/Cd``, a party
name moved from ``Dbtr/Nm`` to ``Dbtr/Pty/Nm`` in .08). Elements are matched by local name, so
one reader serves them all. The XML is parsed with ``defusedxml`` (no DTDs, no entity
expansion): statement files come from outside and are never trusted.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import XMLParser

from retailhub.adapters.files.bank import BankFileError, currency_code, minor_units
from retailhub.domain.bank import BankLine

# ISO 20022 entry status: BOOK is money on the account; PDNG (pending) and INFO (information
# only) are not, and a camt.053 should carry BOOK alone (ISO 20022 EntryStatus code set).
_BOOKED = {"BOOK", ""}


def parse(data: bytes, account: str | None) -> list[BankLine]:
    root, lines = _tree(data)
    # Usually <Document><BkToCstmrStmt>; some banks wrap the Document in an envelope with a
    # business application header (head.001), so the statement is looked for anywhere.
    statement = next(root.iter("BkToCstmrStmt"), None)
    if statement is None:
        raise BankFileError(
            lines.get(root, 1), f"not a CAMT.053 statement: <{root.tag}> has no <BkToCstmrStmt>"
        )
    stmts = statement.findall("Stmt")
    if not stmts:
        raise BankFileError(lines.get(statement, 1), "the statement has no <Stmt> element")
    result: list[BankLine] = []
    for stmt in stmts:
        named = _account(stmt) or account
        if not named:
            raise BankFileError(
                lines.get(stmt, 0), "<Stmt> names no account (Acct/Id/IBAN or Acct/Id/Othr/Id)"
            )
        for entry in stmt.findall("Ntry"):
            if _status(entry) in _BOOKED:
                result.append(_line(entry, lines, named, stmt.findtext("Acct/Ccy")))
    return result


def _tree(data: bytes) -> tuple[Element, dict[Element, int]]:
    """The document with namespaces stripped, and each element's source line."""
    target = _LineTarget()
    parser = XMLParser(target=target, forbid_dtd=True)
    target.parser = parser
    try:
        parser.feed(data)
        root: Element = parser.close()
    except ParseError as exc:
        line, _column = exc.position
        raise BankFileError(line, f"malformed XML: {_expat_reason(exc)}") from None
    except DefusedXmlException as exc:
        raise BankFileError(
            parser.parser.CurrentLineNumber,
            f"the XML declares a DTD or entities ({type(exc).__name__}), which a bank statement "
            "never needs; refusing to read it",
        ) from None
    for element in root.iter():
        element.tag = element.tag.rpartition("}")[2]
    return root, target.lines


def _expat_reason(exc: ParseError) -> str:
    # expat says "no element found: line 40, column 0"; the line is reported separately.
    return str(exc).split(": line ")[0]


class _LineTarget:
    """A TreeBuilder target that notes the line each element starts on.

    defusedxml's parser is the pure-Python ``XMLParser``, which calls ``start`` from expat's
    handler, so ``CurrentLineNumber`` is then the line of the start tag.
    """

    def __init__(self) -> None:
        self.builder = TreeBuilder()
        self.lines: dict[Element, int] = {}
        self.parser: XMLParser | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        element = self.builder.start(tag, attrs)
        if self.parser is not None:
            self.lines[element] = self.parser.parser.CurrentLineNumber
        return element

    def end(self, tag: str) -> Element:
        return self.builder.end(tag)

    def data(self, text: str) -> None:
        self.builder.data(text)

    def close(self) -> Element:
        return self.builder.close()


def _account(stmt: Element) -> str | None:
    return _text(stmt, "Acct/Id/IBAN") or _text(stmt, "Acct/Id/Othr/Id")


def _status(entry: Element) -> str:
    # .02/.04: <Sts>BOOK</Sts>; .08 and later: <Sts><Cd>BOOK</Cd></Sts>
    return (_text(entry, "Sts/Cd") or _text(entry, "Sts") or "").upper()


def _line(
    entry: Element, lines: dict[Element, int], account: str, acct_ccy: str | None
) -> BankLine:
    line = lines.get(entry, 0)
    amt = entry.find("Amt")
    if amt is None or not (amt.text or "").strip():
        raise BankFileError(line, "entry <Ntry> has no <Amt>")
    where = lines.get(amt, line)
    currency = currency_code(amt.get("Ccy") or acct_ccy, where, "Amt/@Ccy")
    try:
        value = Decimal((amt.text or "").strip())
    except InvalidOperation:
        raise BankFileError(where, f"<Amt> {amt.text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise BankFileError(
            where, f"<Amt> {amt.text!r} must be a positive number (CdtDbtInd gives the sign)"
        )
    minor = minor_units(value, currency, where, "<Amt>")
    credit = _credit(entry, lines, line)
    return BankLine(
        account=account,
        line_no=line,
        booked_on=_booked_on(entry, lines, line),
        amount=minor if credit else -minor,
        currency=currency,
        reference=_reference(entry),
        bank_ref=_text(entry, "AcctSvcrRef") or _sole(entry, "NtryDtls/TxDtls/Refs/AcctSvcrRef"),
        counterparty=_counterparty(entry, credit),
    )


def _credit(entry: Element, lines: dict[Element, int], line: int) -> bool:
    # A reversal (RvslInd true) is still booked in the direction CdtDbtInd gives: a CRDT
    # reversal returns money an earlier debit took (ISO 20022 camt.053, ReversalIndicator).
    indicator = _text(entry, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        found = entry.find("CdtDbtInd")
        raise BankFileError(
            lines.get(found, line) if found is not None else line,
            f"<CdtDbtInd> must be CRDT or DBIT, found {indicator!r}",
        )
    return indicator == "CRDT"


def _booked_on(entry: Element, lines: dict[Element, int], line: int) -> date:
    # BookgDt is optional in the schema; ValDt stands in when a bank leaves it out. A DtTm keeps
    # its own date as written: the bank's calendar day, not the UTC one.
    for path in ("BookgDt/Dt", "BookgDt/DtTm", "ValDt/Dt", "ValDt/DtTm"):
        element = entry.find(path)
        if element is None or not (element.text or "").strip():
            continue
        text = (element.text or "").strip()
        try:
            if path.endswith("DtTm"):
                return datetime.fromisoformat(text).date()
            return date.fromisoformat(text)
        except ValueError:
            raise BankFileError(
                lines.get(element, line), f"<{path}> {text!r} is not an ISO date"
            ) from None
    raise BankFileError(line, "entry <Ntry> has no <BookgDt> (nor <ValDt>)")


def _reference(entry: Element) -> str:
    """The remittance text: every unstructured line, else structured references, else notes."""
    details = entry.findall("NtryDtls/TxDtls")
    unstructured = [_joined(tx, "RmtInf/Ustrd") for tx in details]
    if any(unstructured):
        return "; ".join(text for text in unstructured if text)
    structured = [_joined(tx, "RmtInf/Strd/CdtrRefInf/Ref") for tx in details]
    if any(structured):
        return "; ".join(text for text in structured if text)
    return _text(entry, "AddtlNtryInf") or ""


def _counterparty(entry: Element, credit: bool) -> str | None:
    # Money in comes from the debtor, money out goes to the creditor.
    party = "Dbtr" if credit else "Cdtr"
    for tx in entry.findall("NtryDtls/TxDtls"):
        name = _text(tx, f"RltdPties/{party}/Nm") or _text(tx, f"RltdPties/{party}/Pty/Nm")
        if name:
            return name
    return None


def _text(element: Element, path: str) -> str | None:
    found = element.find(path)
    text = (found.text or "").strip() if found is not None else ""
    return text or None


def _joined(element: Element, path: str) -> str:
    return " ".join(t for t in ((e.text or "").strip() for e in element.findall(path)) if t)


def _sole(element: Element, path: str) -> str | None:
    found = [t for t in ((e.text or "").strip() for e in element.findall(path)) if t]
    return found[0] if len(found) == 1 else None
