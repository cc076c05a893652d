"""Posting rules for money on its way to the bank: settlements, fees, commissions, chargebacks,
and the cash in a store's drawers.

A settlement is one entry of the ``settlement`` rule (bank, clearing, reserves, adjustments)
whose fee lines follow the ``fee`` rule and whose commission lines follow the
``marketplace_commission`` rule in force on the deposit date; each gateway's sub-account is
derived from the base a rule names (``Expenses:Processing-Fees`` → ``…:Stripe``). Expected
entries are ledger text, hand-computed (see ``test_posting_rules``, whose helpers these are).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from test_posting_rules import ledger, posted, rules, till, upload

from retail_shop import T0, Shop, open_shop
from retailhub.domain.events import PaymentReported
from retailhub.domain.payments import ExpectedReceipt, PaymentKind
from retailhub.domain.settlements import LineKind, Settlement, SettlementLine
from retailhub.services.handlers import ApplyContext, apply_event
from retailhub.services.settlement_import import import_settlements

SETTLED = datetime(2026, 11, 23, 15, tzinfo=UTC)  # the settled transactions: 10:00 in New York


def settle(
    shop: Shop, gateway: str, payout: str, deposited: date, *lines: tuple[LineKind, int]
) -> None:
    """Import one settlement, as a file import does; its total is the sum of its lines."""
    total = sum(amount for _, amount in lines)
    parts = tuple(
        SettlementLine(gateway, payout, n, kind, amount, "USD", SETTLED, f"{payout}-{n}")
        for n, (kind, amount) in enumerate(lines, start=1)
    )
    with shop.hub.uow() as uow:
        outcome = import_settlements(
            uow,
            shop.hub.settings.rules(),
            [Settlement(gateway, payout, "USD", total, deposited, parts)],
            "test",
            shop.hub.clock(),
        )
        uow.commit()
    assert outcome.imported == [f"{gateway}:{payout}"]


def test_a_settlement_follows_the_settlement_rule(db_url: str):
    """Amazon pays out 100.00 of charges less a 20.00 refund, a 15.00 commission, a 3.00 fee
    and 5.00 held in reserve, plus a 1.00 adjustment in our favour: 58.00 on the 25th. With
    only a settlement rule, the fee and the commission keep their default accounts."""
    posting = """
        [[posting_rules.rule]]
        type = "settlement"
        effective_from = 2026-01-01
        [posting_rules.rule.accounts]
        bank = "Assets:Bank:Operating"
        clearing = "Assets:Clearing:Gateways"
        reserves = "Assets:Held-By-Gateways"
        settlement_adjustments = "Expenses:Gateway-Adjustments"
    """
    shop = open_shop(db_url, extra_config=rules(posting))
    settle(
        shop, "amazon", "S-1", date(2026, 11, 25),
        (LineKind.CHARGE, 10000), (LineKind.REFUND, -2000), (LineKind.COMMISSION, -1500),
        (LineKind.FEE, -300), (LineKind.RESERVE, -500), (LineKind.ADJUSTMENT, 100),
    )  # fmt: skip

    # The refund is a line of its own in clearing: the entry keeps each kind apart.
    assert posted(shop.hub)["settlement:amazon:S-1:settlement"] == ledger("""
        2026-11-25  settlement@2026-01-01 v2026.1
        Assets:Clearing:Gateways:Amazon           -10000
        Assets:Clearing:Gateways:Amazon             2000
        Expenses:Marketplace-Commissions:Amazon     1500
        Expenses:Payment-Fees:Amazon                 300
        Assets:Held-By-Gateways:Amazon               500
        Expenses:Gateway-Adjustments:Amazon         -100
        Assets:Bank:Operating                       5800
    """)


def test_fees_and_commissions_follow_their_own_rules_by_deposit_date(db_url: str):
    """Card fees move to a new account for payouts deposited from the 25th: Stripe's payout of
    the 24th (100.00 less a 3.20 fee) keeps the old fee account, the one of the 25th (50.00
    less 1.75) takes the new; Amazon's 7.50 commission on 50.00 follows the commission rule.
    The entries are the default settlement rule's: there is no settlement rule."""
    posting = """
        [[posting_rules.rule]]
        type = "fee"
        effective_from = 2026-01-01
        accounts = { payment_fees = "Expenses:Processing-Fees" }

        [[posting_rules.rule]]
        type = "fee"
        effective_from = 2026-11-25
        accounts = { payment_fees = "Expenses:Card-Fees" }

        [[posting_rules.rule]]
        type = "marketplace_commission"
        effective_from = 2026-01-01
        accounts = { commissions = "Expenses:Selling-Fees" }
    """
    shop = open_shop(db_url, extra_config=rules(posting))
    nov_24, nov_25 = date(2026, 11, 24), date(2026, 11, 25)
    settle(shop, "stripe", "po_1", nov_24, (LineKind.CHARGE, 10000), (LineKind.FEE, -320))
    settle(shop, "stripe", "po_2", nov_25, (LineKind.CHARGE, 5000), (LineKind.FEE, -175))
    settle(shop, "amazon", "S-2", nov_25, (LineKind.CHARGE, 5000), (LineKind.COMMISSION, -750))

    book = posted(shop.hub)
    assert book["settlement:stripe:po_1:settlement"] == ledger("""
        2026-11-24  default v2026.1
        Assets:Clearing:Stripe                    -10000
        Expenses:Processing-Fees:Stripe              320
        Assets:Bank                                 9680
    """)
    assert book["settlement:stripe:po_2:settlement"] == ledger("""
        2026-11-25  default v2026.1
        Assets:Clearing:Stripe                     -5000
        Expenses:Card-Fees:Stripe                    175
        Assets:Bank                                 4825
    """)
    assert book["settlement:amazon:S-2:settlement"] == ledger("""
        2026-11-25  default v2026.1
        Assets:Clearing:Amazon                     -5000
        Expenses:Selling-Fees:Amazon                 750
        Assets:Bank                                 4250
    """)


