"""Prices by channel, store and day; where a SKU may be sold; who may change a price.

The shop is Demo Outfitters (USD, Springfield, Illinois: America/Chicago). The Organic Tee
lists at 25.00 on the web, is marked down to 22.00 for the last days of March and goes to
27.00 on 1 April; stores sell it at 24.00 except the airport store, at 28.00.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retailhub.adapters.connectors.shopify import PayloadError, UnknownTopic
from retailhub.adapters.connectors.shopify.products import PriceReported, translate_product
from retailhub.domain.money import Money
from retailhub.domain.orders import ExternalRef
from retailhub.domain.pricing import (
    Action,
    ChannelEligibility,
    PriceEntry,
    PriceList,
    PriceListError,
    find_overlaps,
    price_change_decision,
)
from retailhub.domain.problems import ProblemType

CHICAGO = ZoneInfo("America/Chicago")
SHOPIFY = Path(__file__).parents[1] / "fixtures" / "shopify"


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def entry(
    price: str,
    start: date,
    end: date | None = None,
    *,
    sku: str = "TEE-BLK-M",
    channel: str = "web",
    location: str | None = None,
) -> PriceEntry:
    return PriceEntry(sku, channel, usd(price), start, end, location)


LIST = entry("25.00", date(2025, 1, 1))
MARKDOWN = entry("22.00", date(2025, 3, 20), date(2025, 3, 31))
NEW_LIST = entry("27.00", date(2025, 4, 1))
STORES = entry("24.00", date(2025, 1, 1), channel="pos")
AIRPORT = entry("28.00", date(2025, 2, 1), channel="pos", location="AIR01")
TEE = PriceList([LIST, MARKDOWN, NEW_LIST, STORES, AIRPORT])


def web(day: date) -> Money | None:
    return TEE.price_for("TEE-BLK-M", "web", None, day)


# -- effective dates --------------------------------------------------------------------------


def test_no_price_before_the_first_entry_starts():
    assert web(date(2024, 12, 31)) is None


@pytest.mark.parametrize(
    ("day", "price"),
    [
        (date(2025, 1, 1), "25.00"),  # the list price's first day
        (date(2025, 3, 19), "25.00"),  # the day before the markdown
        (date(2025, 3, 20), "22.00"),  # markdown's first day: latest effective_from wins
        (date(2025, 3, 31), "22.00"),  # effective_to is the last day it applies
        (date(2025, 4, 1), "27.00"),  # the new list price supersedes the old one
        (date(2031, 7, 4), "27.00"),  # open-ended: runs until something replaces it
    ],
)
def test_the_price_in_force_on_each_day(day, price):
    assert web(day) == usd(price)


def test_when_a_promotion_ends_the_list_price_underneath_comes_back():
    prices = PriceList([LIST, entry("19.00", date(2025, 2, 10), date(2025, 2, 16))])
    assert prices.price_for("TEE-BLK-M", "web", None, date(2025, 2, 16)) == usd("19.00")
    assert prices.price_for("TEE-BLK-M", "web", None, date(2025, 2, 17)) == usd("25.00")


def test_a_bounded_price_alone_leaves_no_price_after_it_ends():
    prices = PriceList([entry("12.50", date(2025, 1, 1), date(2025, 6, 30), sku="MUG")])
    assert prices.price_for("MUG", "web", None, date(2025, 6, 30)) == usd("12.50")
    assert prices.price_for("MUG", "web", None, date(2025, 7, 1)) is None


def test_a_price_change_takes_effect_at_midnight_in_the_shops_time_zone():
    last_minute = datetime(2025, 3, 31, 23, 59, 59, tzinfo=CHICAGO)
    midnight = datetime(2025, 4, 1, 0, 0, tzinfo=CHICAGO)
    assert TEE.price_at("TEE-BLK-M", "web", None, last_minute, CHICAGO) == usd("22.00")
    assert TEE.price_at("TEE-BLK-M", "web", None, midnight, CHICAGO) == usd("27.00")
    # 04:30 UTC on 1 April is still 31 March, 23:30, in Springfield: March's price.
    late_sale = datetime(2025, 4, 1, 4, 30, tzinfo=UTC)
    assert TEE.price_at("TEE-BLK-M", "web", None, late_sale, CHICAGO) == usd("22.00")
    assert TEE.price_at("TEE-BLK-M", "web", None, late_sale, UTC) == usd("27.00")


def test_a_naive_moment_is_refused_rather_than_guessed():
    with pytest.raises(ValueError, match="aware"):
        TEE.price_at("TEE-BLK-M", "web", None, datetime(2025, 4, 1), CHICAGO)


# -- location over channel -------------------------------------------------------------------


def test_a_store_with_its_own_price_overrides_the_channel_price():
    day = date(2025, 3, 1)
    assert TEE.price_for("TEE-BLK-M", "pos", "AIR01", day) == usd("28.00")
    assert TEE.price_for("TEE-BLK-M", "pos", "SPR01", day) == usd("24.00")
    assert TEE.price_for("TEE-BLK-M", "pos", None, day) == usd("24.00")


def test_before_the_stores_own_price_starts_the_channel_price_applies():
    assert TEE.price_for("TEE-BLK-M", "pos", "AIR01", date(2025, 1, 31)) == usd("24.00")
    chosen = TEE.entry_for("TEE-BLK-M", "pos", "AIR01", date(2025, 1, 31))
    assert chosen is STORES


def test_prices_are_per_channel_and_per_sku():
    assert TEE.price_for("TEE-BLK-M", "amazon", None, date(2025, 3, 1)) is None
    assert TEE.price_for("CAP-RED-OS", "web", None, date(2025, 3, 1)) is None


# -- overlaps --------------------------------------------------------------------------------


def test_two_prices_starting_the_same_day_in_one_scope_are_refused():
    with pytest.raises(PriceListError) as caught:
        PriceList([LIST, entry("26.00", date(2025, 1, 1))])
    assert [(o.first, o.second, o.day) for o in caught.value.overlaps] == [(0, 1, date(2025, 1, 1))]
    assert "overlaps" in str(caught.value)
    assert "2025-01-01" in str(caught.value)


def test_two_promotions_sharing_a_day_are_refused():
    second = entry("20.00", date(2025, 3, 31), date(2025, 4, 6))
    overlaps = find_overlaps([MARKDOWN, second])
    assert [(o.first, o.second, o.day) for o in overlaps] == [(0, 1, date(2025, 3, 31))]


def test_a_new_list_price_inside_a_running_promotion_is_refused():
    """It would silently cut the promotion short: latest effective_from would win."""
    overlaps = find_overlaps([MARKDOWN, entry("27.00", date(2025, 3, 25))])
    assert [(o.first, o.second) for o in overlaps] == [(0, 1)]


def test_list_prices_superseding_each_other_and_promotions_over_them_are_fine():
    week_one = entry("20.00", date(2025, 4, 8), date(2025, 4, 14))
    week_two = entry("19.00", date(2025, 4, 15), date(2025, 4, 21))  # starts the day after
    assert find_overlaps([LIST, MARKDOWN, NEW_LIST, week_two, week_one]) == []


def test_the_same_days_in_different_scopes_do_not_clash():
    others = [
        entry("25.00", date(2025, 1, 1), channel="pos"),
        entry("25.00", date(2025, 1, 1), channel="pos", location="AIR01"),
        entry("25.00", date(2025, 1, 1), sku="TEE-BLK-L"),
    ]
    assert find_overlaps([LIST, *others]) == []


def test_every_overlap_is_reported_not_just_the_first():
    entries = [LIST, LIST, MARKDOWN, entry("21.00", date(2025, 3, 21), date(2025, 3, 22))]
    assert [(o.first, o.second) for o in find_overlaps(entries)] == [(0, 1), (2, 3)]


def test_an_entry_refuses_a_negative_price_and_an_end_before_its_start():
    with pytest.raises(PriceListError, match="negative"):
        entry("-1.00", date(2025, 1, 1))
    with pytest.raises(PriceListError, match="before effective_from"):
        entry("1.00", date(2025, 5, 1), date(2025, 4, 30))


DAYS = st.dates(min_value=date(2025, 1, 1), max_value=date(2025, 1, 20))


@st.composite
def entries(draw: st.DrawFn) -> list[PriceEntry]:
    out = []
    for _ in range(draw(st.integers(0, 6))):
        start = draw(DAYS)
        length = draw(st.none() | st.integers(0, 6))
        out.append(
            PriceEntry(
                "SKU",
                "web",
                Money(draw(st.integers(0, 5000)), "USD"),
                start,
                None if length is None else start + timedelta(days=length),
                draw(st.sampled_from([None, "AIR01"])),
            )
        )
    return out


@settings(max_examples=300, deadline=None)
@given(entries())
def test_overlaps_and_lookups_agree_with_the_rules_read_literally(listed):
    """Against a brute force of the module docstring's rules, on every day of the range."""

    def share_a_day(a: PriceEntry, b: PriceEntry) -> bool:
        return any(a.applies_on(d) and b.applies_on(d) for d in _days())

    expected = set()
    for (i, a), (j, b) in itertools.combinations(enumerate(listed), 2):
        if a.scope != b.scope or not share_a_day(a, b):
            continue
        early, late = (a, b) if a.effective_from <= b.effective_from else (b, a)
        if not (early.open_ended and early.effective_from < late.effective_from):
            expected.add((i, j))
    found = {(o.first, o.second) for o in find_overlaps(listed)}
    assert found == expected
    if found:
        return
    prices = PriceList(listed)
    for day, location in itertools.product(_days(), [None, "AIR01", "SPR01"]):
        candidates = [e for e in listed if e.location == location and e.applies_on(day)]
        if not candidates and location is not None:
            candidates = [e for e in listed if e.location is None and e.applies_on(day)]
        best = max(candidates, key=lambda e: e.effective_from, default=None)
        assert prices.price_for("SKU", "web", location, day) == (best.price if best else None)


