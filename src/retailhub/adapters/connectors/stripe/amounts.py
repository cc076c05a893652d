"""Stripe amounts ("the smallest currency unit") as the hub's minor units.

Stripe API amounts are integers in what Stripe calls the currency's smallest unit
(docs.stripe.com/currencies, "Minor units in API amounts"), and for almost every currency that
is the ISO 4217 minor unit our ``exponent`` uses: 1234 USD is 12.34, 500 JPY is ¥500. Stripe's
exceptions, from the same page ("Zero-decimal currencies", "Special cases"):

* ISK is zero-decimal in ISO 4217 (and in ``money.exponent``) but "will remain a two-decimal
  currency in the Stripe API, and an ISK amount of ``100`` will continue to represent 1 króna";
  since 2023-04-14 amounts must be multiples of 100 (support.stripe.com, "Deprecation of
  fractional ISK charges and refunds").
* MGA is zero-decimal in Stripe but has two minor digits in ISO 4217.
* Three-decimal currencies (BHD, JOD, KWD, OMR, TND) are sent with three decimals, as in ISO.

So the amount is rescaled by the difference of exponents, and refused if that would drop a
fraction (an old fractional-króna charge), never rounded. Currency codes arrive lower-case.
"""

from __future__ import annotations

from retailhub.domain.money import MoneyError, check_currency, exponent

# docs.stripe.com/currencies#zero-decimal
STRIPE_ZERO_DECIMAL: frozenset[str] = frozenset({
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA",
    "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
})  # fmt: skip
# docs.stripe.com/currencies#three-decimal
STRIPE_THREE_DECIMAL: frozenset[str] = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
_POWERS_OF_TEN = (1, 10, 100, 1000)  # exponents differ by at most 3


def stripe_exponent(currency: str) -> int:
    """Digits after the point in Stripe's integer amounts for ``currency`` (upper-case code)."""
    if currency in STRIPE_ZERO_DECIMAL:
        return 0
    if currency in STRIPE_THREE_DECIMAL:
        return 3
    return 2


def currency_code(stripe_currency: str) -> str:
    """Stripe's lower-case ``"usd"`` as the hub's ``"USD"``; ``MoneyError`` if not ISO-shaped."""
    return check_currency(stripe_currency)


def to_minor(amount: int, currency: str) -> int:
    """A Stripe integer amount in ``currency`` (upper-case) as hub minor units, exactly."""
    shift = exponent(currency) - stripe_exponent(currency)
    scale = _POWERS_OF_TEN[abs(shift)]
    if shift >= 0:
        return amount * scale
    quotient, remainder = divmod(amount, scale)
    if remainder:
        raise MoneyError(
            f"Stripe amount {amount} {currency} has a fraction of the currency's smallest unit "
            f"(Stripe writes {currency} with {stripe_exponent(currency)} decimals, "
            f"ISO 4217 with {exponent(currency)})"
        )
    return quotient