def test_a_chargeback_follows_the_chargeback_rule(db_url: str):
    """A 45.00 Stripe charge is disputed on the 24th and the dispute won on the 29th: the money
    leaves the rule's clearing account for dispute expense, then comes back."""
    posting = """
        [[posting_rules.rule]]
        type = "chargeback"
        effective_from = 2026-01-01
        accounts = { chargebacks = "Expenses:Disputes", clearing = "Assets:Clearing:Cards" }
    """
    shop = open_shop(db_url, extra_config=rules(posting))
    disputes = [
        (PaymentKind.CHARGEBACK, -4500, SETTLED + timedelta(days=1), "du_1"),
        (PaymentKind.CHARGEBACK_REVERSAL, 4500, SETTLED + timedelta(days=6), "du_1:won"),
    ]
    with shop.hub.uow() as uow:
        ctx = ApplyContext(uow, shop.hub.settings.rules(), None, "stripe:test", shop.hub.clock())
        for kind, amount, at, ref in disputes:
            receipt = ExpectedReceipt("stripe", kind, amount, "USD", at, ref, None, f"stripe:{ref}")
            apply_event(PaymentReported(receipt, None, at), ctx)
        uow.commit()

    book = posted(shop.hub)
    assert book["dispute:stripe:du_1:chargeback"] == ledger("""
        2026-11-24  chargeback@2026-01-01 v2026.1
        Expenses:Disputes                           4500
        Assets:Clearing:Cards:Stripe               -4500
    """)
    assert book["dispute:stripe:du_1:won:chargeback_reversal"] == ledger("""
        2026-11-29  chargeback@2026-01-01 v2026.1
        Expenses:Disputes                          -4500
        Assets:Clearing:Cards:Stripe                4500
    """)


def test_drawer_cash_follows_the_cash_rule(db_url: str, tmp_path: Path):
    """Register T1 opens with a 100.00 float, pays 15.00 out for window cleaning, takes a 20.00
    top-up from the safe and counts 104.50 at close: 0.50 short of 100.00 − 15.00 + 20.00.
    The drawer is the account ``[accounts.gateways] cash`` names (Assets:Cash-Drawers)."""
    posting = """
        [[posting_rules.rule]]
        type = "cash"
        effective_from = 2026-01-01
        [posting_rules.rule.accounts]
        cash_paid_out = "Expenses:Store-Sundries"
        cash_paid_in = "Assets:Safe"
        cash_over_short = "Expenses:Till-Differences"
    """
    shop = open_shop(db_url, extra_config=rules(posting))
    close = {"business_day": "2026-11-20", "counted_cash": "104.50", "opening_float": "100.00"}
    upload(shop, tmp_path, [
        till(1, "paid_out", T0 + timedelta(hours=2), amount="15.00", reason="window cleaning"),
        till(2, "paid_in", T0 + timedelta(hours=3), amount="20.00", reason="float top-up"),
        till(3, "end_of_day", T0 + timedelta(hours=8), **close),
    ])  # fmt: skip

    book = posted(shop.hub)
    assert book["cash:STORE-1:T1:1:cash-movement"] == ledger("""
        2026-11-20  cash@2026-01-01 v2026.1
        Assets:Cash-Drawers                        -1500  pos  STORE-1
        Expenses:Store-Sundries                     1500  pos  STORE-1
    """)
    assert book["cash:STORE-1:T1:2:cash-movement"] == ledger("""
        2026-11-20  cash@2026-01-01 v2026.1
        Assets:Cash-Drawers                         2000  pos  STORE-1
        Assets:Safe                                -2000  pos  STORE-1
    """)
    assert book["drawer:STORE-1:T1:3:over-short"] == ledger("""
        2026-11-20  cash@2026-01-01 v2026.1
        Assets:Cash-Drawers                          -50  pos  STORE-1
        Expenses:Till-Differences                     50  pos  STORE-1
    """)
