"""Shopify availability over GraphQL: a flash sale's levels in one ``inventorySetQuantities`` call.

Over real HTTP to the fake shop in ``tests/fakes_channels.py``. Its GraphQL endpoint checks the
token and the mutation's variables, charges 10 points a call from a 1000-point bucket restoring
50 a second, and answers THROTTLED when the bucket is short. The fake, the client's cost bucket
and its sleeps all share one ``FakeClock``, so simulated seconds of waiting take no time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes_channels import SHOPIFY_TOKEN, FakeClock, FakeShopify
from retailhub.adapters.connectors.kit import Jitter, RetryPolicy
from retailhub.adapters.connectors.shopify.inventory_graphql import (
    SET_AVAILABLE,
    CostBucket,
    QueryCost,
    ShopifyGraphqlInventoryPush,
)
from retailhub.services.availability_push import (
    InMemoryPushAudit,
    LevelKey,
    LevelUpdate,
    PushCoordinator,
)

WAREHOUSE = "70002"  # Shopify location id


def level(item: int, quantity: int, clock: FakeClock, location: str = WAREHOUSE) -> LevelUpdate:
    return LevelUpdate(f"SKU-{item}", "shopify", location, str(item), quantity, clock.now())


def target_for(
    fake: FakeShopify, clock: FakeClock, token: str = SHOPIFY_TOKEN, **options: object
) -> ShopifyGraphqlInventoryPush:
    """The production client on simulated time: its bucket waits and retry sleeps advance it."""
    return ShopifyGraphqlInventoryPush(
        fake.url,
        token,
        sleep=clock.sleep,
        clock=clock.now,
        monotonic=clock.monotonic,
        retry=RetryPolicy(max_attempts=3, base=0.1, jitter=Jitter.NONE),
        **options,  # type: ignore[arg-type]
    )


class Stock:
    """The hub's truth: one Shopify level per SKU."""

    def __init__(self) -> None:
        self.level: dict[str, int] = {}
        self.key: dict[str, LevelKey] = {}

    def sell_through(self, sku: str, item: int, quantity: int) -> None:
        self.key[sku] = LevelKey("shopify", WAREHOUSE, str(item))
        self.level[sku] = quantity

    def __call__(self, sku: str) -> dict[LevelKey, int]:
        return {self.key[sku]: self.level[sku]}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def shop(clock: FakeClock) -> Iterator[FakeShopify]:
    with FakeShopify(clock=clock.monotonic) as fake:
        yield fake


@pytest.fixture
def to_shop(shop: FakeShopify, clock: FakeClock) -> Iterator[ShopifyGraphqlInventoryPush]:
    target = target_for(shop, clock)
    yield target
    target.close()


# -- one call per flash sale -----------------------------------------------------------------


def test_a_flash_sale_of_250_skus_reaches_shopify_in_one_mutation(
    clock: FakeClock, shop: FakeShopify, to_shop: ShopifyGraphqlInventoryPush
) -> None:
    stock, audit = Stock(), InMemoryPushAudit()
    for n in range(250):
        stock.sell_through(f"SKU-{n:03}", 808950000 + n, n % 7)
    hub = PushCoordinator(stock, {"shopify": to_shop}, audit, clock=clock.now)
    for sku in stock.level:
        hub.mark(sku, "order 1001", clock.now())
    clock.advance(1)

    records = hub.drain()

    [call] = shop.calls
    assert hub.stats["shopify"].calls == 1 and len(records) == 250
    assert all(r.accepted and r.status == 200 for r in records)
    assert all(shop.level(808950000 + n, 70002) == n % 7 for n in range(250))
    # The documented mutation, with absolute levels and no compare-and-set.
    assert call.body["query"] == SET_AVAILABLE
    given = call.body["variables"]["input"]
    assert (given["name"], given["reason"], given["ignoreCompareQuantity"]) == (
        "available",
        "correction",
        True,
    )
    assert given["referenceDocumentUri"].startswith("gid://retailhub/AvailabilityPush/2025")
    sent = {q["inventoryItemId"]: q for q in given["quantities"]}
    assert len(sent) == 250 and sent["gid://shopify/InventoryItem/808950003"] == {
        "inventoryItemId": "gid://shopify/InventoryItem/808950003",
        "locationId": "gid://shopify/Location/70002",
        "quantity": 3,
    }
    # "Why did Shopify show 3?": the audit keeps the level and what the call cost.
    last = audit.last(LevelKey("shopify", WAREHOUSE, "808950003"))
    assert last is not None and '"available": 3' in last.answer
    assert "cost 10, 990/1000 points left" in last.answer