def _days() -> list[date]:
    return [date(2025, 1, 1) + timedelta(days=n) for n in range(30)]


# -- channel eligibility ---------------------------------------------------------------------


def test_a_sku_nobody_restricted_is_sold_everywhere():
    assert ChannelEligibility().eligible("TEE-BLK-M", "amazon")


def test_a_web_exclusive_is_sold_only_on_the_web_and_other_skus_stay_everywhere():
    rules = ChannelEligibility(only={"TEE-LTD": frozenset({"web"})})
    assert rules.eligible("TEE-LTD", "web")
    assert not rules.eligible("TEE-LTD", "pos")
    assert rules.eligible("TEE-BLK-M", "pos")


def test_a_sku_kept_off_a_marketplace_is_sold_on_every_other_channel():
    rules = ChannelEligibility(excluded={"MUG-WHT-12": frozenset({"amazon"})})
    assert not rules.eligible("MUG-WHT-12", "amazon")
    assert rules.eligible("MUG-WHT-12", "web")
    assert rules.eligible("MUG-WHT-12", "pos")


def test_contradictory_or_empty_eligibility_is_refused():
    with pytest.raises(ValueError, match="both"):
        ChannelEligibility(only={"X": frozenset({"web"})}, excluded={"X": frozenset({"web"})})
    with pytest.raises(ValueError, match="no channel"):
        ChannelEligibility(only={"X": frozenset()})


