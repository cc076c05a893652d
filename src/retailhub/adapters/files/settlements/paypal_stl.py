"""PayPal Settlement Report (STL): a day's balance-affecting transactions and the withdrawal.

PayPal drops ``STL-yyyymmdd.sequence.version.CSV`` on its SFTP server every 24 hours. Every row
starts with a record type (PayPal Settlement Report Specification v9, "File structure";
developer.paypal.com/docs/reports/sftp-reports/settlement-report):

    RH report header   generation date, reporting window, account id, report version
    FH file header     file sequence number
    SH section header  section start, section end, account id (one section per account)
    CH column header   names of the SB columns (read them by name: PayPal adds columns)
    SB section body    one transaction
    SF section footer  per-currency totals          SC section record count (SB rows)
    RF report footer   per-currency totals          RC report record count (SB rows)
    FF file footer

Amounts are unsigned integers in minor units with the direction in a separate ``CR``/``DR``
column ("Money amount fields are unsigned … interpreted by the debit or credit column"). The
gross of a transaction and its fee become two lines with the same transaction id. A T04xx
withdrawal is not a line: it is the payout itself, so the settlement total is what was
withdrawn and ``read_settlements`` refuses a day whose lines do not add up to it. The SC and
RC counts are checked against the SB rows actually read; with the RH/FF bookends that is how a
truncated file is caught.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from retailhub.adapters.files.settlements.common import Progress, SettlementFileError, timestamp
from retailhub.domain.money import MoneyError, check_currency
from retailhub.domain.settlements import LineKind, Settlement, SettlementLine

GATEWAY = "paypal"
PROGRESS_EVERY = 1000

# "2024/08/20 00:01:17 -0700" (spec, "Transaction Completion Date"; the NiFi write-up's sample).
_DATE_FORMATS = (
    "%Y/%m/%d %H:%M:%S %z",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%dT%H:%M:%S%z",
)
# SB columns by their CH names (spec v9, "Section body data"; the NiFi write-up's sample).
TRANSACTION_ID = "Transaction ID"
INVOICE_ID = "Invoice ID"
EVENT_CODE = "Transaction Event Code"
INITIATED = "Transaction Initiation Date"
COMPLETED = "Transaction Completion Date"
DIRECTION = "Transaction Debit or Credit"
GROSS = "Gross Transaction Amount"
CURRENCY = "Gross Transaction Currency"
FEE_DIRECTION = "Fee Debit or Credit"
FEE = "Fee Amount"
FEE_CURRENCY = "Fee Currency"
CUSTOM = "Custom Field"
REQUIRED = (
    TRANSACTION_ID,
    INVOICE_ID,
    EVENT_CODE,
    INITIATED,
    COMPLETED,
    DIRECTION,
    GROSS,
    CURRENCY,
    FEE_DIRECTION,
    FEE,
    FEE_CURRENCY,
)
_EVENT_CODE = re.compile(r"^T\d{4}$")

# T-code groups (developer.paypal.com/docs/reports/reference/tcodes): the group "is sufficient
# for reconciliation and report parsing"; single codes refine it where a group mixes kinds.
_GROUP_NAMES = {
    "T00": "payment",
    "T01": "fee",
    "T02": "currency conversion",
    "T03": "bank deposit",
    "T04": "withdrawal",
    "T05": "debit card",
    "T06": "credit card withdrawal",
    "T07": "funding",
    "T08": "bonus",
    "T09": "incentive",
    "T10": "bill pay",
    "T11": "reversal",
    "T12": "adjustment",
    "T15": "hold",
    "T21": "reserve or release",
}
# The codes a retailer sees most, named as in PayPal's T-code reference.
_CODE_NAMES = {
    "T0000": "payment received",
    "T0006": "PayPal Checkout payment",
    "T0007": "website payment",
    "T0106": "chargeback processing fee",
    "T0400": "withdrawal to bank",
    "T1106": "payment reversal by PayPal",
    "T1107": "payment refund",
    "T1108": "fee reversal",
    "T1201": "chargeback",
    "T1202": "chargeback reversal",
}
_CHARGEBACK = frozenset({"T1106", "T1201", "T1207"})  # PayPal-initiated reversal, chargeback
_CHARGEBACK_REVERSAL = frozenset({"T1202", "T1205", "T1208"})  # reversed, reimbursed, cancelled
_FEE_REVERSAL = frozenset({"T1108", "T1109"})
_HOLDS = frozenset({"T1105", "T1110", "T1111"})  # account hold released, dispute hold and release
# T11xx reversals that are not refunds to a customer: ACH withdrawal / deposit, debit card,
# points, MassPay reversals and refunds, cashback.
_NOT_REFUNDS = frozenset({"T1101", "T1102", "T1103", "T1104", "T1112", "T1114", "T1115", "T1117"})


def parse(data: bytes, on_progress: Progress | None = None) -> list[Settlement]:
    """Every (section, currency) settlement in a PayPal STL file, or ``SettlementFileError``."""
    report = _Report()
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    consumed = 0
    pending = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise SettlementFileError(reader.line_num, f"not readable as CSV: {exc}") from None
        pending += reader.line_num - consumed
        consumed = reader.line_num
        if pending >= PROGRESS_EVERY and on_progress is not None:
            on_progress(pending)
            pending = 0
        report.take(reader.line_num, [value.strip() for value in fields])
    if on_progress is not None and pending:
        on_progress(pending)
    report.finish(consumed)
    return report.settlements()


def _decode(data: bytes) -> str:
    # UTF-8, "possibly with a BOM" (spec 9.0.3); reports from before v7 were UTF-16, as Magento's
    # PayPal settlement reader still expects (Magento/Paypal/Model/Report/Settlement.php).
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SettlementFileError(line, "the file is not UTF-8 text") from None


@dataclass(frozen=True, slots=True)
class _Withdrawal:
    currency: str
    amount: int  # signed: a withdrawal to the bank is negative, a returned one positive
    day: date


@dataclass
class _Section:
    line_no: int  # of its SH row
    account_id: str
    start: datetime
    end: datetime
    report_day: date  # the day the data is for, as PayPal names the file (STL-yyyymmdd)
    body_rows: int = 0
    counted: bool = False  # its SC record has been read and checked
    lines: list[SettlementLine] = field(default_factory=list)
    withdrawals: list[_Withdrawal] = field(default_factory=list)


class _Report:
    """The file read so far: header facts, the sections, the checks still owed."""

    def __init__(self) -> None:
        self.account_id = ""
        self.seen_header = False
        self.seen_footer = False
        self.report_counted = False
        self.columns: dict[str, int] | None = None
        self.sections: list[_Section] = []
        self.body_rows = 0

    def take(self, line: int, fields: list[str]) -> None:
        if not any(fields):
            return  # a blank line
        record = fields[0].upper()
        if not self.seen_header and record != "RH":
            raise SettlementFileError(
                line,
                f"not a PayPal settlement report: the first record is {fields[0]!r}, "
                "expected the RH report header",
            )
        if self.seen_footer:
            raise SettlementFileError(line, f"a {record} record after the FF file footer")
        handler = {
            "RH": self._report_header,
            "FH": _ignore,
            "SH": self._section_header,
            "CH": self._column_header,
            "SB": self._body,
            "SF": _ignore,  # per-currency totals; the lines are checked against the withdrawal
            "SC": self._section_count,
            "RF": _ignore,
            "RC": self._report_count,
            "FF": self._file_footer,
        }.get(record)
        if handler is None:
            raise SettlementFileError(line, f"unknown record type {fields[0]!r}")
        handler(line, fields)

    def _report_header(self, line: int, fields: list[str]) -> None:
        if self.seen_header:
            raise SettlementFileError(line, "a second RH report header")
        self.seen_header = True
        self.account_id = _field(fields, 3)

    def _section_header(self, line: int, fields: list[str]) -> None:
        self._require_counted()
        start = timestamp(_field(fields, 1), line, "section start", _DATE_FORMATS)
        end_text = _field(fields, 2)
        end = timestamp(end_text, line, "section end", _DATE_FORMATS)
        account = _field(fields, 3) or self.account_id
        if not account:
            raise SettlementFileError(line, "the section header names no account id")
        self.sections.append(_Section(line, account, start, end, _local_day(end_text, line)))
        self.columns = None  # each section repeats its CH row

    def _column_header(self, line: int, fields: list[str]) -> None:
        names = [_column_name(name) for name in fields]
        missing = [name for name in REQUIRED if _column_name(name) not in names]
        if missing:
            raise SettlementFileError(
                line,
                "not a PayPal settlement report: the CH column header lacks "
                + ", ".join(repr(name) for name in missing),
            )
        self.columns = {name: index for index, name in reversed(list(enumerate(names)))}

    def _body(self, line: int, fields: list[str]) -> None:
        if not self.sections or self.sections[-1].counted:
            raise SettlementFileError(line, "an SB row outside a section (no SH header before it)")
        if self.columns is None:
            raise SettlementFileError(line, "an SB row before the CH column header")
        section = self.sections[-1]
        section.body_rows += 1
        self.body_rows += 1
        _Body(line, fields, self.columns).into(section)

    def _section_count(self, line: int, fields: list[str]) -> None:
        if not self.sections or self.sections[-1].counted:
            raise SettlementFileError(line, "an SC record count with no open section")
        section = self.sections[-1]
        stated = _count(fields, line, "SC section record count")
        if stated != section.body_rows:
            raise SettlementFileError(
                line,
                f"the section from line {section.line_no} says it has {stated} SB rows but "
                f"{section.body_rows} were read: the file is incomplete or altered",
            )
        section.counted = True

    def _report_count(self, line: int, fields: list[str]) -> None:
        self._require_counted()
        stated = _count(fields, line, "RC report record count")
        if stated != self.body_rows:
            raise SettlementFileError(
                line,
                f"the report says it has {stated} SB rows but {self.body_rows} were read: "
                "the file is incomplete or altered",
            )
        self.report_counted = True

    def _file_footer(self, line: int, fields: list[str]) -> None:
        self.seen_footer = True

    def _require_counted(self) -> None:
        if self.sections and not self.sections[-1].counted:
            section = self.sections[-1]
            raise SettlementFileError(
                section.line_no, "this section ends without its SC section record count"
            )

    def finish(self, last_line: int) -> None:
        if not self.seen_header:
            raise SettlementFileError(1, "the file is empty: expected the RH report header")
        if not self.seen_footer:
            raise SettlementFileError(
                last_line, "the file ends without its FF file footer: it is truncated"
            )
        self._require_counted()
        if not self.report_counted:
            raise SettlementFileError(last_line, "the file has no RC report record count")

    def settlements(self) -> list[Settlement]:
        currencies = {line.currency for s in self.sections for line in s.lines}
        currencies |= {w.currency for s in self.sections for w in s.withdrawals}
        several = len(currencies) > 1
        result: list[Settlement] = []
        for section in self.sections:
            result.extend(_settle(section, several))
        ids = [s.settlement_id for s in result]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise SettlementFileError(
                self.sections[-1].line_no,
                f"two sections for the same account and day ({', '.join(duplicates)})",
            )
        return result


def _settle(section: _Section, several_currencies: bool) -> list[Settlement]:
    order: list[str] = []
    for currency in [line.currency for line in section.lines] + [
        w.currency for w in section.withdrawals
    ]:
        if currency not in order:
            order.append(currency)
    result = []
    for currency in order:
        lines = tuple(line for line in section.lines if line.currency == currency)
        withdrawals = [w for w in section.withdrawals if w.currency == currency]
        settlement_id = f"{section.account_id}:{section.report_day.isoformat()}"
        if several_currencies:
            settlement_id += f":{currency}"
        if withdrawals:
            total = -sum(w.amount for w in withdrawals)
            deposit: date | None = withdrawals[-1].day
        else:
            # Nothing was swept to the bank: the day's net stays on the PayPal balance.
            total, deposit = sum(line.amount for line in lines), None
        result.append(
            Settlement(
                gateway=GATEWAY,
                settlement_id=settlement_id,
                currency=currency,
                total=total,
                deposit_date=deposit,
                lines=tuple(replace(line, settlement_id=settlement_id) for line in lines),
                period_start=section.start,
                period_end=section.end,
            )
        )
    return result


class _Body:
    """One SB row, read by column name."""

    def __init__(self, line: int, fields: list[str], columns: dict[str, int]) -> None:
        self.line = line
        self.fields = fields
        self.columns = columns

    def get(self, name: str) -> str:
        index = self.columns.get(_column_name(name))
        return self.fields[index] if index is not None and index < len(self.fields) else ""

    def into(self, section: _Section) -> None:
        code = self.get(EVENT_CODE).upper()
        if not _EVENT_CODE.match(code):
            raise SettlementFileError(
                self.line, f"{EVENT_CODE} {self.get(EVENT_CODE)!r} is not a T-code"
            )
        currency = self._currency(CURRENCY)
        gross = _direction(self.get(DIRECTION), self.line, "Transaction Debit or Credit") * (
            _units(self.get(GROSS), self.line, "Gross Transaction Amount")
        )
        when = self.get(INITIATED) or self.get(COMPLETED)
        occurred = timestamp(when, self.line, "Transaction Initiation Date", _DATE_FORMATS)
        if code.startswith("T04"):
            # A withdrawal to the bank is the payout, not a line of it.
            paid = self.get(COMPLETED) or when
            section.withdrawals.append(_Withdrawal(currency, gross, _local_day(paid, self.line)))
        elif gross:
            section.lines.append(self._line(_kind(code, gross), gross, currency, occurred, code))
        fee_units = _units(self.get(FEE) or "0", self.line, "Fee Amount")
        if fee_units:
            fee = _direction(self.get(FEE_DIRECTION), self.line, "Fee Debit or Credit") * fee_units
            fee_currency = self._currency(FEE_CURRENCY) if self.get(FEE_CURRENCY) else currency
            section.lines.append(
                self._line(LineKind.FEE, fee, fee_currency, occurred, code, "PayPal fee")
            )

    def _line(
        self,
        kind: LineKind,
        amount: int,
        currency: str,
        occurred: datetime,
        code: str,
        what: str = "",
    ) -> SettlementLine:
        name = _CODE_NAMES.get(code) or _GROUP_NAMES.get(code[:3], "other")
        description = f"{code} {name}" + (f" ({what})" if what else "")
        return SettlementLine(
            gateway=GATEWAY,
            settlement_id="",  # set once the file's currencies are known
            line_no=self.line,
            kind=kind,
            amount=amount,
            currency=currency,
            occurred_at=occurred,
            transaction_id=self.get(TRANSACTION_ID) or None,
            order_ref=self.get(INVOICE_ID) or self.get(CUSTOM) or None,
            description=description,
        )

    def _currency(self, column: str) -> str:
        try:
            return check_currency(self.get(column))
        except MoneyError as exc:
            raise SettlementFileError(self.line, f"{column}: {exc}") from None


def _kind(code: str, signed: int) -> LineKind:
    """What a T-code means for the merchant's books (the sign tells sent from received)."""
    group = code[:3]
    if group == "T00":
        # A T00xx credit is a customer's payment; a debit is a payment the merchant sent.
        return LineKind.CHARGE if signed > 0 else LineKind.ADJUSTMENT
    if group == "T01" or code in _FEE_REVERSAL:
        return LineKind.FEE
    if code in _CHARGEBACK:
        return LineKind.CHARGEBACK
    if code in _CHARGEBACK_REVERSAL:
        return LineKind.CHARGEBACK_REVERSAL
    if code in _HOLDS or group in ("T15", "T21"):
        return LineKind.RESERVE
    if group == "T11" and code not in _NOT_REFUNDS:
        return LineKind.REFUND  # T1107 payment refund, T1100 general reversal, …
    return LineKind.ADJUSTMENT