def test_more_levels_than_one_call_takes_go_in_calls_of_250(
    clock: FakeClock, shop: FakeShopify, to_shop: ShopifyGraphqlInventoryPush
) -> None:
    updates = [level(9000 + n, 5, clock) for n in range(251)]

    results = to_shop.push(updates)

    assert [len(c.body["variables"]["input"]["quantities"]) for c in shop.calls] == [250, 1]
    assert [r.update for r in results] == updates and all(r.accepted for r in results)
    assert to_shop.max_batch == 250


def test_a_level_below_zero_is_sent_as_zero_and_an_id_that_is_no_number_is_not_sent(
    clock: FakeClock, shop: FakeShopify, to_shop: ShopifyGraphqlInventoryPush
) -> None:
    backordered = level(808950810, -3, clock)
    typo = LevelUpdate("SKU-X", "shopify", WAREHOUSE, "80895O810", 4, clock.now())  # letter O

    ok, refused = to_shop.push([backordered, typo])

    assert ok.accepted and shop.level(808950810, 70002) == 0
    assert "hub level -3 sent as 0" in ok.answer
    assert not refused.accepted and refused.status is None
    assert "InventoryItem id must be a number" in refused.answer and "'80895O810'" in refused.answer
    [call] = shop.calls
    assert len(call.body["variables"]["input"]["quantities"]) == 1


# -- the cost limit ----------------------------------------------------------------------------


def test_a_burst_is_paced_by_the_shops_point_bucket_and_never_throttled(
    clock: FakeClock,
) -> None:
    # A small shop bucket (100 points, 10 a second) so that 30 calls must wait for it.
    with FakeShopify(clock=clock.monotonic, graphql_points=100, graphql_restore_rate=10) as shop:
        target = target_for(shop, clock)
        started = clock.monotonic()
        for n in range(30):
            assert all(r.accepted for r in target.push([level(808950810, n, clock)]))
        target.close()

    assert shop.graphql_throttled == 0 and shop.points_low >= 0
    assert len(shop.mutations) == 30 and shop.level(808950810, 70002) == 29
    # The client took the shop's figures from the first answer, not its 1000/50 default ...
    assert (target.bucket.maximum, target.bucket.restore_rate) == (100, 10)
    # ... and the pacing was real: 300 points spent from a 100-point bucket at 10 a second.
    assert 20.0 <= clock.monotonic() - started <= 21.5


def test_a_throttled_call_is_sent_again_once_the_points_are_restored(
    clock: FakeClock, shop: FakeShopify, to_shop: ShopifyGraphqlInventoryPush
) -> None:
    shop.spend_points(995)  # another worker of this app spent the shop's bucket

    [result] = to_shop.push([level(808950810, 4, clock)])

    throttled, accepted = shop.calls
    assert throttled.error_code == "THROTTLED" and accepted.error_code is None
    # Shopify said 5 of the 10 points were there, restoring 50 a second: 0.1 s at least.
    assert accepted.at - throttled.at >= 0.1
    assert result.accepted and shop.level(808950810, 70002) == 4


def test_the_cost_shopify_reports_becomes_the_estimate_so_a_costlier_call_waits_first(
    clock: FakeClock,
) -> None:
    # A shop that charges per quantity (not what the docs say, but Shopify may set manual costs).
    with FakeShopify(clock=clock.monotonic, cost_per_quantity=2) as shop:
        target = target_for(shop, clock)
        batch = [level(9000 + n, 1, clock) for n in range(250)]
        target.push(batch)  # 510 points: the 10-point estimate fits, the answer says 510
        target.push(batch)  # 490 left: the client waits for 510 instead of drawing THROTTLED
        target.close()

    assert target.estimate == 510 and shop.graphql_throttled == 0
    assert len(shop.mutations) == 2 and shop.points_low >= 0


def test_a_shop_throttling_every_call_gets_a_retriable_failure_not_an_endless_wait(
    clock: FakeClock,
) -> None:
    with FakeShopify(clock=clock.monotonic, graphql_points=5) as shop:  # a call costs 10
        target = target_for(shop, clock, max_throttled=3)
        [result] = target.push([level(808950810, 4, clock)])
        target.close()

    assert len(shop.calls) == 4 and shop.graphql_throttled == 4
    assert not result.accepted and result.retriable and "THROTTLED: Throttled" in result.answer


