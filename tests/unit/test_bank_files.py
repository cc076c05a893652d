"""Bank statements in CSV, CAMT.053 and OFX: one week of a shop's USD account, read every way.

The fixtures (tests/fixtures/bank/README.md) hold the same bookings: rent and card fees going
out, then a Stripe payout, an Amazon settlement and a PayPal transfer coming in. Whatever the
bank's format, reconciliation must see the same deposits.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ofxtools.Parser import OFXTree

from retailhub.adapters.files.bank import (
    FORMATS,
    BankFileError,
    csv_statement,
    detect_format,
    read_bank_statement,
)
from retailhub.domain.bank import BankLine

FIXTURES = Path(__file__).parent.parent / "fixtures" / "bank"
IBAN = "DE89370400440532013000"
ALL_FILES = (
    "statement.csv",
    "statement-eu.csv",
    "statement.camt053.xml",
    "statement-v1.ofx",
    "statement-v2.ofx",
)


def deposit(day: int, amount: int, reference: str, counterparty: str) -> BankLine:
    return BankLine(
        account=IBAN,
        line_no=0,
        booked_on=date(2026, 10, day),
        amount=amount,
        currency="USD",
        reference=reference,
        bank_ref=f"BK-202610{day:02d}-0001",
        counterparty=counterparty,
    )


DEPOSITS = [
    deposit(5, 123456, "STRIPE PAYOUT po_1Example", "STRIPE"),
    deposit(6, 876543, "AMAZON SETTLEMENT 12345678901", "AMAZON PAYMENTS INC"),
    deposit(7, 51230, "PAYPAL TRANSFER 4PX12345AB6789012", "PAYPAL"),
]


def without_position(line: BankLine, *, counterparty: bool = True) -> BankLine:
    if counterparty:
        return dataclasses.replace(line, line_no=0)
    return dataclasses.replace(line, line_no=0, counterparty=None)


def write(tmp_path: Path, content: str | bytes, name: str = "statement") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def lines_of(path: Path, pattern: bytes) -> list[int]:
    data = path.read_bytes()
    return [data.count(b"\n", 0, m.start()) + 1 for m in re.finditer(pattern, data)]


# --- the same deposits, whatever the format ---------------------------------------------------


@pytest.mark.parametrize("name", ["statement.csv", "statement-eu.csv", "statement.camt053.xml"])
def test_the_three_payouts_read_the_same_from_csv_and_camt(name: str) -> None:
    lines = read_bank_statement(FIXTURES / name)
    assert [without_position(line) for line in lines if line.amount > 0] == DEPOSITS


@pytest.mark.parametrize("name", ["statement-v1.ofx", "statement-v2.ofx"])
def test_the_three_payouts_read_the_same_from_ofx_which_names_no_counterparty(name: str) -> None:
    lines = read_bank_statement(FIXTURES / name)
    deposits = [line for line in lines if line.amount > 0]
    assert all(line.counterparty is None for line in deposits)
    expected = [without_position(d, counterparty=False) for d in DEPOSITS]
    assert [without_position(line, counterparty=False) for line in deposits] == expected


@pytest.mark.parametrize("name", ALL_FILES)
def test_every_statement_moves_the_balance_from_opening_to_closing(name: str) -> None:
    # opening 10,000.00, closing 15,974.44 (the CAMT Bal and OFX LEDGERBAL elements)
    lines = read_bank_statement(FIXTURES / name)
    assert sum(line.amount for line in lines) == 1597444 - 1000000
    assert [line.amount for line in lines if line.amount < 0] == [-450000, -3785]
    assert {line.currency for line in lines} == {"USD"}
    assert {line.account for line in lines} == {IBAN}


def test_the_european_export_reads_exactly_like_the_documented_layout() -> None:
    assert read_bank_statement(FIXTURES / "statement-eu.csv") == read_bank_statement(
        FIXTURES / "statement.csv"
    )


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("statement.csv", "csv"),
        ("statement-eu.csv", "csv"),
        ("statement.camt053.xml", "camt053"),
        ("statement-v1.ofx", "ofx"),
        ("statement-v2.ofx", "ofx"),
    ],
)
def test_the_format_is_told_from_the_content(name: str, fmt: str) -> None:
    assert fmt in FORMATS
    assert detect_format((FIXTURES / name).read_bytes()) == fmt
    assert read_bank_statement(FIXTURES / name, fmt) == read_bank_statement(FIXTURES / name)


# --- positions, for the audit and for error messages ------------------------------------------


def test_each_line_remembers_where_it_was_in_the_file() -> None:
    camt = FIXTURES / "statement.camt053.xml"
    assert [line.line_no for line in read_bank_statement(camt)] == lines_of(camt, rb"<Ntry>")
    for name in ("statement-v1.ofx", "statement-v2.ofx"):
        ofx = FIXTURES / name
        assert [line.line_no for line in read_bank_statement(ofx)] == lines_of(ofx, rb"<STMTTRN>")
    csv_lines = read_bank_statement(FIXTURES / "statement.csv")
    assert [line.line_no for line in csv_lines] == [2, 3, 4, 5, 6]


# --- CSV ---------------------------------------------------------------------------------------

HEADER = "date,amount,currency,reference,bank_ref\n"


def test_csv_takes_the_account_from_the_import_when_the_file_has_none(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "2026-10-05,1234.56,usd,STRIPE PAYOUT po_1Example,\n")
    (line,) = read_bank_statement(path, account="Main USD")
    assert (line.account, line.amount, line.currency, line.bank_ref) == (
        "Main USD",
        123456,
        "USD",
        None,
    )
    with pytest.raises(BankFileError, match="no account") as err:
        read_bank_statement(path)
    assert err.value.line == 2


def test_csv_slash_dates_are_day_first_and_us_dates_are_refused(tmp_path: Path) -> None:
    ok = write(tmp_path, HEADER + "05/10/2026,1.00,USD,x,\n", "ok.csv")
    assert read_bank_statement(ok, account="A")[0].booked_on == date(2026, 10, 5)
    us = write(tmp_path, HEADER + "05/10/2026,1.00,USD,x,\n10/13/2026,2.00,USD,y,\n", "us.csv")
    with pytest.raises(BankFileError, match=r"'10/13/2026'.*day first") as err:
        read_bank_statement(us, account="A")
    assert err.value.line == 3


@pytest.mark.parametrize(
    ("rows", "line"),
    [
        # a quoted reference running over two lines, then a blank line, then the bad line
        ('2026-10-05,1.00,USD,"two\nlines",\n\n2026-10-06,oops,USD,x,\n', 6),
        # the bad line is the one spread over two lines: named by the line it starts on
        ('2026-10-05,1.00,USD,x,\n2026-10-06,oops,USD,"two\nlines",\n', 4),
    ],
)
def test_csv_line_numbers_count_blank_lines_and_quoted_line_breaks(
    tmp_path: Path, rows: str, line: int
) -> None:
    text = "\n" + HEADER + rows
    with pytest.raises(BankFileError, match="'oops' is not a number") as err:
        read_bank_statement(write(tmp_path, text), account="A")
    assert err.value.line == line
    assert str(err.value).startswith(f"line {line}: ")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("date,currency,reference\n2026-10-05,USD,x\n", 1, r"missing column\(s\) amount"),
        ("date,amount,reference\n", 1, r"missing column\(s\) currency"),
        ("date,debit,currency,reference\n", 1, r"missing column\(s\) credit"),
        ("date,amount,debit,credit,currency,reference\n", 1, "either an amount column or"),
        ("date,amount,currency,refrence\n", 1, r"unknown column\(s\) 'refrence'"),
        ("date,amount,amount,currency,reference\n", 1, "more than once"),
        (HEADER + "2026-10-05,1.00,USD,x,\n2026-10-06,,USD,y,\n", 3, "amount is empty"),
        (HEADER + '2026-10-05,"1,234.567",USD,x,\n', 2, "more decimals than USD allows"),
        (HEADER + "2026-10-05,1.00,US$,x,\n", 2, "not a three-letter currency code"),
        (HEADER + "2026-10-05,1,234.56,USD,x,\n", 2, "must be in double quotes"),
        (HEADER + "yesterday,1.00,USD,x,\n", 2, "'yesterday' is not a date"),
        ("date,debit,credit,currency,reference\n2026-10-05,,,USD,x\n", 2, "neither debit nor"),
        ("date,debit,credit,currency,reference\n2026-10-05,1,2,USD,x\n", 2, "both debit"),
        ("date,debit,credit,currency,reference\n2026-10-05,,-2,USD,x\n", 2, "negative"),
    ],
)
def test_csv_a_bad_file_is_refused_naming_the_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    with pytest.raises(BankFileError, match=message) as err:
        read_bank_statement(write(tmp_path, text), "csv", account="A")
    assert err.value.line == line


def test_csv_a_trailing_delimiter_on_every_line_is_harmless(tmp_path: Path) -> None:
    text = "date;amount;currency;reference;\n05.10.2026;1234,56;USD;STRIPE PAYOUT po_1Example;\n"
    (line,) = read_bank_statement(write(tmp_path, text), account="A")
    assert (line.amount, line.reference) == (123456, "STRIPE PAYOUT po_1Example")


def test_csv_debit_column_is_money_out_whatever_sign_the_bank_wrote(tmp_path: Path) -> None:
    text = "date;debit;credit;currency;reference\n02.10.2026;-37,85;;USD;FEES\n"
    assert read_bank_statement(write(tmp_path, text), account="A")[0].amount == -3785


@settings(max_examples=150, deadline=None)
@given(
    minor=st.integers(min_value=-(10**11), max_value=10**11),
    european=st.booleans(),
)
def test_csv_any_amount_survives_either_decimal_convention(minor: int, european: bool) -> None:
    whole, cents = divmod(abs(minor), 100)
    grouped = f"{whole:,}"
    text = (
        f"{'-' if minor < 0 else ''}{grouped.replace(',', '.')},{cents:02d}"
        if european
        else f"{'-' if minor < 0 else ''}{grouped}.{cents:02d}"
    )
    data = f'date;amount;currency;reference\n2026-10-05;"{text}";EUR;x\n'.encode()
    assert csv_statement.parse(data, "A")[0].amount == minor


# --- CAMT.053 ----------------------------------------------------------------------------------

CAMT_08 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-10-07T22:00:00+02:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>S1</Id>
      <Acct><Id><Othr><Id>000123456789</Id></Othr></Id></Acct>
      <Ntry>
        <Amt Ccy="EUR">250.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><DtTm>2026-10-05T23:30:00-05:00</DtTm></BookgDt>
        <AcctSvcrRef>R1</AcctSvcrRef>
        <NtryDtls><TxDtls>
          <RltdPties><Dbtr><Pty><Nm>ADYEN N.V.</Nm></Pty></Dbtr></RltdPties>
          <RmtInf><Strd><CdtrRefInf><Ref>RF18539007547034</Ref></CdtrRefInf></Strd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">99.00</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <Sts><Cd>PDNG</Cd></Sts>
        <BookgDt><Dt>2026-10-06</Dt></BookgDt>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""


def test_camt_later_versions_read_by_local_name(tmp_path: Path) -> None:
    (line,) = read_bank_statement(write(tmp_path, CAMT_08))  # the PDNG entry is not booked
    assert line == BankLine(
        account="000123456789",
        line_no=8,
        booked_on=date(2026, 10, 5),  # the bank's day, though 6 October in UTC
        amount=25000,
        currency="EUR",
        reference="RF18539007547034",
        bank_ref="R1",
        counterparty="ADYEN N.V.",
    )


def test_camt_a_cut_off_file_is_refused_at_its_end(tmp_path: Path) -> None:
    data = (FIXTURES / "statement.camt053.xml").read_bytes()
    cut = data[: data.index(b"<Amt", data.index(b"<Ntry>"))]
    with pytest.raises(BankFileError, match="malformed XML") as err:
        read_bank_statement(write(tmp_path, cut, "cut.xml"))
    assert err.value.line == cut.count(b"\n") + 1


@pytest.mark.parametrize(
    ("old", "new", "message", "element"),
    [
        ('<Amt Ccy="USD">1234.56</Amt>', "", "has no <Amt>", b"<Ntry>"),
        ('<Amt Ccy="USD">1234.56</Amt>', '<Amt Ccy="USD">12,34.56</Amt>', "not a number", b"<Amt"),
        ('<Amt Ccy="USD">1234.56</Amt>', '<Amt Ccy="USD">-1234.56</Amt>', "CdtDbtInd", b"<Amt"),
        ("<CdtDbtInd>CRDT</CdtDbtInd>", "<CdtDbtInd>C</CdtDbtInd>", "CRDT or DBIT", b"<CdtDbt"),
        ("<Dt>2026-10-05</Dt>", "<Dt>05.10.2026</Dt>", "not an ISO date", b"<Dt>05.10"),
    ],
)
def test_camt_a_bad_entry_is_refused_naming_its_line(
    tmp_path: Path, old: str, new: str, message: str, element: bytes
) -> None:
    data = (FIXTURES / "statement.camt053.xml").read_bytes()
    stripe = data.index(b"<AcctSvcrRef>BK-20261005")
    entry_start = data.rindex(b"<Ntry>", 0, stripe)
    entry_end = data.index(b"</Ntry>", stripe)
    entry = data[entry_start:entry_end]
    assert old.encode() in entry
    changed = data[:entry_start] + entry.replace(old.encode(), new.encode(), 1) + data[entry_end:]
    with pytest.raises(BankFileError, match=message) as err:
        read_bank_statement(write(tmp_path, changed, "bad.xml"))
    at = changed.index(element, entry_start)
    assert err.value.line == changed.count(b"\n", 0, at) + 1


def test_camt_entity_expansion_is_refused(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
        "<Document><BkToCstmrStmt>&b;</BkToCstmrStmt></Document>\n"
    )
    with pytest.raises(BankFileError, match="DTD or entities"):
        read_bank_statement(write(tmp_path, bomb), "camt053")


@pytest.mark.parametrize(
    ("root", "message"),
    [
        ("BkToCstmrAcctRpt", "camt.052"),
        ("BkToCstmrDbtCdtNtfctn", "camt.054"),
        ("Something", "neither a CAMT.053"),
    ],
)
def test_other_xml_is_not_taken_for_a_statement(tmp_path: Path, root: str, message: str) -> None:
    xml = f'<?xml version="1.0"?>\n<Document><{root}/></Document>\n'
    with pytest.raises(BankFileError, match=message):
        read_bank_statement(write(tmp_path, xml))


# --- OFX ---------------------------------------------------------------------------------------


def test_ofx_posting_day_is_the_banks_day_not_utc() -> None:
    path = FIXTURES / "statement-v1.ofx"
    tree = OFXTree()
    tree.parse(str(path))
    amazon = tree.convert().statements[0].banktranlist[3]
    assert amazon.dtposted.date() == date(2026, 10, 7)  # ofxtools' UTC moment
    assert read_bank_statement(path)[3].booked_on == date(2026, 10, 6)


def test_ofx_with_a_byte_order_mark_reads_the_same(tmp_path: Path) -> None:
    data = (FIXTURES / "statement-v2.ofx").read_bytes()
    path = write(tmp_path, b"\xef\xbb\xbf" + data, "bom.ofx")
    assert read_bank_statement(path) == read_bank_statement(FIXTURES / "statement-v2.ofx")


def test_ofx_rent_joins_name_and_memo(tmp_path: Path) -> None:
    rent = read_bank_statement(FIXTURES / "statement-v1.ofx")[0]
    assert rent.reference == "ACME PROPERTIES LLC RENT OCTOBER 2026 UNIT 12"


def _v2_with(tmp_path: Path, old: bytes, new: bytes) -> Path:
    data = (FIXTURES / "statement-v2.ofx").read_bytes()
    assert old in data
    return write(tmp_path, data.replace(old, new, 1), "changed.ofx")


def test_ofx_a_foreign_currency_transaction_keeps_its_currency(tmp_path: Path) -> None:
    path = _v2_with(
        tmp_path,
        b"<MEMO>12345678901</MEMO>",
        b"<MEMO>12345678901</MEMO><CURRENCY><CURRATE>1.1</CURRATE><CURSYM>EUR</CURSYM></CURRENCY>",
    )
    amazon = read_bank_statement(path)[3]
    assert (amazon.amount, amazon.currency) == (876543, "EUR")


@pytest.mark.parametrize(
    ("old", "new", "message", "line"),
    [
        (b"<TRNAMT>1234.56", b"<TRNAMT>12x4.56", "BK-20261005-0001: TRNAMT '12x4.56' is not", 49),
        (b"<TRNAMT>1234.56", b"<TRNAMT>1234.567", "more decimals than USD allows", 49),
        (b"<FITID>BK-20261005-0001</FITID>", b"", "fitid", 49),
        (b"<DTPOSTED>20261005<", b"<DTPOSTED>2026-10-05<", "dtposted", 49),
        (b"<TRNAMT>1234.56</TRNAMT>", b"<TRNAMT>1234.56</TRNAMT>junk", "text 'junk' stands", 52),
        (
            b"<FITID>BK-20261005-0001</FITID>",
            b"<FITID>X</FITID><CORRECTFITID>BK-1</CORRECTFITID>"
            b"<CORRECTACTION>DELETE</CORRECTACTION>",
            "corrections",
            49,
        ),
    ],
)
def test_ofx_a_bad_transaction_is_refused_naming_its_line(
    tmp_path: Path, old: bytes, new: bytes, message: str, line: int
) -> None:
    with pytest.raises(BankFileError, match=message) as err:
        read_bank_statement(_v2_with(tmp_path, old, new))
    assert err.value.line == line


def test_ofx_a_cut_off_download_is_refused_not_read_short(tmp_path: Path) -> None:
    data = (FIXTURES / "statement-v1.ofx").read_bytes()
    cut = data[: data.index(b"<STMTTRN>", data.index(b"BK-20261005"))]
    with pytest.raises(BankFileError, match="cut off"):
        read_bank_statement(write(tmp_path, cut, "cut.ofx"))


def test_ofx_garbage_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(BankFileError, match=r"OFX header .* is missing or malformed"):
        read_bank_statement(write(tmp_path, "OFXHEADER:100\nthis is not ofx\n"))
    with pytest.raises(BankFileError, match="closing tag was never opened"):
        read_bank_statement(_v2_with(tmp_path, b"</OFX>", b"</OFX></OFX>"))


def test_ofx_a_bank_error_instead_of_a_statement_is_reported(tmp_path: Path) -> None:
    data = (FIXTURES / "statement-v2.ofx").read_bytes()
    signon_only = (
        data.split(b"<BANKMSGSRSV1>")[0]
        .replace(b"<CODE>0</CODE>", b"<CODE>15500</CODE>")
        .replace(
            b"<SEVERITY>INFO</SEVERITY>", b"<SEVERITY>ERROR</SEVERITY><MESSAGE>Bad login</MESSAGE>"
        )
    )
    with pytest.raises(BankFileError, match="error 15500: Bad login"):
        read_bank_statement(write(tmp_path, signon_only + b"</OFX>\n", "err.ofx"))


# --- the front door ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"%PDF-1.7\n...", "PDF"),
        (b"PK\x03\x04\x14\x00", "Excel"),
    ],
)
def test_files_that_are_no_statement_are_named_for_what_they_are(
    tmp_path: Path, content: bytes, message: str
) -> None:
    with pytest.raises(BankFileError, match=message) as err:
        read_bank_statement(write(tmp_path, content))
    assert err.value.line == 0


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BankFileError, match="unknown bank statement format 'mt940'"):
        read_bank_statement(FIXTURES / "statement.csv", "mt940")
    with pytest.raises(BankFileError, match="cannot read"):
        read_bank_statement(tmp_path / "missing.csv")
