"""Available-to-promise per channel, as an operations team configures it.

The shop: one warehouse (WH-EAST) and two stores (SOHO, BKLYN). The web store sells from all
three, the marketplace from the warehouse only, the stores' POS from the stores. Safety stock
is held per SKU and location, as units or as days of cover over recent sales.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retailhub.domain.availability import (
    AtpIndex,
    AtpRule,
    BackorderPolicy,
    Backorders,
    DaysOfCover,
    SafetyStock,
    Units,
    atp,
    atp_by_location,
    daily_rate,
    parse_safety_rule,
)
from retailhub.domain.inventory import (
    Movement,
    MovementKind,
    Position,
    fold,
    receipt,
    reservation,
    sale,
)

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WH, SOHO, BKLYN = "WH-EAST", "SOHO", "BKLYN"
WEB = AtpRule("web", (WH, SOHO, BKLYN))
MARKETPLACE = AtpRule("marketplace", (WH,))
POS = AtpRule("pos", (SOHO, BKLYN))


def pos(
    location: str,
    on_hand: int = 0,
    reserved: int = 0,
    in_transit: int = 0,
    safety: int = 0,
    sku: str = "TEE-M",
) -> Position:
    return Position(sku, location, on_hand, reserved, in_transit, safety_stock=safety)


# -- safety stock -------------------------------------------------------------------------------


def test_absolute_safety_stock_holds_back_that_many_units_at_that_location() -> None:
    safety = SafetyStock(rules={("TEE-M", SOHO): Units(3)})
    assert safety.safety_stock_for("TEE-M", SOHO) == 3
    assert safety.safety_stock_for("TEE-M", BKLYN) == 0  # no rule there
    assert safety.safety_stock_for("TEE-L", SOHO) == 0  # nor for another SKU
    assert atp([pos(SOHO, 10), pos(BKLYN, 10)], POS, safety) == 7 + 10


def test_days_of_cover_rounds_a_part_unit_up_so_the_buffer_covers_the_whole_period() -> None:
    # 17 sold over the trailing 28 days: 7 days of cover is 7 × 17/28 = 4.25, held as 5 units.
    week = DaysOfCover(7)
    safety = SafetyStock(
        rules={("TEE-M", SOHO): week}, daily_sales={("TEE-M", SOHO): daily_rate(17, 28)}
    )
    assert safety.safety_stock_for("TEE-M", SOHO) == 5
    # Exactly 4 units' worth stays 4: the ceiling does not add a unit to a whole number.
    assert week.units_for(Fraction(4, 7)) == 4
    assert week.units_for(0) == 0
    # 30 days at 0.1 a day is 3 units; in binary floating point it would be 3.0000000000000004
    # and round up to 4, which is why rates are Decimal, Fraction, int or a decimal string.
    month = DaysOfCover(30)
    assert month.units_for(Decimal("0.1")) == 3
    assert month.units_for("0.1") == 3
    assert DaysOfCover("2.5").units_for(3) == 8  # half days too: 7.5 units → 8
    with pytest.raises(TypeError, match="daily sales must be an int, Fraction, Decimal"):
        month.units_for(0.1)  # type: ignore[arg-type]


def test_days_of_cover_for_a_slow_seller_keeps_its_minimum() -> None:
    rule = DaysOfCover(14, at_least=2)
    assert rule.units_for(0) == 2  # nothing sold lately
    assert rule.units_for(-1) == 2  # more came back than sold: still the minimum, never less
    assert rule.units_for(1) == 14


def test_the_most_specific_safety_rule_wins() -> None:
    safety = SafetyStock(
        rules={("TEE-M", WH): Units(1)},
        channel_defaults={"marketplace": Units(8)},
        location_defaults={WH: Units(4)},
        default=Units(2),
    )
    assert safety.safety_stock_for("TEE-M", WH, "marketplace") == 1  # the SKU's own rule
    assert safety.safety_stock_for("TEE-L", WH, "marketplace") == 8  # the channel's default
    assert safety.safety_stock_for("TEE-L", WH, "web") == 4  # the location's default
    assert safety.safety_stock_for("TEE-L", WH) == 4
    assert safety.safety_stock_for("TEE-L", SOHO, "web") == 2  # the default


def test_safety_rules_from_configuration() -> None:
    assert parse_safety_rule(3) == Units(3)
    assert parse_safety_rule({"units": 3}) == Units(3)
    assert parse_safety_rule({"days": "7.5", "at_least": 1}) == DaysOfCover("7.5", 1)
    for bad in ("3", {"days": 7, "weeks": 1}, {"units": -1}, {"days": 2.5}, True):
        with pytest.raises(ValueError):
            parse_safety_rule(bad)
    with pytest.raises(ValueError, match="safety stock units must be zero or more, got -1"):
        Units(-1)
    with pytest.raises(ValueError, match="days of cover must be zero or more"):
        DaysOfCover(-7)


# -- channel rules ------------------------------------------------------------------------------


def test_atp_sums_each_location_s_sellable_stock_and_ignores_other_locations() -> None:
    held = [pos(WH, 50, safety=5), pos(SOHO, 4, reserved=1), pos(BKLYN, 2, safety=3)]
    assert atp(held, WEB) == 45 + 3 + 0  # BKLYN holds less than its safety stock
    assert atp(held, MARKETPLACE) == 45
    assert atp(held, POS) == 3


def test_in_transit_counts_only_for_a_channel_that_says_so() -> None:
    # 12 tees on the truck to SOHO, 2 on its shelf, 3 of which an order already claims.
    held = [pos(SOHO, 2, reserved=3, in_transit=12)]
    assert atp(held, POS) == 0
    with_transit = AtpRule("pos", (SOHO, BKLYN), include_in_transit=True)
    # The truck first covers the unit promised past the shelf: 2 + 12 − 3 = 11, not 12.
    assert atp(held, with_transit) == 11


def test_reservations_for_open_orders_and_pickups_cut_every_channel_fed_by_that_store() -> None:
    start = [receipt("TEE-M", SOHO, 6, T0, "PO-1"), receipt("TEE-M", WH, 10, T0, "PO-2")]
    web_order = reservation("TEE-M", SOHO, 2, T0, "web #1001")  # ship-from-store
    pickup = reservation("TEE-M", SOHO, 3, T0, "web #1002 (pick up in store)")
    held = list(fold([*start, web_order, pickup]).values())
    assert atp(held, POS) == 1
    assert atp(held, WEB) == 11
    assert atp(held, MARKETPLACE) == 10  # the warehouse is untouched
    collected = sale("TEE-M", SOHO, 3, T0, "web #1002", from_reserved=3)
    assert atp(list(fold([*start, web_order, pickup, collected]).values()), POS) == 1


def test_without_backorders_a_channel_never_promises_past_its_stock() -> None:
    oversold = [pos(WH, 2, reserved=5), pos(SOHO, 4)]
    assert atp(oversold, WEB) == 4  # WH's shortfall does not eat SOHO's stock, nor go below 0
    assert atp([pos(WH, 0, reserved=5)], MARKETPLACE) == 0
    assert Backorders.none().allows(4, 4)
    assert not Backorders.none().allows(5, 4)


def test_unlimited_backorders_show_the_units_owed_and_always_accept() -> None:
    rule = AtpRule("marketplace", (WH,), backorders=Backorders.unlimited())
    assert atp([pos(WH, 10, reserved=4, safety=2)], rule) == 4
    assert atp([pos(WH, 2, reserved=5, safety=2)], rule) == -3  # three on backorder
    # An empty shelf is not "minus the safety stock": nothing is owed, nothing is held back.
    assert atp([pos(WH, 0, safety=2)], rule) == 0
    assert rule.backorders.allows(1_000, -3)


def test_capped_backorders_allow_up_to_n_units_past_stock_less_what_is_already_owed() -> None:
    rule = AtpRule("marketplace", (WH,), backorders=Backorders.up_to(5))
    assert atp([pos(WH, 3)], rule) == 3 + 5
    assert atp([pos(WH, 3, reserved=5)], rule) == 0 + 3  # 2 already backordered
    assert atp([pos(WH, 3, reserved=8)], rule) == 0  # the cap is used up
    assert atp([pos(WH, 3, reserved=20)], rule) == 0  # and never below zero
    assert not rule.backorders.allows(1, 0)
    no_allowance = AtpRule("marketplace", (WH,), backorders=Backorders.up_to(0))
    held = [pos(WH, 7, reserved=9)]
    assert atp(held, no_allowance) == atp(held, MARKETPLACE) == 0


def test_a_channel_that_sets_a_level_per_location_gets_figures_adding_up_to_its_atp() -> None:
    held = [pos(WH, 2, reserved=5), pos(SOHO, 9, safety=2), pos("OUTLET", 40)]
    assert atp_by_location(held, WEB) == {WH: 0, SOHO: 7, BKLYN: 0}
    unlimited = AtpRule("web", (WH, SOHO, BKLYN), backorders=Backorders.unlimited())
    assert atp_by_location(held, unlimited) == {WH: -3, SOHO: 7, BKLYN: 0}
    capped = AtpRule("web", (SOHO, WH, BKLYN), backorders=Backorders.up_to(5))
    # The channel's remaining allowance (5 − 3 owed) is shown at its first location.
    assert atp_by_location(held, capped) == {SOHO: 7 + 2, WH: 0, BKLYN: 0}
    assert atp(held, capped) == 9
    assert AtpIndex([capped], held).atp_by_location("TEE-M", "web") == {SOHO: 9, WH: 0, BKLYN: 0}


def test_backorder_policy_from_configuration() -> None:
    assert Backorders.parse("none") == Backorders.none()
    assert Backorders.parse(False) == Backorders.none()
    assert Backorders.parse("unlimited") == Backorders.unlimited()
    assert Backorders.parse(True) == Backorders.unlimited()
    assert Backorders.parse(25) == Backorders(BackorderPolicy.UP_TO, 25)
    for bad in (-1, "some", 2.5, "25"):
        with pytest.raises(ValueError, match=r"backorders .* is not understood"):
            Backorders.parse(bad)
    with pytest.raises(ValueError, match="applies to 'up_to' only"):
        Backorders(BackorderPolicy.NONE, 3)


def test_a_channel_rule_read_from_the_configuration() -> None:
    from retailhub.config import parse

    settings = parse({
        "locations": [{"code": WH, "kind": "warehouse"}, {"code": SOHO}],
        "channels": {"web": {"locations": [WH, SOHO], "include_in_transit": True,
                             "allow_backorder": True},
                     "pos": {"locations": [SOHO], "backorders": 5, "safety_stock": 2}},
    })
    rules = settings.rules()
    assert rules.availability["web"] == AtpRule("web", (WH, SOHO), True, Backorders.unlimited())
    assert rules.availability["pos"].backorders == Backorders.up_to(5)
    assert rules.safety is not None and rules.safety.safety_stock_for("X", SOHO, "pos") == 2


def test_a_location_listed_twice_is_refused_rather_than_promised_twice() -> None:
    with pytest.raises(ValueError, match="channel 'web' lists location 'SOHO' twice"):
        AtpRule("web", (WH, SOHO, SOHO))


def test_atp_takes_one_sku_at_a_time() -> None:
    with pytest.raises(ValueError, match="one SKU at a time: got 'TEE-M' and 'TEE-L'"):
        atp([pos(WH, 1), pos(WH, 1, sku="TEE-L")], WEB)


def test_stored_safety_stock_is_used_when_no_rules_are_given_and_never_adds_stock() -> None:
    assert atp([pos(WH, 10, safety=4)], MARKETPLACE) == 6
    assert atp([pos(WH, 10, safety=-4)], MARKETPLACE) == 10


# -- properties ---------------------------------------------------------------------------------

LOCATIONS = (WH, SOHO, BKLYN, "OUTLET")  # OUTLET feeds no channel
SKUS = ("TEE-S", "TEE-M", "CAP")

positions_of_one_sku = st.lists(
    st.builds(
        Position,
        sku=st.just("TEE-M"),
        location=st.sampled_from(LOCATIONS),
        on_hand=st.integers(-20, 60),
        reserved=st.integers(-2, 40),
        in_transit=st.integers(0, 30),
        safety_stock=st.integers(0, 8),
    ),
    max_size=len(LOCATIONS),
    unique_by=lambda p: p.location,
)
rules = st.builds(
    AtpRule,
    channel=st.just("web"),
    locations=st.lists(st.sampled_from(LOCATIONS), unique=True).map(tuple),
    include_in_transit=st.booleans(),
)


def _bound(held: list[Position], rule: AtpRule) -> int:
    """The issue's guarantee: Σ max(0, on hand − reserved − safety) (+ in transit if counted)."""
    return sum(
        max(0, p.on_hand - p.reserved - p.safety_stock)
        + (p.in_transit if rule.include_in_transit else 0)
        for p in held
        if p.location in rule.locations
    )