def test_the_bucket_takes_shopifys_figures_and_waits_for_what_it_is_short() -> None:
    clock = FakeClock()
    bucket = CostBucket(clock=clock.monotonic, sleep=clock.sleep, headroom=0)
    bucket.reserve(10)
    bucket.settle(QueryCost(10, 10, maximum=2000, available=40, restore_rate=100))
    assert (bucket.maximum, bucket.restore_rate, bucket.available) == (2000, 100, 40)

    waited = bucket.reserve(100)

    assert waited == pytest.approx(0.6) and clock.sleeps == [pytest.approx(0.6)]
    # An answer for another call still in flight never raises our view above our own count.
    bucket.reserve(0)
    bucket.reserve(0)
    bucket.settle(QueryCost(10, 10, maximum=2000, available=1500, restore_rate=100))
    assert bucket.available == pytest.approx(0, abs=1e-6)


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("partial_apply", [False, True], ids=["all-or-nothing", "partial"])
def test_an_unknown_item_fails_alone_and_the_rest_of_the_call_lands(
    clock: FakeClock, partial_apply: bool
) -> None:
    known = {808950810, 808950811, 808950812}
    with FakeShopify(clock=clock.monotonic, known_items=known, partial_apply=partial_apply) as shop:
        target = target_for(shop, clock)
        updates = [
            level(808950810, 1, clock),
            level(999999999, 2, clock),  # deleted in the Shopify admin
            level(808950811, 3, clock),
            level(808950812, 4, clock),
        ]
        results = target.push(updates)
        target.close()

    assert [r.accepted for r in results] == [True, False, True, True]
    refused = results[1]
    assert refused.status == 200 and not refused.retriable
    assert refused.answer.startswith(
        "Shopify refused gid://shopify/InventoryItem/999999999 at gid://shopify/Location/70002: "
        "INVALID_INVENTORY_ITEM: The specified inventory item could not be found. "
        "(input path input.quantities.1.inventoryItemId)"
    )
    assert [shop.level(i, 70002) for i in sorted(known)] == [1, 3, 4]
    # Shopify does not say whether it applied the others: they are sent again without item 1.
    second = shop.mutations[-1].body["variables"]["input"]["quantities"]
    assert [q["quantity"] for q in second] == [1, 3, 4]


def test_an_item_refused_in_a_coordinated_push_is_audited_and_not_retried(
    clock: FakeClock,
) -> None:
    stock, audit = Stock(), InMemoryPushAudit()
    stock.sell_through("BEANS-1KG", 808950810, 5)
    stock.sell_through("DRIPPER", 999999999, 2)
    with FakeShopify(clock=clock.monotonic, known_items={808950810}) as shop:
        target = target_for(shop, clock)
        hub = PushCoordinator(stock, {"shopify": target}, audit, clock=clock.now)
        hub.mark("BEANS-1KG", "order 1001", clock.now())
        hub.mark("DRIPPER", "order 1002", clock.now())
        clock.advance(1)
        records = {r.sku: r for r in hub.drain()}
        target.close()

    assert records["BEANS-1KG"].accepted and shop.level(808950810, 70002) == 5
    assert not records["DRIPPER"].accepted and "INVALID_INVENTORY_ITEM" in records["DRIPPER"].answer
    assert hub.stats["shopify"].rejected == 1 and hub.pending() == 0


def test_an_error_about_the_whole_call_fails_every_level(
    clock: FakeClock, shop: FakeShopify
) -> None:
    target = target_for(shop, clock, reason="flash sale")  # not one of Shopify's reasons

    results = target.push([level(808950810, 1, clock), level(808950811, 2, clock)])
    target.close()

    assert [r.accepted for r in results] == [False, False]
    assert all(not r.retriable for r in results)
    assert "INVALID_REASON: The specified reason is invalid. (input path input.reason)" in (
        results[0].answer
    )
    assert shop.levels == {}


