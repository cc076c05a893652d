"""What the customer paid, on settlement lines a gateway converted into the payout currency.

The Stripe report's ``customer_facing_amount``/``customer_facing_currency``, Shopify Payments'
``Presentment Amount``/``Presentment Currency`` and the Stripe API's expanded source become a
line's original amount, signed like the line; the fee lines never carry one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import msgspec

from retailhub.adapters.connectors.stripe import payloads as p
from retailhub.adapters.connectors.stripe.settlement import settlement_from
from retailhub.adapters.files.settlements import read_settlements
from retailhub.domain.settlements import LineKind

FIXTURES = Path(__file__).parents[1] / "fixtures" / "settlements"


def originals(lines: object) -> list[tuple[LineKind, int, int | None, str | None]]:
    return [
        (x.kind, x.amount, x.original_amount, x.original_currency)
        for x in lines  # type: ignore[attr-defined]
        if x.original_currency is not None
    ]


def test_the_stripe_report_names_what_a_customer_paid_in_euros() -> None:
    payout = next(
        s
        for s in read_settlements(
            FIXTURES / "stripe/payout_reconciliation_itemized_5.csv", "stripe"
        )
        if s.settlement_id == "po_1P0DemoPayoutA0001"
    )
    # Line 3: gross 45.50 USD, customer-facing 42.10 EUR; the other rows are in USD.
    assert originals(payout.lines) == [(LineKind.CHARGE, 4550, 4210, "EUR")]
    [converted] = [x for x in payout.lines if x.converted]
    assert converted.line_no == 3 and converted.transaction_id == "ch_3P0DemoCharge0002"


def test_the_shopify_payments_export_names_the_presentment_amounts() -> None:
    payouts = read_settlements(
        FIXTURES / "shopify_payments/payment_transactions_export.csv", "shopify-payments"
    )
    first = next(s for s in payouts if s.settlement_id == "91000001")
    # #1001 was paid in Canadian dollars: 147.60 CAD (108.06 USD), 27.29 CAD refunded.
    assert originals(first.lines) == [
        (LineKind.CHARGE, 10806, 14760, "CAD"),
        (LineKind.REFUND, -1998, -2729, "CAD"),
    ]
    assert all(x.original_amount is None for x in first.lines if x.kind is LineKind.FEE)


def test_the_stripe_api_payout_takes_the_original_amount_from_the_expanded_source() -> None:
    created = int(datetime(2026, 10, 30, 15, tzinfo=UTC).timestamp())
    charge = {"id": "ch_eur", "object": "charge", "amount": 10000, "amount_captured": 10000,
              "currency": "eur", "metadata": {"order_id": "5001"}}  # fmt: skip
    refund = {"id": "re_eur", "object": "refund", "amount": 2000, "currency": "eur",
              "charge": "ch_eur"}  # fmt: skip
    same = {"id": "ch_usd", "object": "charge", "amount": 5000, "currency": "usd"}
    transactions = [
        msgspec.convert(bt, p.BalanceTransaction)
        for bt in (
            {"id": "txn_1", "amount": 10800, "fee": 343, "net": 10457, "currency": "usd",
             "created": created, "type": "charge", "reporting_category": "charge",
             "source": charge, "exchange_rate": 1.08},
            {"id": "txn_2", "amount": -2160, "fee": 0, "net": -2160, "currency": "usd",
             "created": created, "type": "refund", "reporting_category": "refund",
             "source": refund, "exchange_rate": 1.08},
            {"id": "txn_3", "amount": 5000, "fee": 175, "net": 4825, "currency": "usd",
             "created": created, "type": "charge", "reporting_category": "charge",
             "source": same},
        )
    ]  # fmt: skip
    payout = msgspec.convert(
        {"id": "po_fx", "amount": 10457 - 2160 + 4825, "currency": "usd", "arrival_date": created,
         "created": created, "status": "paid", "automatic": True,
         "reconciliation_status": "completed"},
        p.Payout,
    )  # fmt: skip
    settlement = settlement_from(payout, transactions)
    assert originals(settlement.lines) == [
        (LineKind.CHARGE, 10800, 10000, "EUR"),
        (LineKind.REFUND, -2160, -2000, "EUR"),
    ]