@given(positions_of_one_sku, rules, st.integers(0, 50))
def test_atp_never_exceeds_the_sum_of_the_channel_s_sellable_stock(
    held: list[Position], rule: AtpRule, cap: int
) -> None:
    none = atp(held, rule)
    assert 0 <= none <= _bound(held, rule)
    if not rule.include_in_transit:
        assert none == _bound(held, rule)
    capped = AtpRule(rule.channel, rule.locations, rule.include_in_transit, Backorders.up_to(cap))
    assert none <= atp(held, capped) <= _bound(held, rule) + cap
    unlimited = AtpRule(
        rule.channel, rule.locations, rule.include_in_transit, Backorders.unlimited()
    )
    assert atp(held, unlimited) <= none


movements = st.builds(
    Movement,
    sku=st.sampled_from(SKUS),
    location=st.sampled_from(LOCATIONS),
    kind=st.sampled_from(MovementKind),
    occurred_at=st.just(T0),
    on_hand=st.integers(-15, 25),
    reserved=st.integers(-10, 10),
    in_transit=st.integers(-10, 10),
)
CHANNELS = (
    AtpRule("web", (WH, SOHO, BKLYN), include_in_transit=True),
    AtpRule("marketplace", (WH,), backorders=Backorders.up_to(4)),
    AtpRule("pos", (SOHO, BKLYN), backorders=Backorders.unlimited()),
    AtpRule("wholesale", ()),
)
RULED_SAFETY = SafetyStock(
    rules={("TEE-M", SOHO): Units(2), ("CAP", WH): DaysOfCover(10, at_least=1)},
    channel_defaults={"marketplace": Units(5)},
    location_defaults={BKLYN: DaysOfCover("3.5")},
    default=Units(1),
    daily_sales={("CAP", WH): Fraction(3, 7), ("TEE-S", BKLYN): Decimal("1.5")},
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(movements, max_size=8),
    st.lists(st.tuples(movements, st.sampled_from(SKUS)), max_size=40),
    st.booleans(),
)
def test_the_index_agrees_with_the_plain_rule_after_any_sequence_of_movements(
    loaded: list[Movement], then: list[tuple[Movement, str]], ruled: bool
) -> None:
    """Positions are loaded, then movements arrive with a query between each (so cached
    totals are asked for and must be dropped when the SKU moves)."""
    safety = RULED_SAFETY if ruled else None
    index = AtpIndex(CHANNELS, fold(loaded).values(), safety)
    history = list(loaded)

    def agrees() -> None:
        held = fold(history)
        for sku in SKUS:
            mine = [p for (s, _), p in held.items() if s == sku]
            expected = {rule.channel: atp(mine, rule, safety) for rule in CHANNELS}
            assert index.atp_all(sku) == expected, sku
            for rule in CHANNELS:
                per_location = atp_by_location(mine, rule, safety)
                assert index.atp_by_location(sku, rule.channel) == per_location
                if rule.locations:
                    assert sum(per_location.values()) == expected[rule.channel]

    agrees()
    for movement, asked in then:
        index.atp(asked, "web")
        index.atp(asked, "marketplace")
        index.apply(movement)
        history.append(movement)
    agrees()
    assert index.atp_all(SKUS[0]) == index.atp_all(SKUS[0])  # from the cache, unchanged