def test_a_refused_token_fails_every_level_with_shopifys_answer_and_sends_nothing_more(
    clock: FakeClock, shop: FakeShopify
) -> None:
    stock, audit = Stock(), InMemoryPushAudit()
    for n in range(250):
        stock.sell_through(f"SKU-{n:03}", 9000 + n, n)
    revoked = target_for(shop, clock, token="shpat_revoked")
    hub = PushCoordinator(stock, {"shopify": revoked}, audit, clock=clock.now)
    for sku in stock.level:
        hub.mark(sku, "opening count", clock.now())
    clock.advance(1)

    records = hub.drain()
    direct = revoked.push([level(n, 1, clock) for n in range(1, 301)])  # two calls' worth
    revoked.close()

    assert len(records) == 250 and not any(r.accepted for r in records)
    first = records[0]
    assert first.status == 401 and not first.retriable
    assert first.answer.startswith("Shopify refused the credentials: POST ")
    assert "Invalid API key or access token" in first.answer
    assert hub.stats["shopify"].rejected == 250 and hub.pending() == 0 and shop.levels == {}
    # Of 300 levels pushed at once, the first call's 250 were refused; the rest were not sent.
    assert [c.status for c in shop.calls] == [401, 401]
    assert [r.status for r in direct] == [401] * 250 + [None] * 50
    assert direct[-1].answer == "not sent: credentials refused earlier in this batch"


def test_a_missing_scope_is_refused_for_good_and_a_server_error_is_tried_again(
    clock: FakeClock,
) -> None:
    denied = {
        "errors": [
            {
                "message": "Access denied for inventorySetQuantities field.",
                "extensions": {
                    "code": "ACCESS_DENIED",
                    "documentation": "https://shopify.dev/api/usage/access-scopes",
                },
            }
        ],
        "data": None,
        "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": 10}},
    }
    answers = iter([httpx.Response(200, json=denied)] + [httpx.Response(503, text="")] * 3)
    target = ShopifyGraphqlInventoryPush(
        "https://beans.myshopify.com", SHOPIFY_TOKEN, sleep=clock.sleep, clock=clock.now,
        monotonic=clock.monotonic, retry=RetryPolicy(max_attempts=3, jitter=Jitter.NONE),
        transport=httpx.MockTransport(lambda request: next(answers)),
    )  # fmt: skip

    [scope] = target.push([level(808950810, 1, clock)])
    [outage] = target.push([level(808950810, 1, clock)])

    assert not scope.accepted and not scope.retriable
    assert scope.answer == (
        "Shopify refused the call: ACCESS_DENIED: Access denied for inventorySetQuantities field."
    )
    assert not outage.accepted and outage.retriable and outage.status == 503


# -- convergence -----------------------------------------------------------------------------

SKUS = {"A": 808950810, "B": 808950811, "C": 808950812}
op = st.one_of(
    st.tuples(st.just("sell"), st.sampled_from(sorted(SKUS)), st.integers(-3, 6), st.floats(0, 3)),
    st.tuples(st.just("wait"), st.floats(0, 2)),
    st.tuples(st.just("drain")),
    st.tuples(st.just("drift"), st.sampled_from(sorted(SKUS)), st.integers(0, 9)),
    st.tuples(st.just("spend"), st.integers(0, 1000)),  # another worker spends the bucket
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, max_size=25))
def test_whatever_the_order_and_timing_of_sales_shopify_ends_at_the_true_level(
    ops: list[tuple[object, ...]],
) -> None:
    clock, stock = FakeClock(), Stock()
    for sku, item in SKUS.items():
        stock.sell_through(sku, item, 10)
    with FakeShopify(clock=clock.monotonic, graphql_points=100, graphql_restore_rate=10) as shop:
        target = target_for(shop, clock)
        hub = PushCoordinator(stock, {"shopify": target}, InMemoryPushAudit(), clock=clock.now)
        for sku in SKUS:
            hub.mark(sku, "opening count", clock.now())
        for step in ops:
            match step:
                case ("sell", str(sku), int(qty), float(lag)):
                    stock.level[sku] -= qty
                    hub.mark(sku, "order", clock.now() - timedelta(seconds=lag))
                case ("wait", float(seconds)):
                    clock.advance(seconds)
                case ("drain",):
                    hub.drain()
                case ("drift", str(sku), int(held)):
                    shop.seed(SKUS[sku], int(WAREHOUSE), held)  # a sale in the Shopify admin
                    hub.observe_channel(stock.key[sku], held)  # ... read back by reconciliation
                    hub.mark(sku, "drift", clock.now())
                case ("spend", int(points)):
                    shop.spend_points(points)
        for _ in range(60):
            clock.advance(hub.retry_after.total_seconds())
            hub.drain()
            if hub.pending() == 0:
                break
        target.close()

    for sku, item in SKUS.items():
        assert shop.level(item, int(WAREHOUSE)) == max(0, stock.level[sku]), sku
    assert shop.points_low >= 0
    assert all(json.dumps(c.body).count("quantities") == 1 for c in shop.calls)