def _direction(text: str, line: int, what: str) -> int:
    flag = text.strip().upper()
    if flag == "CR":
        return 1
    if flag == "DR":
        return -1
    raise SettlementFileError(line, f"{what} is {text!r}, expected CR or DR")


def _units(text: str, line: int, what: str) -> int:
    raw = text.strip()
    if not (raw.isascii() and raw.isdigit()):
        raise SettlementFileError(
            line, f"{what} {text!r} is not an unsigned whole number of minor units"
        )
    return int(raw)


def _count(fields: list[str], line: int, what: str) -> int:
    raw = _field(fields, 1)
    if not (raw.isascii() and raw.isdigit()):
        raise SettlementFileError(line, f"{what} {raw!r} is not a number")
    return int(raw)


def _local_day(text: str, line: int) -> date:
    """The calendar day as PayPal wrote it (its reporting time zone), not converted to UTC."""
    raw = text.strip()[:10].replace("-", "/")
    try:
        return datetime.strptime(raw, "%Y/%m/%d").date()
    except ValueError:
        raise SettlementFileError(line, f"{text.strip()!r} is not a date we understand") from None


def _field(fields: list[str], index: int) -> str:
    return fields[index] if index < len(fields) else ""


def _column_name(name: str) -> str:
    # Real files have spelled "Transaction  Debit or Credit" with two spaces (Magento's
    # column map), so compare names with whitespace collapsed and case folded.
    return " ".join(name.split()).casefold()


def _ignore(line: int, fields: list[str]) -> None:
    return None
