"""Available-to-promise per channel: safety stock, channel rules, and a fast in-memory index.

A channel promises what its locations can spare. Three questions decide the figure, each
configured per channel or per SKU and location:

* what to hold back at each location (``SafetyStock``: units, or days of cover over recent
  sales, with defaults per channel and per location);
* which locations feed the channel, and whether stock on its way to them counts (``AtpRule``);
* how far the channel may sell past what it has (``Backorders``: not at all, without limit, or
  up to N units).

Per location, two figures come out of a position (reservations for open orders and pickups are
already netted in ``reserved``; with in-transit counted, goods on the road to the location are
treated as if they had arrived)::

    supply   = on hand (+ in transit)
    sellable = max(0, supply − reserved − safety stock)   what the location can still promise
    owed     = max(0, reserved − supply)                  units promised it cannot cover

and per channel, summed over its locations:

    none       ATP = Σ sellable
    unlimited  ATP = Σ sellable − Σ owed                  (may go below zero: units on backorder)
    up to N    ATP = Σ sellable + max(0, N − Σ owed)

Safety stock only holds back units that are there: an empty shelf is not "minus the safety
stock", so a SKU that never had stock at a location reads the same as one with a zero position.

``atp`` computes the figure for one SKU from its positions, the reference every faster path must
agree with. ``AtpIndex`` keeps every SKU's figures in compact integer arrays (one ``array('i')``
per SKU, four ints per location) for sub-millisecond queries over millions of positions, kept in
step movement by movement, with each channel's total cached until the SKU next changes.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from retailhub.domain.inventory import Movement, Position

# A sales rate: units per day. Floats are refused: 0.1 × 30 days is 3.0000000000000004 in
# binary floating point, which a ceiling turns into 4 units of safety stock.
Rate = int | Fraction | Decimal | str


def _ratio(value: Rate, what: str) -> tuple[int, int]:
    """An exact (numerator, denominator) for an int, Fraction, Decimal or decimal string."""
    if isinstance(value, bool) or not isinstance(value, int | Fraction | Decimal | str):
        raise TypeError(
            f"{what} must be an int, Fraction, Decimal or decimal string, "
            f"not {type(value).__name__} {value!r}"
        )
    if isinstance(value, int):
        return value, 1
    try:
        exact = Fraction(value)
    except (ValueError, ArithmeticError):
        raise ValueError(f"{what} {value!r} is not a number") from None
    return exact.numerator, exact.denominator


def daily_rate(units_sold: int, window_days: int) -> Fraction:
    """Average daily sales over a trailing window, exactly (17 units in 28 days is 17/28)."""
    if window_days <= 0:
        raise ValueError(f"the sales window must be at least one day, got {window_days}")
    return Fraction(units_sold, window_days)


# -- safety stock -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Units:
    """Hold back a fixed number of units."""

    units: int

    def __post_init__(self) -> None:
        if isinstance(self.units, bool) or not isinstance(self.units, int):
            raise TypeError(f"safety stock units must be a whole number, got {self.units!r}")
        if self.units < 0:
            raise ValueError(f"safety stock units must be zero or more, got {self.units}")


@dataclass(frozen=True, slots=True)
class DaysOfCover:
    """Hold back enough for ``days`` of average sales: ceil(days × daily sales), at least
    ``at_least`` units. A fraction of a unit rounds up: the buffer covers the whole period."""

    days: Rate
    at_least: int = 0
    _num: int = field(init=False, repr=False, compare=False)
    _den: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        num, den = _ratio(self.days, "days of cover")
        if num < 0:
            raise ValueError(f"days of cover must be zero or more, got {self.days}")
        if isinstance(self.at_least, bool) or not isinstance(self.at_least, int):
            raise TypeError(f"days of cover at_least must be a whole number: {self.at_least!r}")
        if self.at_least < 0:
            raise ValueError(f"days of cover at_least must be zero or more, got {self.at_least}")
        object.__setattr__(self, "_num", num)
        object.__setattr__(self, "_den", den)

    def units_for(self, daily_sales: Rate) -> int:
        rate_num, rate_den = _ratio(daily_sales, "daily sales")
        # Net returns can make a trailing window's sales negative: that asks for no buffer.
        cover = max(0, -(-(self._num * rate_num) // (self._den * rate_den)))
        return max(cover, self.at_least)


SafetyRule = Units | DaysOfCover
NO_SAFETY_STOCK = Units(0)


def parse_safety_rule(raw: object) -> SafetyRule:
    """A rule from configuration: ``3`` or ``{units = 3}``, or ``{days = "7.5", at_least = 1}``.

    Raises ValueError with a plain message; the caller adds where the value came from.
    """
    if isinstance(raw, int) and not isinstance(raw, bool):
        return Units(raw)
    if isinstance(raw, Mapping):
        keys = set(raw)
        try:
            if keys == {"units"}:
                return Units(raw["units"])
            if keys and keys <= {"days", "at_least"} and "days" in keys:
                return DaysOfCover(raw["days"], raw.get("at_least", 0))
        except TypeError as exc:
            raise ValueError(str(exc)) from None
    raise ValueError(
        f"safety stock {raw!r} is not understood: give a number of units (3, or {{units = 3}}) "
        'or days of cover ({days = "7.5"}, optionally with at_least = 1)'
    )


@dataclass(frozen=True)
class SafetyStock:
    """Units held back per SKU and location. The most specific rule wins:

    1. a rule for the SKU at that location (``rules[(sku, location)]``);
    2. the channel's default, when the question is asked for a channel (``channel_defaults``);
    3. the location's default (``location_defaults``);
    4. ``default``.

    Days-of-cover rules read ``daily_sales[(sku, location)]`` (average units a day over the
    caller's trailing window; missing means no recent sales, so only ``at_least`` is held).
    """

    rules: Mapping[tuple[str, str], SafetyRule] = field(default_factory=dict)
    channel_defaults: Mapping[str, SafetyRule] = field(default_factory=dict)
    location_defaults: Mapping[str, SafetyRule] = field(default_factory=dict)
    default: SafetyRule = NO_SAFETY_STOCK
    daily_sales: Mapping[tuple[str, str], Rate] = field(default_factory=dict)

    def rule_for(self, sku: str, location: str, channel: str | None = None) -> SafetyRule:
        rule = self.rules.get((sku, location))
        if rule is None and channel is not None:
            rule = self.channel_defaults.get(channel)
        if rule is None:
            rule = self.location_defaults.get(location, self.default)
        return rule

    @property
    def uses_days_of_cover(self) -> bool:
        """Whether any rule needs the trailing daily sales (so a reader fetches them)."""
        rules = [
            *self.rules.values(),
            *self.channel_defaults.values(),
            *self.location_defaults.values(),
            self.default,
        ]
        return any(isinstance(r, DaysOfCover) for r in rules)

    def safety_stock_for(self, sku: str, location: str, channel: str | None = None) -> int:
        rule = self.rule_for(sku, location, channel)
        if isinstance(rule, Units):
            return rule.units
        return rule.units_for(self.daily_sales.get((sku, location), 0))


# -- channel rules ------------------------------------------------------------------------------


class BackorderPolicy(StrEnum):
    NONE = "none"
    UNLIMITED = "unlimited"
    UP_TO = "up_to"


@dataclass(frozen=True, slots=True)
class Backorders:
    """How far past its stock a channel may sell. ``limit`` counts units for ``UP_TO`` only."""

    policy: BackorderPolicy = BackorderPolicy.NONE
    limit: int = 0

    def __post_init__(self) -> None:
        if self.policy is BackorderPolicy.UP_TO:
            if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 0:
                raise ValueError(
                    f"a backorder limit must be a whole number of units, zero or more: "
                    f"{self.limit!r}"
                )
        elif self.limit != 0:
            raise ValueError(f"a backorder limit applies to 'up_to' only, not {self.policy}")

    @classmethod
    def none(cls) -> Backorders:
        return cls(BackorderPolicy.NONE)

    @classmethod
    def unlimited(cls) -> Backorders:
        return cls(BackorderPolicy.UNLIMITED)

    @classmethod
    def up_to(cls, units: int) -> Backorders:
        return cls(BackorderPolicy.UP_TO, units)

    @classmethod
    def parse(cls, raw: object) -> Backorders:
        """From configuration: ``"none"``, ``"unlimited"``, or a number of units (``25``)."""
        if raw == "none" or raw is False:
            return cls.none()
        if raw == "unlimited" or raw is True:
            return cls.unlimited()
        if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
            return cls.up_to(raw)
        raise ValueError(
            f'backorders {raw!r} is not understood: "none", "unlimited", or a number of units (25)'
        )

    def allows(self, quantity: int, atp: int) -> bool:
        """May the channel take an order for ``quantity`` units when its ATP is ``atp``?"""
        return self.policy is BackorderPolicy.UNLIMITED or quantity <= atp


@dataclass(frozen=True, slots=True)
class AtpRule:
    """Which locations feed a channel's available-to-promise, and how."""

    channel: str
    locations: tuple[str, ...]
    include_in_transit: bool = False
    backorders: Backorders = Backorders()

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for code in self.locations:
            if code in seen:
                # Listed twice, a location's stock would be promised twice.
                raise ValueError(f"channel {self.channel!r} lists location {code!r} twice")
            seen.add(code)


def _channel_total(rule: AtpRule, sellable: int, owed: int) -> int:
    policy = rule.backorders.policy
    if policy is BackorderPolicy.NONE:
        return sellable
    if policy is BackorderPolicy.UNLIMITED:
        return sellable - owed
    return sellable + max(0, rule.backorders.limit - owed)


def atp(positions: Iterable[Position], rule: AtpRule, safety: SafetyStock | None = None) -> int:
    """Available-to-promise for one SKU on one channel, from the SKU's positions.

    ``safety`` resolves safety stock per location (for this channel); without it each
    position's own stored ``safety_stock`` is used.
    """
    feeds = frozenset(rule.locations)
    sellable = owed = 0
    for p in _one_sku(positions):
        if p.location in feeds:
            location_sellable, location_owed = _location_figures(p, rule, safety)
            sellable += location_sellable
            owed += location_owed
    return _channel_total(rule, sellable, owed)


def _by_location(rule: AtpRule, figures: Mapping[str, tuple[int, int]]) -> dict[str, int]:
    """Split a channel's ATP over its locations, from each one's (sellable, owed)."""
    policy = rule.backorders.policy
    out = {}
    for code in rule.locations:
        sellable, owed = figures.get(code, (0, 0))
        out[code] = sellable - owed if policy is BackorderPolicy.UNLIMITED else sellable
    if policy is BackorderPolicy.UP_TO and rule.locations:
        # The allowance is the channel's, not a location's: it is shown at the first location
        # so that the figures still add up to the channel's ATP.
        owed = sum(o for _, o in figures.values())
        out[rule.locations[0]] += max(0, rule.backorders.limit - owed)
    return out


def atp_by_location(
    positions: Iterable[Position], rule: AtpRule, safety: SafetyStock | None = None
) -> dict[str, int]:
    """The channel's ATP per location it sells from (a channel that sets a level per location,
    like Shopify's ``inventory_levels/set``). They add up to ``atp`` for a channel with at least
    one location; an up-to-N backorder allowance is shown at the channel's first location."""
    figures: dict[str, tuple[int, int]] = {}
    for p in _one_sku(positions):
        if p.location in rule.locations:
            figures[p.location] = _location_figures(p, rule, safety)
    return _by_location(rule, figures)


def _one_sku(positions: Iterable[Position]) -> Iterator[Position]:
    sku: str | None = None
    for p in positions:
        if sku is None:
            sku = p.sku
        elif p.sku != sku:
            raise ValueError(f"ATP is worked out one SKU at a time: got {sku!r} and {p.sku!r}")
        yield p


def _location_figures(p: Position, rule: AtpRule, safety: SafetyStock | None) -> tuple[int, int]:
    held = (
        max(0, p.safety_stock)  # a negative figure stored by mistake must not add stock
        if safety is None
        else safety.safety_stock_for(p.sku, p.location, rule.channel)
    )
    free = (p.on_hand + p.in_transit if rule.include_in_transit else p.on_hand) - p.reserved
    # (sellable, owed): safety stock only holds back units that are there.
    return max(0, free - held), max(0, -free)


# -- the index ----------------------------------------------------------------------------------

# Each SKU's stock is one array('i') of STRIDE ints per location number: on hand, reserved,
# in transit, then one safety-stock column per safety profile. A profile is the set of channels
# that resolve safety stock alike: profile 0 for all channels without a default of their own in
# ``SafetyStock.channel_defaults``, one more per channel that has one.
_ON_HAND, _RESERVED, _IN_TRANSIT, _SAFETY = 0, 1, 2, 3
_INT32 = (-(2**31), 2**31 - 1)


@dataclass(frozen=True, slots=True)
class _Channel:
    number: int
    rule: AtpRule
    slots: tuple[int, ...]  # the offset of each feeding location's first int
    safety_column: int  # offset of this channel's safety stock within a location's ints


class AtpIndex:
    """Every SKU's positions as compact arrays, answering ATP per channel in O(its locations).

    Built from positions (e.g. straight from the positions table) and kept in step with
    ``apply(movement)``. Each channel's total for a SKU is cached on first ask and dropped when a
    movement touches that SKU. Not thread-safe: one writer, queries on the same thread.

    With ``safety`` given, safety stock is resolved per (SKU, location[, channel]) when a
    position is loaded or first moved, and again on ``refresh_safety`` (days of cover follow
    sales, so refresh when the daily sales figures change); without it each position's stored
    ``safety_stock`` is kept, and positions first seen in a movement hold none.

    Quarantined stock plays no part in ATP and is not kept.
    """

    def __init__(
        self,
        rules: Iterable[AtpRule],
        positions: Iterable[Position] = (),
        safety: SafetyStock | None = None,
    ) -> None:
        self._safety = safety
        self._locations: dict[str, int] = {}
        rule_list = list(rules)
        profiles: list[str | None] = [None]
        if safety is not None:
            profiles += [r.channel for r in rule_list if r.channel in safety.channel_defaults]
        self._profiles = tuple(profiles)
        self._stride = _SAFETY + len(profiles)
        self._channels: dict[str, _Channel] = {}
        for rule in rule_list:
            if rule.channel in self._channels:
                raise ValueError(f"two ATP rules for channel {rule.channel!r}")
            profile = profiles.index(rule.channel) if rule.channel in profiles else 0
            slots = tuple(self._location_number(code) * self._stride for code in rule.locations)
            self._channels[rule.channel] = _Channel(
                len(self._channels), rule, slots, _SAFETY + profile
            )
        self._names = tuple(self._channels)
        self._stock: dict[str, array[int]] = {}
        self._cache: dict[str, list[int | None]] = {}
        self.load(positions)

    # -- loading and keeping in step ----------------------------------------------------------

    def load(self, positions: Iterable[Position]) -> None:
        """Set positions wholesale (a position already held is replaced, not added to)."""
        stride = self._stride
        for p in positions:
            stock = self._row(p.sku, p.location)
            at = self._locations[p.location] * stride
            try:
                stock[at + _ON_HAND] = p.on_hand
                stock[at + _RESERVED] = p.reserved
                stock[at + _IN_TRANSIT] = p.in_transit
                if self._safety is None:
                    stock[at + _SAFETY] = max(0, p.safety_stock)
            except OverflowError:
                raise ValueError(
                    f"position of {p.sku!r} at {p.location!r} is outside the index's range "
                    f"({_INT32[0]}..{_INT32[1]} units): {p}"
                ) from None
            if self._safety is not None:
                self._resolve_safety(p.sku, p.location, stock, at)
            self._cache.pop(p.sku, None)

    def apply(self, movement: Movement) -> None:
        """Add a movement's deltas to its position and drop the SKU's cached totals."""
        sku, location = movement.sku, movement.location
        stock = self._row(sku, location)
        at = self._locations[location] * self._stride
        first_seen = not self._touched(stock, at)  # its safety stock is still to be resolved
        on_hand = stock[at + _ON_HAND] + movement.on_hand
        reserved = stock[at + _RESERVED] + movement.reserved
        in_transit = stock[at + _IN_TRANSIT] + movement.in_transit
        if not all(_INT32[0] <= v <= _INT32[1] for v in (on_hand, reserved, in_transit)):
            raise ValueError(
                f"{movement.kind} of {sku!r} at {location!r} would take the position outside "
                f"the index's range ({_INT32[0]}..{_INT32[1]} units)"
            )
        stock[at + _ON_HAND] = on_hand
        stock[at + _RESERVED] = reserved
        stock[at + _IN_TRANSIT] = in_transit
        if self._safety is not None and first_seen:
            self._resolve_safety(sku, location, stock, at)
        self._cache.pop(sku, None)

    def refresh_safety(
        self, safety: SafetyStock | None = None, skus: Iterable[str] | None = None
    ) -> None:
        """Resolve safety stock again (new sales figures, new rules) for some or all SKUs."""
        if safety is not None:
            if self._safety is None:
                raise ValueError(
                    "this index keeps stored safety stock; build it with a SafetyStock to "
                    "resolve rules instead"
                )
            if set(safety.channel_defaults) & set(self._names) != set(self._profiles[1:]):
                raise ValueError(
                    "the new safety stock rules give channel defaults to other channels; "
                    "build a new index"
                )
            self._safety = safety
        if self._safety is None:
            return
        names = {n: code for code, n in self._locations.items()}
        for sku in self._stock if skus is None else skus:
            stock = self._stock.get(sku)
            if stock is None:
                continue
            for at in range(0, len(stock), self._stride):
                self._resolve_safety(sku, names[at // self._stride], stock, at)
            self._cache.pop(sku, None)

    def _location_number(self, code: str) -> int:
        number = self._locations.get(code)
        if number is None:
            number = self._locations[code] = len(self._locations)
        return number

    def _row(self, sku: str, location: str) -> array[int]:
        """The SKU's array, long enough to hold ``location``."""
        need = (self._location_number(location) + 1) * self._stride
        stock = self._stock.get(sku)
        if stock is None:
            # Sized for every location known so far: SKUs mostly sit in most locations.
            stock = self._stock[sku] = array("i", bytes(4 * len(self._locations) * self._stride))
        elif len(stock) < need:
            stock.frombytes(bytes(4 * (need - len(stock))))
        return stock

    def _touched(self, stock: array[int], at: int) -> bool:
        return any(stock[at : at + self._stride])

    def _resolve_safety(self, sku: str, location: str, stock: array[int], at: int) -> None:
        safety = self._safety
        assert safety is not None
        for i, channel in enumerate(self._profiles):
            stock[at + _SAFETY + i] = safety.safety_stock_for(sku, location, channel)

    # -- questions ----------------------------------------------------------------------------

    @property
    def channels(self) -> tuple[str, ...]:
        return self._names

    def __len__(self) -> int:
        """How many SKUs the index holds."""
        return len(self._stock)

    def __contains__(self, sku: object) -> bool:
        return sku in self._stock

    def atp(self, sku: str, channel: str) -> int:
        """Available-to-promise for ``sku`` on ``channel`` (a SKU never seen holds nothing)."""
        ch = self._channels.get(channel)
        if ch is None:
            raise KeyError(
                f"no ATP rule for channel {channel!r} (rules exist for: "
                f"{', '.join(self._names) or 'none'})"
            )
        cached = self._cache.get(sku)
        if cached is None:
            stock = self._stock.get(sku)
            if stock is None:
                return _channel_total(ch.rule, 0, 0)
            cached = self._cache[sku] = [None] * len(self._names)
        else:
            total = cached[ch.number]
            if total is not None:
                return total
            stock = self._stock[sku]
        total = cached[ch.number] = self._compute(stock, ch)
        return total

    def atp_all(self, sku: str) -> dict[str, int]:
        return {name: self.atp(sku, name) for name in self._names}

    def atp_by_location(self, sku: str, channel: str) -> dict[str, int]:
        """As the module's ``atp_by_location`` (not cached: for the push, not the hot path)."""
        self.atp(sku, channel)  # the same checks on the channel
        ch = self._channels[channel]
        stock = self._stock.get(sku)
        figures: dict[str, tuple[int, int]] = {}
        if stock is not None:
            for code, at in zip(ch.rule.locations, ch.slots, strict=True):
                free = stock[at] - stock[at + _RESERVED]
                if ch.rule.include_in_transit:
                    free += stock[at + _IN_TRANSIT]
                figures[code] = max(0, free - stock[at + ch.safety_column]), max(0, -free)
        return _by_location(ch.rule, figures)

    def _compute(self, stock: array[int], ch: _Channel) -> int:
        # Every channel's locations are numbered when the index is built, before any SKU's
        # array is made, so every array reaches every channel's slots.
        column = ch.safety_column
        in_transit = ch.rule.include_in_transit
        sellable = owed = 0
        for at in ch.slots:
            free = stock[at] - stock[at + _RESERVED]
            if in_transit:
                free += stock[at + _IN_TRANSIT]
            held = stock[at + column]
            if free > held:
                sellable += free - held
            elif free < 0:
                owed -= free
        return _channel_total(ch.rule, sellable, owed)

    def position(self, sku: str, location: str) -> Position:
        """What the index holds for one SKU and location (safety stock as profile 0 sees it)."""
        stock = self._stock.get(sku)
        number = self._locations.get(location)
        at = -1 if number is None else number * self._stride
        if stock is None or at < 0 or at >= len(stock):
            return Position(sku, location)
        return Position(
            sku,
            location,
            on_hand=stock[at + _ON_HAND],
            reserved=stock[at + _RESERVED],
            in_transit=stock[at + _IN_TRANSIT],
            safety_stock=stock[at + _SAFETY],
        )

    def positions(self, sku: str) -> list[Position]:
        """The SKU's positions with anything in them, by location number: "why ATP is 3"."""
        stock = self._stock.get(sku)
        if stock is None:
            return []
        return [
            self.position(sku, code)
            for code, number in self._locations.items()
            if number * self._stride < len(stock) and self._touched(stock, number * self._stride)
        ]

    def safety_stock(self, sku: str, location: str, channel: str) -> int:
        """The safety stock the index holds back for ``channel`` at ``location``."""
        stock = self._stock.get(sku)
        number = self._locations.get(location)
        if stock is None or number is None or (number + 1) * self._stride > len(stock):
            return 0
        return stock[number * self._stride + self._channels[channel].safety_column]


__all__ = [
    "AtpIndex",
    "AtpRule",
    "BackorderPolicy",
    "Backorders",
    "DaysOfCover",
    "Rate",
    "SafetyRule",
    "SafetyStock",
    "Units",
    "atp",
    "atp_by_location",
    "daily_rate",
    "parse_safety_rule",
]
