"""Money as integer minor units plus an ISO-4217 currency, and the one place rounding lives.

Decimal appears only at the edges (``from_decimal`` / ``to_decimal``), where vendor payloads
carry decimal strings; inside the hub every amount is an ``int`` of minor units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 exponents that differ from the usual two decimals.
_EXPONENTS: dict[str, int] = {
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
}


class MoneyError(ValueError):
    """An amount that cannot be represented exactly, or a currency mismatch."""


def exponent(currency: str) -> int:
    """Number of minor-unit digits for ``currency`` (2 unless ISO 4217 says otherwise)."""
    return _EXPONENTS.get(currency.upper(), 2)


def check_currency(currency: str) -> str:
    code = currency.upper()
    if len(code) != 3 or not code.isalpha():
        raise MoneyError(f"not an ISO-4217 currency code: {currency!r}")
    return code


def to_minor(value: Decimal | str | int, currency: str) -> int:
    """Convert a major-unit decimal (``"409.94"``) to minor units (``40994``).

    Vendors send exact cents; a value with more precision than the currency allows is rounded
    half-up, the convention every payment gateway we map uses for display amounts.
    """
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise MoneyError(f"not a decimal amount: {value!r}") from exc
    if not amount.is_finite():
        raise MoneyError(f"not a finite amount: {value!r}")
    scaled = amount.scaleb(exponent(currency)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(scaled)


def to_decimal(minor: int, currency: str) -> Decimal:
    """Minor units back to a major-unit Decimal with the currency's exponent."""
    return Decimal(minor).scaleb(-exponent(currency))


def format_minor(minor: int, currency: str) -> str:
    exp = exponent(currency)
    return f"{to_decimal(minor, currency):.{exp}f}"


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount: ``amount`` minor units of ``currency``."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise MoneyError(f"money must be integer minor units, got {self.amount!r}")

    @classmethod
    def of(cls, value: Decimal | str | int, currency: str) -> Money:
        code = check_currency(currency)
        return cls(to_minor(value, code), code)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, check_currency(currency))

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise MoneyError(f"currency mismatch: {self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        return Money(self.amount * factor, self.currency)

    def is_zero(self) -> bool:
        return self.amount == 0

    def __str__(self) -> str:
        return f"{format_minor(self.amount, self.currency)} {self.currency}"


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` minor units across ``weights`` so the parts sum exactly to ``total``.

    Largest-remainder method: each part is floor(total * w / sum(w)); the leftover units go
    to the parts with the largest remainders, earliest first. Used to spread an order-level
    discount over lines and a line's tax over its units.
    """
    if not weights:
        if total:
            raise MoneyError("cannot allocate a non-zero amount over nothing")
        return []
    whole = sum(weights)
    if whole == 0:
        parts = [0] * len(weights)
        parts[0] = total
        return parts
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    shares = [(magnitude * w) // whole for w in weights]
    remainders = [(magnitude * w) % whole for w in weights]
    leftover = magnitude - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:leftover]:
        shares[i] += 1
    return [sign * s for s in shares]


def prorate(amount: int, part: int, whole: int) -> int:
    """The share of ``amount`` that ``part`` of ``whole`` units carries (half-even rounding).

    Refunding 1 of 3 units of a line whose tax was 1.00 gives 0.33; the units' shares are
    computed with ``allocate`` where they must sum exactly.
    """
    if whole <= 0:
        raise MoneyError("cannot prorate over a non-positive whole")
    if part == whole:
        return amount
    share = (Decimal(amount) * part / whole).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return int(share)


def units_share(amount: int, units: int, of_units: int, already: int = 0) -> int:
    """Minor units carried by ``units`` more units out of ``of_units``, after ``already`` were taken.

    Taking units one slice at a time this way sums exactly to ``amount`` when all units are
    taken, whatever the slices: slice k gets allocate()'s cumulative share up to it.
    """
    if of_units <= 0:
        return 0
    taken_before = _cumulative(amount, already, of_units)
    taken_after = _cumulative(amount, min(already + units, of_units), of_units)
    return taken_after - taken_before


def _cumulative(amount: int, units: int, of_units: int) -> int:
    sign = -1 if amount < 0 else 1
    return sign * ((abs(amount) * units) // of_units)


def scale(amount: int, factor: Decimal) -> int:
    """``amount`` times a rate (breakage, a fee percentage), rounded half-even to minor units."""
    return int((Decimal(amount) * factor).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