# -- ownership ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("owner", "reporter", "ours", "reported", "push", "action", "pushed"),
    [
        ("erp", "shopify", "25.00", "25.00", True, Action.IGNORE_EQUAL, None),
        ("shopify", "shopify", "25.00", "25.00", True, Action.IGNORE_EQUAL, None),
        ("shopify", "shopify", "25.00", "22.00", True, Action.APPLY, None),
        ("shopify", "shopify", None, "22.00", True, Action.APPLY, None),
        ("erp", "shopify", "25.00", "22.00", True, Action.REJECT, "25.00"),
        ("erp", "shopify", "25.00", "22.00", False, Action.REJECT, None),
        ("retailhub", "shopify", None, "22.00", True, Action.REJECT, None),
    ],
)
def test_the_price_ownership_decision_table(owner, reporter, ours, reported, push, action, pushed):
    decision = price_change_decision(
        owner, reporter, usd(ours) if ours else None, usd(reported), push_back=push
    )
    assert decision.action is action
    assert decision.push_back == (usd(pushed) if pushed else None)
    assert decision.applies is (action is Action.APPLY)


def test_push_back_is_off_unless_configured():
    decision = price_change_decision("erp", "shopify", usd("25.00"), usd("22.00"))
    assert (decision.action, decision.push_back) == (Action.REJECT, None)


