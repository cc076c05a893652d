"""Amazon V2 and PayPal STL settlement files become exact, signed settlement lines — or are refused.

Totals in the fixtures are hand-computed in their READMEs
(``tests/fixtures/settlements/{amazon,paypal}/README.md``) and repeated where asserted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from retailhub.adapters.files.settlements import (
    SettlementFileError,
    amazon_v2,
    paypal_stl,
    read_settlements,
)
from retailhub.adapters.files.settlements.common import Progress
from retailhub.domain.settlements import LineKind, Settlement

FIXTURES = Path(__file__).parents[1] / "fixtures" / "settlements"
US = FIXTURES / "amazon" / "v2-us-fba-refund-reserve.txt"
DE = FIXTURES / "amazon" / "v2-de-eu-locale.txt"
BOM_CRLF = FIXTURES / "amazon" / "v2-us-bom-crlf.txt"
STL_DAY = FIXTURES / "paypal" / "STL-20240820.01.009.CSV"
STL_TWO_CURRENCIES = FIXTURES / "paypal" / "STL-20240821.01.009.CSV"

C, R, CB, CBR = LineKind.CHARGE, LineKind.REFUND, LineKind.CHARGEBACK, LineKind.CHARGEBACK_REVERSAL
FEE, COM, RES, ADJ = LineKind.FEE, LineKind.COMMISSION, LineKind.RESERVE, LineKind.ADJUSTMENT


def only(settlements: list[Settlement]) -> Settlement:
    assert len(settlements) == 1
    return settlements[0]


def rows(settlement: Settlement) -> list[tuple[int, LineKind, int, str | None, str | None]]:
    return [
        (line.line_no, line.kind, line.amount, line.transaction_id, line.order_ref)
        for line in settlement.lines
    ]


Parser = Callable[[bytes, Progress | None], list[Settlement]]


def refused(parse: Parser, data: bytes) -> SettlementFileError:
    with pytest.raises(SettlementFileError) as caught:
        parse(data, None)
    return caught.value


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def without_line(path: Path, number: int) -> bytes:
    kept = lines_of(path)
    del kept[number - 1]
    return b"".join(kept)


# --- Amazon V2 -------------------------------------------------------------------------------

A1, A2, A3, A4 = (
    "111-4827305-1938462",
    "111-9051174-6620318",
    "111-3370428-5149206",
    "111-7714620-2286153",
)
A1_REFUND = "37512046182"


def test_an_amazon_fortnight_keeps_every_fee_commission_refund_and_reserve_as_its_own_line() -> (
    None
):
    settlement = only(amazon_v2.parse(US.read_bytes(), None))
    assert (settlement.gateway, settlement.settlement_id, settlement.currency) == (
        "amazon",
        "12345678901",
        "USD",
    )
    # 22.37 + 25.13 + 10.97 - 15.39 + 13.31 - 27.48 = 28.91, the summary's total-amount
    assert settlement.total == 2891
    assert settlement.unexplained == 0
    assert settlement.deposit_date == date(2023, 1, 17)
    assert settlement.period_start == datetime(2023, 1, 1, 8, tzinfo=UTC)
    assert settlement.period_end == datetime(2023, 1, 15, 8, tzinfo=UTC)
    assert rows(settlement) == [
        # order 1: two tees, FBA, a $5 promotion, marketplace facilitator tax withheld
        (3, C, 3998, A1, A1),
        (4, C, 320, A1, A1),
        (5, C, -500, A1, A1),
        (6, ADJ, -320, A1, A1),
        (7, COM, -736, A1, A1),
        (8, COM, -525, A1, A1),
        # order 2: merchant-fulfilled cap with shipping, shipping tax and ShippingHB
        (9, C, 2499, A2, A2),
        (10, C, 200, A2, A2),
        (11, C, 599, A2, A2),
        (12, C, 48, A2, A2),
        (13, ADJ, -200, A2, A2),
        (14, ADJ, -48, A2, A2),
        (15, COM, -465, A2, A2),
        (16, COM, -120, A2, A2),
        # order 3: a mug, FBA
        (17, C, 1850, A3, A3),
        (18, C, 148, A3, A3),
        (19, ADJ, -148, A3, A3),
        (20, COM, -475, A3, A3),
        (21, COM, -278, A3, A3),
        # one tee of order 1 refunded: the refund has its own adjustment id, the commission
        # comes back less Amazon's RefundCommission
        (22, R, -1999, A1_REFUND, A1),
        (23, R, -160, A1_REFUND, A1),
        (24, R, 250, A1_REFUND, A1),
        (25, ADJ, 160, A1_REFUND, A1),
        (26, COM, 262, A1_REFUND, A1),
        (27, COM, -52, A1_REFUND, A1),
        # order 4
        (28, C, 1999, A4, A4),
        (29, C, 160, A4, A4),
        (30, ADJ, -160, A4, A4),
        (31, COM, -368, A4, A4),
        (32, COM, -300, A4, A4),
        # the account: reserve released and held again, fees, a warehouse-damage reimbursement
        (33, RES, 4500, None, None),
        (34, FEE, -3999, None, None),
        (35, FEE, -312, None, None),
        (36, ADJ, 863, "37519982204", None),
        (37, RES, -3800, None, None),
    ]
    assert settlement.by_kind() == {
        C: 11321,
        R: -1909,
        COM: -3057,
        ADJ: 147,  # facilitator tax -7.16 and the reimbursement +8.63
        RES: 700,
        FEE: -4311,
    }
    first = settlement.lines[0]
    assert first.occurred_at == datetime(2023, 1, 3, 14, 23, 44, tzinfo=UTC)
    assert first.description == "Order ItemPrice/Principal sku TEE-BLK-M"
    assert all(line.settlement_id == "12345678901" for line in settlement.lines)


def test_a_german_file_with_comma_decimals_dotted_dates_and_only_a_posted_date() -> None:
    settlement = only(amazon_v2.parse(DE.read_bytes(), None))
    assert settlement.currency == "EUR"
    # 1,499.00 + 4.99 - 225.60 + 24.90 - 3.74 - 3.29 - 59.00 + 8.85 - 12.50 = 1,233.61
    assert settlement.total == 123361 and settlement.unexplained == 0
    assert settlement.deposit_date == date(2023, 2, 17)
    assert settlement.period_end == datetime(2023, 2, 15, 8, tzinfo=UTC)
    chargeback = "40128837715"
    assert [(n, kind, amount) for n, kind, amount, _, _ in rows(settlement)] == [
        (3, C, 149900),
        (4, C, 499),
        (5, COM, -22560),
        (6, C, 2490),
        (7, COM, -374),
        (8, COM, -329),
        (9, CB, -5900),
        (10, COM, 885),  # the commission handed back with the chargeback
        (11, FEE, -1250),  # "-12,50" storage fee
    ]
    assert settlement.lines[6].transaction_id == chargeback
    assert settlement.lines[6].order_ref == "302-4409173-2285560"
    assert settlement.lines[0].occurred_at == datetime(2023, 2, 3, tzinfo=UTC)


def test_a_windows_download_with_bom_crlf_iso_dates_and_a_trailing_empty_column() -> None:
    data = BOM_CRLF.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\t\r\n" in data  # the quirks are really there
    settlement = only(amazon_v2.parse(data, None))
    assert settlement.settlement_id == "12345678902"  # the BOM did not stick to the first column
    # 49.99 + 4.12 - 4.12 - 5.40 - 7.50 - 12.40 = 24.69
    assert settlement.total == 2469 and settlement.unexplained == 0
    assert settlement.period_start == datetime(2023, 3, 1, 8, tzinfo=UTC)
    assert [(line.kind, line.amount) for line in settlement.lines] == [
        (C, 4999),
        (C, 412),
        (ADJ, -412),
        (COM, -540),
        (COM, -750),
        (FEE, -1240),  # ServiceFee / Cost of Advertising
    ]
    assert settlement.lines[0].occurred_at == datetime(2023, 3, 2, 10, 15, tzinfo=UTC)


def test_a_reserve_row_with_a_blank_transaction_type_is_still_a_reserve() -> None:
    data = US.read_bytes().replace(
        b"\tother-transaction\t\t\t\t\t\tother-transaction\tCurrent Reserve Amount",
        b"\t\t\t\t\t\t\tother-transaction\tCurrent Reserve Amount",
    )
    settlement = only(amazon_v2.parse(data, None))
    assert settlement.lines[-1].kind is RES and settlement.lines[-1].amount == -3800


@pytest.mark.parametrize(
    ("transaction_type", "amount_type", "description", "kind"),
    [
        ("Order", "ItemPrice", "GiftWrap", C),
        ("Order", "ItemFees", "ShippingChargeback", COM),  # a fee, not a chargeback
        ("Refund", "Promotion", "Shipping", R),
        ("Refund", "ItemWithheldTax", "MarketplaceFacilitatorTax-Shipping", ADJ),
        ("Chargeback Refund", "ItemPrice", "Tax", CB),
        ("", "", "Previous Reserve Amount Balance", RES),
        ("ServiceFee", "Cost of Advertising", "TransactionTotalAmount", FEE),
        ("other-transaction", "other-transaction", "StorageRenewalBilling", FEE),
        ("Vine Enrollment Fee", "Vine Enrollment Fee", "Vine Enrollment Fee", FEE),
        ("other-transaction", "SAFE-T Reimbursement", "SAFE-T Reimbursement", ADJ),
        ("Order_Retrocharge", "Base Tax", "Base Tax", ADJ),
    ],
)
def test_amazon_amount_components_map_to_the_kind_finance_books_them_as(
    transaction_type: str, amount_type: str, description: str, kind: LineKind
) -> None:
    assert amazon_v2.classify(transaction_type, amount_type, description) is kind


def test_amazon_reports_progress_every_thousand_lines_and_at_the_end() -> None:
    header, summary, detail = US.read_bytes().split(b"\n")[:3]
    detail = detail.replace(b"\t39.98\t", b"\t1.00\t")
    summary = summary.replace(b"\t28.91\t", b"\t2500.00\t")
    calls: list[int] = []
    settlement = only(
        amazon_v2.parse(b"\n".join([header, summary] + [detail] * 2500), calls.append)
    )
    assert calls == [1000, 1000, 502]  # header + summary + 2,500 rows
    assert settlement.total == 250000 and settlement.unexplained == 0


def test_read_settlements_accepts_the_amazon_file_through_the_registry(tmp_path: Path) -> None:
    path = tmp_path / "12345678901.txt"
    path.write_bytes(US.read_bytes())
    seen: list[int] = []
    (settlement,) = read_settlements(path, "amazon-v2", seen.append)
    assert settlement.total == 2891 and sum(seen) == 37


def test_amazon_refuses_a_file_missing_a_needed_column() -> None:
    header, rest = US.read_bytes().split(b"\n", 1)
    error = refused(amazon_v2.parse, header.replace(b"\tamount\t", b"\tamt\t") + b"\n" + rest)
    assert error.line == 1
    assert "missing column(s) amount" in error.message


def test_amazon_refuses_the_older_v1_flat_file_and_says_which_to_download() -> None:
    v1 = b"settlement-id\tsettlement-start-date\tprice-type\tprice-amount\titem-related-fee-type\n"
    error = refused(amazon_v2.parse, v1)
    assert error.line == 1 and "Flat File V2" in error.message


def test_amazon_refuses_a_file_cut_off_mid_row() -> None:
    data = US.read_bytes()
    cut = data.index(b"\tFBAPerUnitFulfillmentFee\t-4.75")  # inside line 20
    error = refused(amazon_v2.parse, data[:cut])
    assert error.line == 20
    assert "cut off" in error.message


def test_amazon_refuses_a_file_without_its_summary_row() -> None:
    error = refused(amazon_v2.parse, without_line(US, 2))
    assert error.line == 2 and "summary" in error.message


def test_amazon_refuses_an_empty_file_and_a_header_alone() -> None:
    assert refused(amazon_v2.parse, b"").line == 1
    header_only = lines_of(US)[0]
    assert "no settlement summary" in refused(amazon_v2.parse, header_only).message


@pytest.mark.parametrize(
    ("good", "bad", "line", "says"),
    [
        (b"\t-4.75\t", b"\t-4.7S\t", 20, "is not a number"),
        (b"\t-3.12\t", b"\t-3.1234\t", 35, "more decimals than USD allows"),
        (b"2023-01-09 06:00:15 UTC", b"2023-13-09 06:00:15 UTC", 35, "not a date"),
        (b"\t2023-01-17 08:00:00 UTC\t", b"\tsoon\t", 2, "deposit-date"),
    ],
)
def test_amazon_names_the_line_of_an_unreadable_amount_or_date(
    good: bytes, bad: bytes, line: int, says: str
) -> None:
    data = US.read_bytes()
    assert data.count(good) == 1
    error = refused(amazon_v2.parse, data.replace(good, bad))
    assert error.line == line
    assert says in error.message


def test_amazon_totals_that_do_not_add_up_are_refused_by_read_settlements(tmp_path: Path) -> None:
    path = tmp_path / "12345678901.txt"
    path.write_bytes(US.read_bytes().replace(b"\t28.91\t", b"\t28.19\t"))
    with pytest.raises(SettlementFileError) as caught:
        read_settlements(path, "amazon-v2")
    assert caught.value.line == 3  # the settlement's first line
    assert "2891" in caught.value.message and "2819" in caught.value.message


# --- PayPal STL ------------------------------------------------------------------------------

ACCOUNT = "7PXL9QZ3KD2WN"


def test_a_paypal_day_splits_gross_and_fee_and_takes_the_withdrawal_as_the_payout() -> None:
    settlement = only(paypal_stl.parse(STL_DAY.read_bytes(), None))
    assert (settlement.gateway, settlement.settlement_id, settlement.currency) == (
        "paypal",
        f"{ACCOUNT}:2024-08-20",
        "USD",
    )
    # +5000 -224 +12999 -503 +2500 -136 -2500 +87 -3000 -2000 +1500 = 13723 = the T0400 withdrawal
    assert settlement.total == 13723 and settlement.unexplained == 0
    assert settlement.deposit_date == date(2024, 8, 20)  # the day in PayPal's time zone
    assert settlement.period_start == datetime(2024, 8, 20, 7, tzinfo=UTC)
    assert settlement.period_end == datetime(2024, 8, 21, 6, 59, 59, tzinfo=UTC)
    assert rows(settlement) == [
        (5, C, 5000, "5TY0542871H3218335", "1001"),
        (5, FEE, -224, "5TY0542871H3218335", "1001"),
        (6, C, 12999, "2WK81736FN0494521", "1002"),
        (6, FEE, -503, "2WK81736FN0494521", "1002"),
        (7, C, 2500, "9GM17455RT1128402", "order-1003"),  # reference only in Custom Field
        (7, FEE, -136, "9GM17455RT1128402", "order-1003"),
        (8, R, -2500, "4LS96021XB7795113", "1002"),
        (8, FEE, 87, "4LS96021XB7795113", "1002"),  # part of the fee given back (CR)
        (9, CB, -3000, "7CE30318VA6620937", "0998"),
        (10, FEE, -2000, "1RB77640JW2285001", None),  # T0106 chargeback processing fee
        (11, CBR, 1500, "6PN22987QE0037719", "0995"),
    ]
    first = settlement.lines[0]
    assert first.occurred_at == datetime(2024, 8, 20, 16, 14, 3, tzinfo=UTC)
    assert first.description == "T0006 PayPal Checkout payment"
    assert settlement.lines[1].description == "T0006 PayPal Checkout payment (PayPal fee)"
    assert {line.settlement_id for line in settlement.lines} == {settlement.settlement_id}


def test_two_currencies_make_two_settlements_and_an_unswept_balance_has_no_deposit() -> None:
    data = STL_TWO_CURRENCIES.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    usd, jpy = paypal_stl.parse(data, None)
    assert (usd.settlement_id, usd.total, usd.deposit_date) == (
        f"{ACCOUNT}:2024-08-21:USD",
        1901,  # 2000 - 99, swept by the T0400 withdrawal
        date(2024, 8, 21),
    )
    assert (jpy.settlement_id, jpy.currency, jpy.total, jpy.deposit_date) == (
        f"{ACCOUNT}:2024-08-21:JPY",
        "JPY",
        2859,  # ¥3000 - ¥141, still on the PayPal balance
        None,
    )
    assert [(line.kind, line.amount, line.currency) for line in jpy.lines] == [
        (C, 3000, "JPY"),
        (FEE, -141, "JPY"),
    ]


def test_paypal_reports_progress_in_lines() -> None:
    calls: list[int] = []
    paypal_stl.parse(STL_DAY.read_bytes(), calls.append)
    assert sum(calls) == 17


def stl(*body: str) -> bytes:
    """A well-formed one-section STL file around ``body`` SB rows (counts filled in)."""
    header = lines_of(STL_DAY)[:4]
    footer = [f'"SC",{len(body)}', '"RF","USD"', f'"RC",{len(body)}', '"FF",01']
    return b"".join(header) + "\r\n".join([*body, *footer]).encode() + b"\r\n"


def sb(code: str, direction: str, gross: int, fee: str = '"",,""') -> str:
    when = "2024/08/20 12:00:00 -0700"
    return (
        f'"SB","TX{code}","INV-{code}","","","{code}",{when},{when},"{direction}",{gross},"USD",'
        f'{fee},"","","","","",,,""'
    )


@pytest.mark.parametrize(
    ("code", "direction", "kind", "amount"),
    [
        ("T0000", "DR", ADJ, -700),  # a payment the merchant sent, not a sale
        ("T0011", "CR", C, 700),
        ("T0100", "DR", FEE, -700),
        ("T1106", "DR", CB, -700),  # payment reversal initiated by PayPal
        ("T1108", "CR", FEE, 700),  # fee reversal
        ("T1110", "DR", RES, -700),  # hold for dispute investigation
        ("T1205", "CR", CBR, 700),  # reimbursement of chargeback
        ("T2103", "DR", RES, -700),  # reserve hold
        ("T0200", "CR", ADJ, 700),  # currency conversion
    ],
)
def test_paypal_event_codes_map_to_settlement_kinds(
    code: str, direction: str, kind: LineKind, amount: int
) -> None:
    (settlement,) = paypal_stl.parse(stl(sb(code, direction, 700)), None)
    assert [(line.kind, line.amount) for line in settlement.lines] == [(kind, amount)]
    assert settlement.deposit_date is None and settlement.total == amount


def test_paypal_refuses_a_column_header_without_the_gross_amount() -> None:
    data = STL_DAY.read_bytes().replace(b'"Gross Transaction Amount"', b'"Gross Amount"')
    error = refused(paypal_stl.parse, data)
    assert error.line == 4
    assert "'Gross Transaction Amount'" in error.message


@pytest.mark.parametrize(
    ("good", "bad", "line"),
    [
        (b'"SC",8', b'"SC",9', 14),
        (b'"RC",8', b'"RC",7', 16),
    ],
)
def test_paypal_refuses_record_counts_that_disagree_with_the_rows_read(
    good: bytes, bad: bytes, line: int
) -> None:
    error = refused(paypal_stl.parse, STL_DAY.read_bytes().replace(good, bad))
    assert error.line == line
    assert "were read" in error.message


def test_paypal_catches_a_dropped_transaction_row_by_the_section_count() -> None:
    error = refused(paypal_stl.parse, without_line(STL_DAY, 9))
    assert error.line == 13  # the SC row, one line up now
    assert "says it has 8 SB rows but 7 were read" in error.message


def test_paypal_refuses_a_file_without_its_file_footer() -> None:
    kept = lines_of(STL_DAY)[:16]
    error = refused(paypal_stl.parse, b"".join(kept))
    assert error.line == 16 and "FF" in error.message


def test_paypal_refuses_a_file_cut_off_mid_section() -> None:
    error = refused(paypal_stl.parse, b"".join(lines_of(STL_DAY)[:10]))
    assert error.line == 10 and "truncated" in error.message


def test_paypal_refuses_a_file_without_its_report_header() -> None:
    error = refused(paypal_stl.parse, without_line(STL_DAY, 1))
    assert error.line == 1 and "RH" in error.message
    assert refused(paypal_stl.parse, b"").line == 1


@pytest.mark.parametrize(
    ("good", "bad", "line", "says"),
    [
        (b'"CR",12999,', b'"CR",129.99,', 6, "not an unsigned whole number"),
        (b'"CR",5000,', b'"XX",5000,', 5, "expected CR or DR"),
        (b'"DR",503,', b'"DR",5O3,', 6, "Fee Amount"),
        (b'"T1107",2024/08/20 14:20:00', b'"T1107",20.08.2024 14:20', 8, "not a date"),
        (b'"SC",8', b'"ZZ",8', 14, "unknown record type"),
    ],
)
def test_paypal_names_the_line_of_an_unreadable_field(
    good: bytes, bad: bytes, line: int, says: str
) -> None:
    data = STL_DAY.read_bytes()
    assert data.count(good) == 1
    error = refused(paypal_stl.parse, data.replace(good, bad))
    assert error.line == line
    assert says in error.message


def test_paypal_totals_that_do_not_add_up_are_refused_by_read_settlements(tmp_path: Path) -> None:
    path = tmp_path / "STL-20240820.01.009.CSV"
    path.write_bytes(STL_DAY.read_bytes().replace(b'"DR",13723,', b'"DR",13732,'))
    with pytest.raises(SettlementFileError) as caught:
        read_settlements(path, "paypal-stl")
    assert caught.value.line == 5  # the settlement's first line
    assert "13732" in caught.value.message
