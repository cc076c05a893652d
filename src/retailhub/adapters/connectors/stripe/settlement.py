"""A Stripe payout and its balance transactions → one ``Settlement`` that adds up.

``GET /v1/balance_transactions?payout=po_…`` lists every balance transaction an automatic
payout paid out, the payout's own (``type: payout``, ``amount`` = −payout) included
(docs.stripe.com/payouts/reconciliation). Each transaction has a signed gross ``amount`` and a
``fee`` "represented as a positive integer when assessed" (balance transaction object
reference), so it becomes one line for the gross and, when there is a fee, a FEE line of
−``fee`` with the same ``transaction_id``; the lines then sum to the transactions' ``net``,
which is what reached the bank.

Kinds come from ``type`` refined by ``reporting_category``, which Stripe recommends for
accounting: it "separates balance transactions with ``type=adjustment`` into several
different categories, including disputes, dispute reversals, and failed refunds"
(docs.stripe.com/reports/reporting-categories). A dispute is an ``adjustment`` whose source
is the dispute (``du_…``): negative when the funds are withdrawn (with the dispute fee in
``fee``, e.g. 15.00 USD), positive when a won dispute reinstates them.

A charge in another currency than the payout's is converted by Stripe ("amount" is in the
balance currency, ``exchange_rate`` converted it); the expanded source (the charge, refund or
dispute) still says what the customer paid, which becomes the line's original amount, signed
like the balance transaction (docs/multi-currency.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime

from retailhub.adapters.connectors.stripe import amounts
from retailhub.adapters.connectors.stripe import payloads as p
from retailhub.adapters.connectors.stripe.errors import (
    ManualPayout,
    PayoutNotReconciled,
    SettlementError,
)
from retailhub.domain.money import MoneyError, format_minor
from retailhub.domain.settlements import LineKind, Settlement, SettlementLine

GATEWAY = "stripe"
REVERSAL_SUFFIX = ":reversal"  # a won dispute's id, as the chargeback reversal's transaction id

# Balance transaction ``type`` values (docs.stripe.com/reports/balance-transaction-types).
_BY_TYPE: Mapping[str, LineKind] = {
    "charge": LineKind.CHARGE,  # card charges
    "payment": LineKind.CHARGE,  # local payment methods (py_…)
    "refund": LineKind.REFUND,
    "payment_refund": LineKind.REFUND,
    "stripe_fee": LineKind.FEE,  # billed Stripe services (Radar, Billing, …)
    "stripe_fx_fee": LineKind.FEE,
    "application_fee": LineKind.FEE,
    "tax_fee": LineKind.FEE,
    "reserve_transaction": LineKind.RESERVE,
    "reserved_funds": LineKind.RESERVE,
    "reserve_hold": LineKind.RESERVE,
    "reserve_release": LineKind.RESERVE,
    "payment_network_reserve_hold": LineKind.RESERVE,
    "payment_network_reserve_release": LineKind.RESERVE,
}
_BY_CATEGORY: Mapping[str, LineKind] = {
    "dispute": LineKind.CHARGEBACK,
    "dispute_reversal": LineKind.CHARGEBACK_REVERSAL,
    "fee": LineKind.FEE,
}


def source_id(bt: p.BalanceTransaction) -> str | None:
    return bt.source.id if isinstance(bt.source, p.Source) else bt.source


def line_kind(bt: p.BalanceTransaction) -> LineKind:
    """What a balance transaction's gross amount is, for the books."""
    kind = _BY_TYPE.get(bt.type)
    if kind is not None:
        return kind
    kind = _BY_CATEGORY.get(bt.reporting_category)
    if kind is not None:
        return kind
    if bt.type == "adjustment" and (source_id(bt) or "").startswith("du_"):
        return LineKind.CHARGEBACK_REVERSAL if bt.amount > 0 else LineKind.CHARGEBACK
    return LineKind.ADJUSTMENT


def manual_payout(payout_id: str) -> ManualPayout:
    return ManualPayout(
        payout_id,
        f"Stripe payout {payout_id} was made manually: Stripe does not record which "
        "transactions a manual payout contains (docs.stripe.com/payouts/reconciliation), "
        "so it must be reconciled by hand",
    )


