"""A Stripe payout with fees, a refund and a chargeback, reconciled to the cent against the bank.

The story: three web orders are paid through Stripe and shipped. Stripe reports each charge
(naming the order in its metadata), one order is returned and refunded (Shopify and Stripe
both report the refund, each with its own id), and a customer disputes the third charge.
Stripe pays out what is left after its fees and the chargeback; the bank statement shows the
deposit. Finance should see every payment matched, the payout in the bank to the cent, the
clearing account empty, and the fees and the chargeback in their own accounts.
"""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from retail_shop import LOC, T0, Shop, after, cents, open_shop
from retailhub.adapters.connectors.stripe.api import StripeApi
from retailhub.adapters.connectors.stripe.signature import signature_header
from retailhub.adapters.connectors.stripe.webhook import StripeWebhooks
from retailhub.adapters.files.bank import read_bank_statement
from retailhub.adapters.storage.money_records import SqlMoneyRecords
from retailhub.domain.reconciliation import MatchPolicy
from retailhub.services.intake import receive
from retailhub.services.reconcile import run_reconciliation

WHSEC = "whsec_scenario_secret"
API_KEY = "sk_test_scenario"
PAYOUT = "po_1ScenarioPayout0001"
DISPUTE_FEE = 1500
STRIPE_CONFIG = f'[connectors.stripe]\nsecret = "{WHSEC}"\n'


def _ts(moment: Any) -> int:
    return int(moment.timestamp())