def test_a_movement_drops_the_cached_figure_of_that_sku_only() -> None:
    index = AtpIndex(CHANNELS, [pos(WH, 10), pos(WH, 3, sku="CAP")])
    assert index.atp("TEE-M", "marketplace") == 10 + 4
    assert index.atp("CAP", "marketplace") == 3 + 4
    index.apply(sale("TEE-M", WH, 7, T0, "web #1003"))
    assert index.atp("TEE-M", "marketplace") == 3 + 4
    assert index.atp("CAP", "marketplace") == 3 + 4
    index.apply(reservation("TEE-M", WH, 5, T0, "amazon 113-1"))  # 2 units backordered
    assert index.atp_all("TEE-M") == {"web": 0, "marketplace": 2, "pos": 0, "wholesale": 0}
    assert index.positions("TEE-M") == [Position("TEE-M", WH, 3, 5)]


def test_the_index_holds_new_skus_and_locations_that_movements_bring() -> None:
    index = AtpIndex(CHANNELS, [pos(WH, 10)])
    assert "SOCK" not in index
    assert index.atp_all("SOCK") == {"web": 0, "marketplace": 4, "pos": 0, "wholesale": 0}
    index.apply(receipt("SOCK", "POPUP", 5, T0, "PO-9"))  # a location no channel sells from
    index.apply(receipt("SOCK", SOHO, 2, T0, "PO-9"))
    assert "SOCK" in index and len(index) == 2
    assert index.atp("SOCK", "pos") == 2
    assert index.position("SOCK", "POPUP") == Position("SOCK", "POPUP", 5)
    assert index.channels == ("web", "marketplace", "pos", "wholesale")