def test_a_rejected_change_becomes_an_advisory_ownership_exception():
    decision = price_change_decision("erp", "shopify", usd("25.00"), usd("22.00"), push_back=True)
    problem = decision.problem("price:TEE-BLK-M:web")
    assert problem is not None
    assert problem.type is ProblemType.OWNERSHIP_VIOLATION
    assert not problem.blocking
    assert problem.subject == "price:TEE-BLK-M:web"
    assert "22.00 USD" in problem.reason and "25.00 USD" in problem.reason
    assert price_change_decision("erp", "erp", usd("25.00"), usd("22.00")).problem("x") is None


# -- prices reported by Shopify -------------------------------------------------------------


def shopify_prices(body: bytes, currency: str = "USD") -> tuple[PriceReported, ...]:
    return translate_product("products/update", body, currency=currency)


def test_products_update_reports_each_variants_price_in_cents():
    markdown, untouched = shopify_prices((SHOPIFY / "products-update.json").read_bytes())
    assert markdown == PriceReported(
        channel_system="shopify",
        variant=ExternalRef("shopify", "44000000001"),
        sku="TEE-BLK-M",
        price=Money(2200, "USD"),
        compare_at=Money(2500, "USD"),
        updated_at=datetime(2025, 3, 20, 15, 15, 42, tzinfo=UTC),
        product=ExternalRef("shopify", "4400000000"),
    )
    assert (untouched.variant.id, untouched.sku, untouched.price) == (
        "44000000004",
        "TEE-BLK-L",
        Money(2500, "USD"),
    )
    assert untouched.compare_at is None
    assert untouched.updated_at == datetime(2025, 2, 11, 22, 40, 9, tzinfo=UTC)


def test_a_markdown_made_in_shopify_is_rejected_and_the_owners_price_pushed_back():
    """retailhub owns prices; someone marks the M tee down in the Shopify admin. The same
    delivery repeats the L tee's unchanged price, which needs nothing."""
    owned = PriceList([LIST, entry("25.00", date(2025, 1, 1), sku="TEE-BLK-L")])
    reports = shopify_prices((SHOPIFY / "products-update.json").read_bytes())
    decisions = {
        r.sku: price_change_decision(
            "retailhub",
            r.channel_system,
            owned.price_for(r.sku or "", "web", None, r.updated_at.astimezone(CHICAGO).date()),
            r.price,
            push_back=True,
        )
        for r in reports
    }
    assert decisions["TEE-BLK-M"].action is Action.REJECT
    assert decisions["TEE-BLK-M"].push_back == usd("25.00")
    assert decisions["TEE-BLK-L"].action is Action.IGNORE_EQUAL


def _product(variant: str, updated_at: str = '"2025-03-20T10:15:42-05:00"') -> bytes:
    return (
        f'{{"id": 4400000000, "updated_at": {updated_at}, "title": "Organic Tee",'
        f' "variants": [{variant}]}}'
    ).encode()


def test_legacy_zero_compare_at_and_blank_sku_read_as_none():
    (report,) = shopify_prices(
        _product('{"id": 1, "price": "33.99", "compare_at_price": "0.00", "sku": ""}')
    )
    assert (report.compare_at, report.sku) == (None, None)
    assert report.price == Money(3399, "USD")
    # no variant timestamp: the product's is used, and no product_id: the product's id
    assert report.updated_at == datetime(2025, 3, 20, 15, 15, 42, tzinfo=UTC)
    assert report.product == ExternalRef("shopify", "4400000000")


def test_prices_follow_the_shop_currency_exponent():
    (report,) = shopify_prices(_product('{"id": 1, "price": "1500"}'), currency="JPY")
    assert report.price == Money(1500, "JPY")


def test_a_product_without_variants_reports_nothing():
    assert shopify_prices(b'{"id": 4400000000, "updated_at": "2025-03-20T10:15:42-05:00"}') == ()


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (_product('{"id": 1, "price": "abc"}'), "$.variants[0].price"),
        (_product('{"id": 1}'), "$.variants[0]"),
        (_product('{"id": 1, "price": "1.00"}', '"2025-03-20T10:15:42"'), "$.updated_at"),
        (b'{"updated_at": "2025-03-20T10:15:42-05:00", "variants": []}', "missing required"),
        (b'{"id": 4400000000, "variants": [', "not valid JSON"),
    ],
)
def test_an_unusable_body_says_where(body, where):
    with pytest.raises(PayloadError, match=re.escape(where)):
        shopify_prices(body)


def test_only_product_topics_are_mapped_here():
    with pytest.raises(UnknownTopic):
        translate_product("orders/create", b"{}", currency="USD")