def settlement_from(payout: p.Payout, transactions: Iterable[p.BalanceTransaction]) -> Settlement:
    """The payout as a settlement; ``SettlementError`` if its transactions do not explain it."""
    if not payout.automatic:
        raise manual_payout(payout.id)
    currency = _code(payout.id, payout.currency, "currency")
    lines: list[SettlementLine] = []
    count = 0
    for position, bt in enumerate(transactions, start=1):
        count = position
        if bt.type == "payout" and source_id(bt) == payout.id:
            continue  # the payout itself: what the other lines add up to
        if bt.currency.upper() != currency:
            raise SettlementError(
                payout.id,
                f"Stripe payout {payout.id} is in {currency} but its balance transaction "
                f"{bt.id} (position {position}) is in {bt.currency.upper()}",
            )
        lines.extend(_lines(payout.id, position, bt, currency))
    total = _minor(payout.id, payout.amount, currency)
    settlement = Settlement(
        gateway=GATEWAY,
        settlement_id=payout.id,
        currency=currency,
        total=total,
        deposit_date=datetime.fromtimestamp(payout.arrival_date, UTC).date(),
        lines=tuple(lines),
    )
    gap = settlement.unexplained
    if gap:
        explained = format_minor(total - gap, currency)
        summary = (
            f"Stripe payout {payout.id} of {format_minor(total, currency)} {currency} is not "
            f"explained by its {count} balance transactions: they net to {explained} "
            f"{currency}, leaving {format_minor(gap, currency)} {currency} unexplained"
        )
        if payout.reconciliation_status != "completed":
            raise PayoutNotReconciled(
                payout.id,
                f"{summary}; Stripe has not finished reconciling it (reconciliation_status "
                f"{payout.reconciliation_status!r}): retry after payout.reconciliation_completed",
            )
        raise SettlementError(payout.id, summary)
    return settlement


def _lines(
    payout_id: str, position: int, bt: p.BalanceTransaction, currency: str
) -> list[SettlementLine]:
    kind = line_kind(bt)
    src = source_id(bt)
    occurred_at = datetime.fromtimestamp(bt.created, UTC)
    order_ref = None
    if isinstance(bt.source, p.Source) and bt.source.metadata:
        order_ref = bt.source.metadata.get("order_id")
    transaction_id = src or bt.id
    if kind is LineKind.CHARGEBACK_REVERSAL:
        # Same id as the ExpectedReceipt of a won dispute (inbound), so they match exactly.
        transaction_id += REVERSAL_SUFFIX
    gross = SettlementLine(
        gateway=GATEWAY,
        settlement_id=payout_id,
        line_no=position,
        kind=kind,
        amount=_minor(payout_id, bt.amount, currency),
        currency=currency,
        occurred_at=occurred_at,
        transaction_id=transaction_id,
        order_ref=order_ref,
        description=bt.description or bt.reporting_category or bt.type,
    )
    original = _customer_paid(payout_id, bt, currency)
    if original is not None:
        gross = replace(gross, original_amount=original[0], original_currency=original[1])
    if not bt.fee:
        return [gross]
    fee_names = ", ".join(d.description or d.type for d in bt.fee_details)
    fee = SettlementLine(
        gateway=GATEWAY,
        settlement_id=payout_id,
        line_no=position,
        kind=LineKind.FEE,
        amount=-_minor(payout_id, bt.fee, currency),
        currency=currency,
        occurred_at=occurred_at,
        transaction_id=src or bt.id,
        order_ref=order_ref,
        description=fee_names or f"fee on {bt.type}",
    )
    return [gross, fee]


def _customer_paid(
    payout_id: str, bt: p.BalanceTransaction, currency: str
) -> tuple[int, str] | None:
    """What the customer paid, when Stripe converted it into the payout currency."""
    src = bt.source
    if not isinstance(src, p.Source) or src.currency is None or src.amount is None:
        return None
    original = _code(payout_id, src.currency, f"source {src.id} currency")
    if original == currency:
        return None
    paid = src.amount_captured if src.amount_captured is not None else src.amount
    amount = abs(_minor(payout_id, paid, original))
    return (-amount if bt.amount < 0 else amount), original


def _code(payout_id: str, stripe_currency: str, where: str) -> str:
    try:
        return amounts.currency_code(stripe_currency)
    except MoneyError as exc:
        raise SettlementError(payout_id, f"Stripe payout {payout_id} {where}: {exc}") from None


def _minor(payout_id: str, amount: int, currency: str) -> int:
    try:
        return amounts.to_minor(amount, currency)
    except MoneyError as exc:
        raise SettlementError(payout_id, f"Stripe payout {payout_id}: {exc}") from None
