"""Adyen, Stripe and Shopify Payments settlement files become exact, balanced settlements.

Every figure below is worked by hand in the fixture READMEs (tests/fixtures/settlements/*/):
a payment's gross and the gateway's fee are separate lines, and a settlement's lines add up
to what reached the bank, or the file is refused at the line at fault.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from retailhub.adapters.files.settlements import (
    adyen,
    count_lines,
    read_settlements,
    shopify_payments,
    stripe_report,
)
from retailhub.adapters.files.settlements.common import SettlementFileError
from retailhub.domain.settlements import LineKind, Settlement

FIXTURES = Path(__file__).parents[1] / "fixtures" / "settlements"
ADYEN = FIXTURES / "adyen" / "settlement_detail_report_batch_118.csv"
STRIPE = FIXTURES / "stripe" / "payout_reconciliation_itemized_5.csv"
SHOPIFY_JSON = FIXTURES / "shopify_payments" / "payouts_and_transactions.json"
SHOPIFY_CSV = FIXTURES / "shopify_payments" / "payment_transactions_export.csv"

CHARGE, REFUND, FEE = LineKind.CHARGE, LineKind.REFUND, LineKind.FEE
CHARGEBACK, REVERSAL = LineKind.CHARGEBACK, LineKind.CHARGEBACK_REVERSAL
RESERVE, ADJUSTMENT = LineKind.RESERVE, LineKind.ADJUSTMENT


def rows(settlement: Settlement) -> list[tuple[int, LineKind, int, str | None, str | None]]:
    return [
        (line.line_no, line.kind, line.amount, line.transaction_id, line.order_ref)
        for line in settlement.lines
    ]


def by_id(settlements: list[Settlement]) -> dict[str, Settlement]:
    return {s.settlement_id: s for s in settlements}


def edited(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text()
    assert old in text, f"fixture no longer contains {old!r}"
    target = tmp_path / source.name
    target.write_text(text.replace(old, new, 1))
    return target


def refused(path: Path, fmt: str) -> SettlementFileError:
    with pytest.raises(SettlementFileError) as caught:
        read_settlements(path, fmt)
    return caught.value


# --- Adyen settlement details report ---------------------------------------------------------


def test_adyen_batch_pays_out_payments_less_their_costs_and_the_batch_level_deductions() -> None:
    batch = by_id(read_settlements(ADYEN, "adyen"))["DemoOutfittersEUR:118"]

    assert (batch.gateway, batch.currency, batch.deposit_date) == ("adyen", "EUR", date(2024, 4, 2))
    # 106.87 + 44.64 - 20.08 - 67.50 + 60.00 - 1.20 - 15.00 - 10.00 = 97.73, the MerchantPayout
    assert batch.total == 9773
    assert batch.unexplained == 0
    psp1, psp2, psp3 = "8815000000000001", "8815000000000002", "8815000000000003"
    assert rows(batch) == [
        (2, CHARGE, 10806, psp1, "1001"),  # net 106.87 + markup .22 + scheme .11 + interchange .86
        (2, FEE, -119, psp1, "1001"),
        (3, CHARGE, 4550, psp2, "1004"),  # GBP 39.00 sale settled as EUR 44.64 + commission .86
        (3, FEE, -86, psp2, "1004"),
        (4, REFUND, -1998, psp1, "1001"),  # Net Debit 20.08 is the refund 19.98 plus markup .10
        (4, FEE, -10, psp1, "1001"),
        (5, CHARGEBACK, -6000, psp3, "1005"),  # Net Debit 67.50 = 60.00 + commission 7.50
        (5, FEE, -750, psp3, "1005"),
        (6, REVERSAL, 6000, psp3, "1005"),
        (7, FEE, -120, None, None),  # monthly transaction fees
        (8, FEE, -1500, None, None),  # invoice deduction
        (9, RESERVE, -1000, None, None),  # security deposit raised
    ]
    assert (
        batch.lines[1].description
        == "Settled costs: markup 0.22, scheme fees 0.11, interchange 0.86"
    )


def test_adyen_batch_without_a_payout_carries_its_negative_balance_to_the_next_batch() -> None:
    batch = by_id(read_settlements(ADYEN, "adyen"))["DemoOutfittersEUR:119"]

    assert rows(batch) == [
        (11, CHARGE, 2000, "8815000000000005", "1010"),
        (11, FEE, -40, "8815000000000005", "1010"),
        (12, CHARGEBACK, -6000, "8815000000000003", "1005"),  # SecondChargeback
        (13, RESERVE, 4040, None, None),  # "Balancetransfer to batch 120"
    ]
    assert (batch.total, batch.deposit_date) == (0, None)
    assert batch.lines[-1].description == "Balancetransfer: Balancetransfer to batch 120"


def test_adyen_creation_dates_are_read_in_the_accounts_time_zone_and_kept_in_utc() -> None:
    batch = by_id(read_settlements(ADYEN, "adyen"))["DemoOutfittersEUR:118"]

    # 2024-03-28 14:05:11 CET (UTC+1) and, after the clocks went forward on 31 March,
    # 2024-04-02 11:30:00 CEST (UTC+2)
    assert batch.lines[0].occurred_at == datetime(2024, 3, 28, 13, 5, 11, tzinfo=UTC)
    assert batch.lines[4].occurred_at == datetime(2024, 4, 2, 9, 30, 0, tzinfo=UTC)


def test_adyen_columns_are_found_by_name_whatever_their_order() -> None:
    table = list(csv.reader(io.StringIO(ADYEN.read_text())))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(list(reversed(row)) for row in table)

    shuffled = adyen.parse(out.getvalue().encode(), None)

    assert [rows(s) for s in shuffled] == [rows(s) for s in adyen.parse(ADYEN.read_bytes(), None)]


def test_adyen_batch_in_two_currencies_becomes_one_settlement_per_currency() -> None:
    header = ",".join(adyen.NEEDED)
    data = (
        f"{header}\n"
        "M,8815000000000009,2001,2024-01-15 10:23:45,CET,Settled,EUR,,10.00,,,,,7\n"
        "M,8815000000000010,2002,2024-01-15 10:24:00,CET,Settled,GBP,,8.00,,,,,7\n"
    ).encode()

    settlements = by_id(adyen.parse(data, None))

    assert sorted(settlements) == ["M:7:EUR", "M:7:GBP"]
    assert settlements["M:7:GBP"].total == 800
    assert settlements["M:7:EUR"].lines[0].occurred_at == datetime(
        2024, 1, 15, 9, 23, 45, tzinfo=UTC
    )


def test_adyen_refuses_a_file_with_the_wrong_columns() -> None:
    error = refused(STRIPE, "adyen")

    assert error.line == 1
    assert "missing column(s) Merchant Account" in error.message


def test_adyen_refuses_a_file_cut_short_in_the_middle_of_a_row(tmp_path: Path) -> None:
    lines = ADYEN.read_text().splitlines()
    cut = tmp_path / "cut.csv"
    cut.write_text("\n".join([*lines[:4], lines[4][:70]]))

    error = refused(cut, "adyen")

    assert error.line == 5
    assert "the header has 30" in error.message


def test_adyen_refuses_a_quote_that_never_closes(tmp_path: Path) -> None:
    path = edited(
        tmp_path,
        ADYEN,
        "8815000000000003,1005,visa,2024-04-01",
        '8815000000000003,"1005,visa,2024-04-01',
    )

    assert refused(path, "adyen").line == 5


def test_adyen_refuses_an_amount_that_is_not_a_number(tmp_path: Path) -> None:
    path = edited(tmp_path, ADYEN, ",67.50,,7.50,", ",67.5O,,7.50,")

    error = refused(path, "adyen")

    assert error.line == 5
    assert error.message == "Net Debit (NC) '67.5O' is not a number"


def test_adyen_refuses_a_batch_whose_rows_do_not_add_up_to_the_payout(tmp_path: Path) -> None:
    path = edited(tmp_path, ADYEN, "EUR,97.73,", "EUR,97.74,")

    error = refused(path, "adyen")

    assert error.line == 10  # the MerchantPayout row
    assert "add up to 97.73 EUR but the MerchantPayout is 97.74 EUR" in error.message


def test_adyen_refuses_a_time_zone_it_cannot_place(tmp_path: Path) -> None:
    path = edited(tmp_path, ADYEN, "2024-03-30 09:12:40,CET", "2024-03-30 09:12:40,XYZT")

    error = refused(path, "adyen")

    assert error.line == 3
    assert "TimeZone 'XYZT'" in error.message


# --- Stripe payout reconciliation report ------------------------------------------------------


def test_stripe_payout_of_three_charges_a_refund_and_a_lost_dispute() -> None:
    payout = by_id(read_settlements(STRIPE, "stripe"))["po_1P0DemoPayoutA0001"]

    ch1, ch2, ch3 = "ch_3P0DemoCharge0001", "ch_3P0DemoCharge0002", "ch_3P0DemoCharge0003"
    assert rows(payout) == [
        (2, CHARGE, 10806, ch1, "1001"),
        (2, FEE, -343, ch1, "1001"),
        (3, CHARGE, 4550, ch2, "1004"),
        (3, FEE, -162, ch2, "1004"),
        (4, CHARGE, 25000, ch3, "1007"),
        (4, FEE, -755, ch3, "1007"),
        (5, REFUND, -1998, "re_3P0DemoRefund0001", "1001"),
        (6, CHARGEBACK, -6000, "dp_1P0DemoDispute0001", "998"),
        (6, FEE, -1500, "dp_1P0DemoDispute0001", "998"),  # the 15.00 dispute fee
    ]
    # nets 104.63 + 43.88 + 242.45 - 19.98 - 75.00 = 295.98
    assert (payout.currency, payout.total, payout.unexplained) == ("USD", 29598, 0)
    assert payout.by_kind() == {CHARGE: 40356, FEE: -2760, REFUND: -1998, CHARGEBACK: -6000}


def test_stripe_deposit_date_is_the_payouts_utc_arrival_date_not_the_local_evening_before() -> None:
    payouts = by_id(read_settlements(STRIPE, "stripe"))

    assert payouts["po_1P0DemoPayoutA0001"].deposit_date == date(2024, 4, 3)
    assert payouts["po_1P0DemoPayoutB0002"].deposit_date == date(2024, 4, 4)
    # created_utc, not the America/New_York "created" four hours earlier
    assert payouts["po_1P0DemoPayoutA0001"].lines[0].occurred_at == datetime(
        2024, 3, 29, 14, 5, 11, tzinfo=UTC
    )


def test_stripe_dispute_won_back_an_adjustment_and_a_radar_fee() -> None:
    payout = by_id(read_settlements(STRIPE, "stripe"))["po_1P0DemoPayoutB0002"]

    assert rows(payout) == [
        (7, REVERSAL, 6000, "dp_1P0DemoDispute0001:reversal", "998"),  # as the hub expects it
        (8, CHARGE, 2000, "ch_3P0DemoCharge0010", "1010"),
        (8, FEE, -88, "ch_3P0DemoCharge0010", "1010"),
        (9, ADJUSTMENT, -500, "ia_1P0DemoAdjust0001", None),  # other_adjustment
        (10, FEE, -200, None, None),  # reporting_category "fee"
    ]
    assert payout.total == 7212  # 60.00 + 19.12 - 5.00 - 2.00
    assert payout.lines[3].description == "other_adjustment: Correction of a duplicated top-up"


def test_stripe_refuses_a_file_with_the_wrong_columns() -> None:
    error = refused(ADYEN, "stripe")

    assert error.line == 1
    assert "missing column(s) automatic_payout_id" in error.message


def test_stripe_refuses_a_row_with_too_few_fields(tmp_path: Path) -> None:
    path = edited(tmp_path, STRIPE, ",mastercard,,1004\n", ",mastercard\n")

    error = refused(path, "stripe")

    assert error.line == 3
    assert "has 23 fields but the header has 25" in error.message


def test_stripe_refuses_a_quote_that_never_closes(tmp_path: Path) -> None:
    path = edited(tmp_path, STRIPE, ",Order 1007,", ',"Order 1007,')

    assert refused(path, "stripe").line == 4


def test_stripe_refuses_an_amount_that_is_not_a_number(tmp_path: Path) -> None:
    path = edited(tmp_path, STRIPE, "usd,-19.98,0.00,-19.98,refund", "usd,-19.98,n/a,-19.98,refund")

    error = refused(path, "stripe")

    assert (error.line, error.message) == (5, "fee 'n/a' is not a number")


def test_stripe_refuses_a_row_whose_net_is_not_gross_less_fee(tmp_path: Path) -> None:
    path = edited(tmp_path, STRIPE, "45.50,1.62,43.88", "45.50,1.62,43.89")

    error = refused(path, "stripe")

    assert error.line == 3
    assert error.message == "gross 45.50 less fee 1.62 is 43.88, not the net 43.89"


def test_stripe_refuses_a_row_outside_any_automatic_payout(tmp_path: Path) -> None:
    path = edited(
        tmp_path,
        STRIPE,
        "po_1P0DemoPayoutB0002,2024-04-04 00:00:00,2024-04-03 20:00:00,txn_3P0DemoCharge0010",
        ",,,txn_3P0DemoCharge0010",
    )

    error = refused(path, "stripe")

    assert error.line == 8
    assert "txn_3P0DemoCharge0010 has no automatic_payout_id" in error.message


# --- Shopify Payments: Admin API JSON ---------------------------------------------------------


def test_shopify_json_payout_matches_its_summary_and_skips_test_and_pending_transactions() -> None:
    payouts = by_id(read_settlements(SHOPIFY_JSON, "shopify-payments"))

    first = payouts["91000001"]
    assert rows(first) == [
        (43, CHARGE, 10806, "6500001", "5600001001"),
        (43, FEE, -343, "6500001", "5600001001"),
        (44, CHARGE, 4550, "6500002", "5600001004"),
        (44, FEE, -162, "6500002", "5600001004"),
        (45, CHARGE, 25000, "6500009", "5600001007"),
        (45, FEE, -755, "6500009", "5600001007"),
        (46, REFUND, -1998, "6500003", "5600001001"),
        (47, CHARGEBACK, -6000, "6500000", "5600000998"),
        (47, FEE, -1500, "6500000", "5600000998"),  # the dispute fee
        (48, RESERVE, -4200, "7100005", None),
        (49, ADJUSTMENT, -150, "7100006", None),
    ]  # line 50 is a test-mode charge, line 51 the payout itself
    # 403.56 - 12.60 - 19.98 - 61.50 - 15.00 - 42.00 = 252.48
    assert (first.total, first.unexplained, first.deposit_date) == (25248, 0, date(2024, 4, 3))
    assert first.lines[0].occurred_at == datetime(2024, 3, 29, 14, 5, 11, tzinfo=UTC)

    second = payouts["91000002"]
    assert rows(second) == [
        (52, RESERVE, 4200, "7100010", None),  # reserve released
        (53, CHARGE, 2000, "6500011", "5600001010"),
        (53, FEE, -88, "6500011", "5600001010"),
        (54, REVERSAL, 6000, "6500000", "5600000998"),  # dispute won: a positive dispute
    ]
    assert second.total == 12112
    assert sorted(payouts) == ["91000001", "91000002"]  # the pending charge is in neither


def test_shopify_json_refuses_a_file_cut_short(tmp_path: Path) -> None:
    text = SHOPIFY_JSON.read_text()
    cut = tmp_path / "cut.json"
    cut.write_text(text[: text.index('"id": 7100004')])

    error = refused(cut, "shopify-payments")

    assert error.line == 47
    assert "is the file cut short?" in error.message


def test_shopify_json_refuses_an_amount_that_is_not_a_number(tmp_path: Path) -> None:
    path = edited(tmp_path, SHOPIFY_JSON, '"fee": "1.62"', '"fee": "1.6x2"')

    error = refused(path, "shopify-payments")

    assert (error.line, error.message) == (44, "$.transactions[1].fee '1.6x2' is not a number")


def test_shopify_json_refuses_a_payout_missing_one_of_its_transactions(tmp_path: Path) -> None:
    lines = SHOPIFY_JSON.read_text().splitlines(keepends=True)
    assert '"id": 7100003' in lines[45]
    path = tmp_path / "gap.json"
    path.write_text("".join(lines[:45] + lines[46:]))  # drop the refund on line 46

    error = refused(path, "shopify-payments")

    assert error.line == 3  # the payout
    assert error.message == (
        "payout 91000001: the summary says refunds gross -19.98 but its transactions add up "
        "to 0.00: are transactions missing?"
    )


def test_shopify_json_refuses_a_payout_amount_its_transactions_do_not_make(tmp_path: Path) -> None:
    path = edited(tmp_path, SHOPIFY_JSON, '"amount": "252.48"', '"amount": "252.84"')

    error = refused(path, "shopify-payments")

    assert error.line == 3
    assert error.message == "payout 91000001 is 252.84 but its transactions add up to 252.48"


def test_shopify_json_refuses_a_transaction_whose_net_is_not_amount_less_fee(
    tmp_path: Path,
) -> None:
    path = edited(tmp_path, SHOPIFY_JSON, '"net": "-75.00"', '"net": "-60.00"')

    error = refused(path, "shopify-payments")

    assert error.line == 47
    assert error.message.startswith("$.transactions[4].amount -60.00 less fee 15.00 is -75.00")


# --- Shopify Payments: admin transactions export (CSV) ----------------------------------------


def test_shopify_csv_export_groups_transactions_by_payout_and_totals_their_nets() -> None:
    payouts = by_id(read_settlements(SHOPIFY_CSV, "shopify-payments"))

    assert sorted(payouts) == ["91000001", "91000002"]  # line 10 is pending: no payout yet
    first = payouts["91000001"]
    assert rows(first) == [
        (2, CHARGE, 10806, None, "#1001"),
        (2, FEE, -343, None, "#1001"),
        (3, CHARGE, 4550, None, "#1004"),
        (3, FEE, -162, None, "#1004"),
        (4, CHARGE, 25000, None, "#1007"),
        (4, FEE, -755, None, "#1007"),
        (5, REFUND, -1998, None, "#1001"),
        (6, CHARGEBACK, -6000, None, "#998"),
        (6, FEE, -1500, None, "#998"),
        (7, RESERVE, -4200, None, None),
    ]
    # 104.63 + 43.88 + 242.45 - 19.98 - 75.00 - 42.00 = 253.98
    assert (first.total, first.deposit_date) == (25398, date(2024, 4, 3))
    # "2024-03-29 10:05:11 -0400"
    assert first.lines[0].occurred_at == datetime(2024, 3, 29, 14, 5, 11, tzinfo=UTC)
    assert (payouts["91000002"].total, payouts["91000002"].deposit_date) == (6112, date(2024, 4, 4))


def test_shopify_csv_refuses_a_file_with_the_wrong_columns() -> None:
    error = refused(STRIPE, "shopify-payments")

    assert error.line == 1
    assert (
        "not a Shopify Payments transactions export file: missing column(s) Transaction Date"
        in (error.message)
    )


def test_shopify_csv_refuses_a_file_cut_short(tmp_path: Path) -> None:
    lines = SHOPIFY_CSV.read_text().splitlines()
    cut = tmp_path / "cut.csv"
    cut.write_text("\n".join([*lines[:3], lines[3][:60]]))

    error = refused(cut, "shopify-payments")

    assert error.line == 4
    assert "the header has 17" in error.message


def test_shopify_csv_refuses_an_amount_that_is_not_a_number(tmp_path: Path) -> None:
    path = edited(tmp_path, SHOPIFY_CSV, "250.00,7.55,242.45", "250.00,7.55,two hundred")

    error = refused(path, "shopify-payments")

    assert (error.line, error.message) == (4, "Net 'two hundred' is not a number")


def test_shopify_csv_refuses_a_row_whose_net_is_not_amount_less_fee(tmp_path: Path) -> None:
    path = edited(tmp_path, SHOPIFY_CSV, "250.00,7.55,242.45", "250.00,7.55,242.46")

    error = refused(path, "shopify-payments")

    assert (error.line, error.message) == (
        4,
        "amount 250.00 less fee 7.55 is 242.45, not the net 242.46",
    )


# --- progress ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        (ADYEN, "adyen"),
        (STRIPE, "stripe"),
        (SHOPIFY_JSON, "shopify-payments"),
        (SHOPIFY_CSV, "shopify-payments"),
    ],
)
def test_progress_accounts_for_every_line_of_the_file(path: Path, fmt: str) -> None:
    calls: list[int] = []

    read_settlements(path, fmt, calls.append)

    assert sum(calls) == count_lines(path)


def test_progress_is_reported_every_thousand_lines_of_a_long_report() -> None:
    header, first_row = STRIPE.read_text().splitlines()[:2]
    data = "\n".join([header, *[first_row] * 2500]) + "\n"
    calls: list[int] = []

    (payout,) = stripe_report.parse(data.encode(), calls.append)

    assert calls == [1000, 1000, 501]
    assert payout.total == 2500 * 10463


def test_shopify_reader_tells_json_from_csv_by_content_not_by_name() -> None:
    as_json = shopify_payments.parse(b"\xef\xbb\xbf\n  " + SHOPIFY_JSON.read_bytes(), None)
    as_csv = shopify_payments.parse(SHOPIFY_CSV.read_bytes(), None)

    assert [s.total for s in as_json] == [25248, 12112]
    assert [s.total for s in as_csv] == [25398, 6112]
