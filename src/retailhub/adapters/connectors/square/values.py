"""Reading Square's values the same way everywhere: quantities, money, times and tender kinds.

Square quantities are decimal strings ("2", "1.250"): measured items (sold by weight or length)
carry fractions, which the canonical model (integer units) cannot hold yet, so they are refused
with the line and path named. Money is already integer minor units; what is checked is that every
amount is in the order's currency, since an order names its currency only through its amounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from retailhub.adapters.connectors.square import payloads as p
from retailhub.adapters.connectors.square.errors import PayloadError
from retailhub.domain.money import MoneyError, check_currency
from retailhub.domain.payments import TenderMethod
from retailhub.domain.returns import RefundMethod

SYSTEM = "square"

# Tender.type → (method, gateway). Square itself settles card, wallet (Apple Pay / Google Pay
# taken by Square), bank-account (ACH), buy-now-pay-later (Afterpay) and Square-account tenders
# into the seller's payouts. Cash and Square gift cards never reach a payout; THIRD_PARTY_CARD
# (a card run on someone else's terminal) and OTHER (a check, a voucher) are settled elsewhere,
# which the hub calls the "manual" gateway (domain.payments.UNSETTLED_GATEWAYS).
# Enum: Square API reference, TenderType.
TENDERS: Mapping[str, tuple[TenderMethod, str]] = {
    "CARD": (TenderMethod.CARD, "square"),
    "WALLET": (TenderMethod.WALLET, "square"),
    "BANK_ACCOUNT": (TenderMethod.OTHER, "square"),
    "BUY_NOW_PAY_LATER": (TenderMethod.OTHER, "square"),
    "SQUARE_ACCOUNT": (TenderMethod.OTHER, "square"),
    "CASH": (TenderMethod.CASH, "cash"),
    "SQUARE_GIFT_CARD": (TenderMethod.GIFT_CARD, "gift_card"),
}
OTHER_TENDER: tuple[TenderMethod, str] = (TenderMethod.OTHER, "manual")
NO_SALE = "NO_SALE"  # a drawer opened without a sale: not a tender at all
# The gateway of a return's value spent on an exchange's new goods: refunded into it, paid out
# of it, so its clearing account nets to zero and no payout ever carries it.
EXCHANGE = "exchange"

# How money went back, by the refunded tender's type.
REFUND_METHODS: Mapping[str, RefundMethod] = {
    "CASH": RefundMethod.CASH,
    "SQUARE_GIFT_CARD": RefundMethod.GIFT_CARD,
}

# Payment.source_type / PaymentRefund.destination_type values whose money Square never settles:
# the gateway name tells reconciliation to expect no payout line (Square API reference, Payment
# "source_type": CARD, BANK_ACCOUNT, WALLET, BUY_NOW_PAY_LATER, SQUARE_ACCOUNT, CASH, EXTERNAL;
# EXTERNAL is a payment recorded in Square but taken elsewhere, e.g. a check).
UNSETTLED_SOURCES: Mapping[str, str] = {
    "CASH": "cash",
    "SQUARE_GIFT_CARD": "gift_card",
    "EXTERNAL": "manual",
}


def exchange_tender_id(order_id: str) -> str:
    """The id of the return credit an exchange order spends on its new goods."""
    return f"{order_id}:{EXCHANGE}"


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def whole_quantity(text: str, where: str, what: str) -> int:
    """A decimal-string quantity as whole units; fractions and negatives are refused."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise PayloadError(f"{what} has quantity {text!r}, not a number, at `{where}`") from None
    if not value.is_finite() or value < 0:
        raise PayloadError(f"{what} has quantity {text!r}, not a count of units, at `{where}`")
    if value != value.to_integral_value():
        raise PayloadError(
            f"{what} has a fractional quantity {text!r} at `{where}`: items sold by weight or "
            "measure are not supported yet (the hub counts whole units)"
        )
    return int(value)


def check_code(code: str, where: str) -> str:
    try:
        return check_currency(code)
    except MoneyError as exc:
        raise PayloadError(f"{exc} at `{where}`") from None


def amount(money: p.Money, currency: str, where: str) -> int:
    """Minor units of ``money``, which must be in ``currency`` (the order's)."""
    if money.currency.upper() != currency:
        raise PayloadError(
            f"amount in {money.currency} where the order is in {currency}, at `{where}`"
        )
    return money.amount


def optional_amount(money: p.Money | None, currency: str, where: str) -> int:
    return 0 if money is None else amount(money, currency, where)