class FakeStripe:
    """Stripe's payout and balance-transaction endpoints, with Bearer auth enforced."""

    def __init__(self) -> None:
        self.payout: dict[str, Any] = {}
        self.transactions: list[dict[str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return httpx.Response(401, json={"error": {"message": "Invalid API Key provided"}})
        if request.url.path == f"/v1/payouts/{PAYOUT}":
            return httpx.Response(200, json=self.payout)
        if request.url.path == "/v1/balance_transactions":
            assert request.url.params["payout"] == PAYOUT
            return httpx.Response(200, json={"object": "list", "data": self.transactions,
                                             "has_more": False, "url": "/v1/balance_transactions"})
        return httpx.Response(404, json={"error": {"message": f"no route {request.url.path}"}})


class StripeSide:
    """Builds and delivers signed Stripe events for the shop's orders."""

    def __init__(self, shop: Shop, fake: FakeStripe) -> None:
        self.shop, self.fake = shop, fake
        self.ids = itertools.count(1)
        self.source = StripeWebhooks(
            [WHSEC], StripeApi(API_KEY, transport=httpx.MockTransport(fake.handle),
                               sleep=lambda _: None)
        )
        shop.hub.sources["stripe"] = self.source

    def deliver(self, event_type: str, obj: dict[str, Any], at: Any) -> None:
        body = orjson.dumps({"id": f"evt_scenario_{next(self.ids)}", "object": "event",
                             "api_version": "2024-06-20", "created": _ts(at), "livemode": False,
                             "type": event_type, "data": {"object": obj}})
        now = int(self.shop.hub.clock().timestamp())
        headers = {"Stripe-Signature": signature_header(WHSEC, body, now)}
        with self.shop.hub.uow() as uow:
            receipt = receive(uow, self.source, headers, body, self.shop.hub.clock())
            uow.commit()
        assert receipt.status == "accepted", receipt

    def charge(self, charge_id: str, order: dict[str, Any], at: Any) -> int:
        amount = cents(order["total_price"])
        self.deliver("charge.succeeded", {
            "id": charge_id, "object": "charge", "amount": amount, "amount_captured": amount,
            "amount_refunded": 0, "captured": True, "currency": "usd", "created": _ts(at),
            "paid": True, "refunded": False, "status": "succeeded",
            "metadata": {"order_id": str(order["id"]), "order_source": "shopify"},
            "balance_transaction": f"txn_{charge_id}", "payment_intent": f"pi_{charge_id}",
        }, at)
        return amount


def test_stripe_payout_reconciles_to_the_cent(db_url: str, tmp_path: Path) -> None:
    shop = open_shop(db_url, extra_config=STRIPE_CONFIG)
    fake = FakeStripe()
    stripe = StripeSide(shop, fake)

    # Three web orders paid through Stripe, shipped from the warehouse.
    shirt, chino, tee = shop.line("SHIRT-M"), shop.line("CHINO-32"), shop.line("TEE-L")
    orders = [shop.order([line], at=T0 + timedelta(minutes=i), gateway="stripe")
              for i, line in enumerate((shirt, chino, tee))]
    shipped = []
    for order, line in zip(orders, (shirt, chino, tee), strict=True):
        shop.deliver("orders/create", order)
        f = shop.fulfilment(order, "WH", [(line.line_id, 1)], T0 + timedelta(hours=2))
        shop.deliver("fulfillments/create", f)
        shipped.append(f)
    charges = [f"ch_scenario_{n}" for n in (1, 2, 3)]
    amounts = [stripe.charge(ch, o, T0 + timedelta(minutes=5)) for ch, o in zip(charges, orders, strict=True)]

    # The chinos come back; Shopify records the refund, Stripe reports it under its own id.
    refund = shop.refund(after(orders[1], [shipped[1]]),
                         [(chino.line_id, 1, "return", LOC["WH"])], T0 + timedelta(days=2))
    shop.deliver("refunds/create", refund)
    refunded = cents(refund["transactions"][0]["amount"])
    stripe.deliver("refund.created", {
        "id": "re_scenario_2", "object": "refund", "amount": refunded, "currency": "usd",
        "charge": charges[1], "created": _ts(T0 + timedelta(days=2)), "status": "succeeded",
        "metadata": {}, "balance_transaction": "txn_re_scenario_2"}, T0 + timedelta(days=2))

    # The tee's buyer disputes the charge.
    stripe.deliver("charge.dispute.created", {
        "id": "du_scenario_3", "object": "dispute", "amount": amounts[2], "currency": "usd",
        "charge": charges[2], "created": _ts(T0 + timedelta(days=3)), "reason": "fraudulent",
        "status": "needs_response", "is_charge_refundable": False, "metadata": {},
        "balance_transactions": []}, T0 + timedelta(days=3))

    # Stripe pays out: gross charges less 2.9% + 30c fees, the refund, the dispute and its fee.
    fees = [a * 29 // 1000 + 30 for a in amounts]
    txns = [_bt(f"txn_{ch}", "charge", "charge", a, fee, ch, T0)
            for ch, a, fee in zip(charges, amounts, fees, strict=True)]
    txns.append(_bt("txn_re_scenario_2", "refund", "refund", -refunded, 0, "re_scenario_2", T0))
    txns.append(_bt("txn_du_scenario_3", "adjustment", "dispute", -amounts[2], DISPUTE_FEE,
                    "du_scenario_3", T0))
    net = sum(t["net"] for t in txns)
    arrival = T0 + timedelta(days=5)
    fake.payout = {"id": PAYOUT, "object": "payout", "amount": net, "currency": "usd",
                   "arrival_date": _ts(arrival), "automatic": True, "created": _ts(arrival),
                   "status": "paid", "reconciliation_status": "completed", "method": "standard",
                   "type": "bank_account", "description": "STRIPE PAYOUT", "metadata": {}}
    fake.transactions = [*txns, _bt("txn_payout", "payout", "payout", -net, 0, PAYOUT, arrival)]
    stripe.deliver("payout.paid", fake.payout, arrival)
    stats = shop.process()
    assert stats.failed == 0, shop.exceptions()

    # The bank shows the deposit.
    statement = tmp_path / "bank.csv"
    statement.write_text(
        "date,amount,currency,reference,account\n"
        f"{arrival.date()},{net / 100:.2f},USD,STRIPE PAYOUT {PAYOUT},Operating\n"
        f"{arrival.date()},-1200.00,USD,RENT NOVEMBER,Operating\n"
    )
    with shop.hub.uow() as uow:
        records = SqlMoneyRecords(uow.conn)
        records.add_bank_lines(read_bank_statement(statement), statement.name, shop.hub.clock())
        report = run_reconciliation(uow, records, MatchPolicy(), shop.hub.clock())
        uow.commit()

    assert report.match_rate == 1, json.dumps(report.findings, indent=1, default=str)
    assert report.findings == []
    assert [d["outcome"] for d in report.deposits] == ["matched"]
    assert report.deposits[0]["variance"] == 0
    assert report.matched_lines == 5  # three charges, the refund, the chargeback

    books = shop.movement_balances()
    assert books.get("Assets:Clearing:Stripe", 0) == 0  # every captured cent paid out or back
    assert books["Assets:Bank"] == net
    assert books["Expenses:Payment-Fees:Stripe"] == sum(fees) + DISPUTE_FEE
    assert books["Expenses:Chargebacks"] == amounts[2]
    assert sum(books.values()) == 0


def _bt(txn: str, kind: str, category: str, amount: int, fee: int, source: str,
        at: Any) -> dict[str, Any]:
    return {"id": txn, "object": "balance_transaction", "amount": amount, "fee": fee,
            "net": amount - fee, "currency": "usd", "created": _ts(at),
            "available_on": _ts(at), "type": kind, "reporting_category": category,
            "source": source, "status": "available", "description": None,
            "fee_details": [{"amount": fee, "currency": "usd", "type": "stripe_fee",
                             "description": "Stripe processing fees"}] if fee else []}