def test_days_of_cover_is_resolved_again_when_sales_figures_change() -> None:
    def rules(rate: Fraction) -> SafetyStock:
        return SafetyStock(
            location_defaults={WH: DaysOfCover(7)}, daily_sales={("TEE-M", WH): rate}
        )

    index = AtpIndex([MARKETPLACE], [pos(WH, 20)], rules(Fraction(1, 2)))
    assert index.atp("TEE-M", "marketplace") == 20 - 4  # 3.5 → 4
    index.refresh_safety(rules(Fraction(2)), skus=["TEE-M"])
    assert index.safety_stock("TEE-M", WH, "marketplace") == 14
    assert index.atp("TEE-M", "marketplace") == 20 - 14
    with pytest.raises(ValueError, match="give channel defaults to other channels"):
        index.refresh_safety(SafetyStock(channel_defaults={"marketplace": Units(1)}))
    stored = AtpIndex([MARKETPLACE], [pos(WH, 20, safety=3)])
    with pytest.raises(ValueError, match="keeps stored safety stock"):
        stored.refresh_safety(rules(Fraction(2)))


def test_the_index_says_which_channel_or_position_it_cannot_answer_for() -> None:
    index = AtpIndex([WEB, POS])
    with pytest.raises(KeyError, match=r"no ATP rule for channel 'amazon' .*web, pos"):
        index.atp("TEE-M", "amazon")
    with pytest.raises(ValueError, match="two ATP rules for channel 'web'"):
        AtpIndex([WEB, WEB])
    with pytest.raises(ValueError, match="'TEE-M' at 'WH-EAST' is outside the index's range"):
        index.load([pos(WH, 2**31)])
    index.apply(receipt("TEE-M", WH, 2**31 - 1, T0, "PO-1"))
    with pytest.raises(ValueError, match="receipt of 'TEE-M' at 'WH-EAST' would take"):
        index.apply(receipt("TEE-M", WH, 1, T0, "PO-2"))
    assert index.atp("TEE-M", "web") == 2**31 - 1  # the refused movement changed nothing


def _grid(skus: int, locations: int) -> Iterator[Position]:
    codes = [f"LOC-{n:02d}" for n in range(locations)]
    for s in range(skus):
        sku = f"SKU-{s:06d}"
        for i, code in enumerate(codes):
            yield Position(sku, code, 100 + (s + i) % 50, (s * i) % 7, i % 3, safety_stock=i % 4)


def test_the_index_stays_compact_enough_for_five_million_positions() -> None:
    """2,000 SKUs × 50 locations, measured; the bench runs the full 100,000 × 50."""
    rules = [AtpRule("web", tuple(f"LOC-{n:02d}" for n in range(50)))]
    tracemalloc.start()
    try:
        index = AtpIndex(rules, _grid(2_000, 50))
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    per_position = held / 100_000
    # A Position object alone is ~90 bytes; the arrays keep four ints (16 bytes) per position
    # plus each SKU's key and array header. 32 bytes × 5 M positions is 160 MB.
    assert per_position < 32, f"{per_position:.1f} bytes per position"
    assert index.atp("SKU-000007", "web") == atp(list(_grid(8, 50))[7 * 50 :], rules[0])
