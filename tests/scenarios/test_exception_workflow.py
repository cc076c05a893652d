"""The exception queue as a workflow, on the real database: replay after a fix, map an alias,
write off a variance, automatic retry with backoff, supersession, and the audit trail."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from retail_shop import T0, Shop, open_shop
from retailhub.adapters.storage import queries
from retailhub.adapters.storage.tables import journal_entries
from retailhub.domain.catalog import Item
from retailhub.domain.money import Money
from retailhub.domain.problems import Problem, ProblemType
from retailhub.services import exception_actions, exception_policy
from retailhub.services.commands import receive_stock
from retailhub.services.exception_policy import ExceptionPolicy
from retailhub.services.ports import WebhookSource

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _policy_restored() -> Iterator[None]:
    before = exception_policy.current()
    yield
    exception_policy.configure(before)


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


def shop_at(db_url: str, extra: str = "") -> tuple[Shop, Clock]:
    shop = open_shop(db_url, extra_config=extra)
    # The one line bootstrap adds: install the deployment's policy for repositories.
    exception_policy.configure(ExceptionPolicy.from_config(shop.hub.settings.exception_policy))
    clock = Clock()
    shop.hub.clock = clock
    return shop, clock


def all_exceptions(shop: Shop) -> list[dict[str, Any]]:
    with shop.hub.uow() as uow:
        return sorted(queries.list_exceptions(uow.conn, None), key=lambda r: r["id"])


def audit(shop: Shop, exception_id: int) -> list[tuple[str, str]]:
    with shop.hub.uow() as uow:
        detail = queries.exception_detail(uow.conn, exception_id)
    assert detail is not None
    return [(a["actor"], a["action"]) for a in detail["audit"]]


def add_item(shop: Shop, sku: str, stock: int = 5) -> None:
    with shop.hub.uow() as uow:
        uow.catalog.save_items([(Item(sku, sku.title(), Money.of("12.00", "USD")), {})], "shopify")
        receive_stock(
            uow,
            shop.hub.settings.rules(),
            sku,
            "WH",
            stock,
            T0 - timedelta(days=1),
            f"opening:{sku}:WH",
        )
        uow.commit()


def test_unknown_sku_replayed_after_the_item_exists(db_url: str) -> None:
    shop, clock = shop_at(db_url)
    first = shop.order([shop.line("SCARF"), shop.line("SOCKS")])
    second = shop.order([shop.line("SCARF", 2)])
    shop.deliver("orders/create", first)
    shop.deliver("orders/create", second)
    shop.process()
    waiting = shop.exceptions()
    assert [(e["type"], e["subject"], e["owner"]) for e in waiting] == [
        ("unknown_sku", "sku:SCARF", "ecommerce")
    ] * 2
    with shop.hub.uow() as uow:
        due = uow.exceptions.get(waiting[0]["id"])
    assert due is not None and due["sla_due_at"] == NOW + timedelta(hours=4)

    add_item(shop, "SCARF")
    clock.now += timedelta(minutes=20)
    with shop.hub.uow() as uow:
        outcomes = exception_actions.replay(uow, clock(), subject="sku:SCARF", actor="dana")
        uow.commit()
    assert [o.status for o in outcomes] == ["requeued", "requeued"]
    stats = shop.process()
    assert (stats.applied, stats.failed) == (2, 0)
    assert shop.exceptions() == []
    assert shop.position("SCARF", "WH")[1] == 3  # both orders reserved, one then two
    assert shop.inbox().get("failed", 0) == 0
    assert audit(shop, waiting[0]["id"]) == [
        ("system", "opened"),
        ("dana", "retrying"),
        ("system", "resolved"),
    ]


def test_map_alias_teaches_the_variant_and_replays(db_url: str) -> None:
    shop, clock = shop_at(db_url)
    order = shop.order([shop.line("SOX-BLK", 2)])  # the channel's own SKU, unknown variant
    shop.deliver("orders/create", order)
    shop.process()
    [exc] = shop.exceptions()
    variant = str(order["line_items"][0]["variant_id"])

    with shop.hub.uow() as uow:
        refused = exception_actions.map_alias(uow, exc["id"], "NO-SUCH", clock())
    assert [o.status for o in refused] == ["not-mappable"]

    with shop.hub.uow() as uow:
        outcomes = exception_actions.map_alias(uow, exc["id"], "SOCKS", clock(), actor="lee")
        uow.commit()
    assert [o.status for o in outcomes] == ["mapped", "requeued"]
    assert variant in outcomes[0].detail
    shop.process()
    assert shop.exceptions() == []
    assert shop.position("SOCKS", "WH")[1] == 2
    assert ("lee", "alias-mapped") in audit(shop, exc["id"])
    # a later order for the same variant needs no help
    shop.deliver("orders/create", shop.order([shop.line("SOX-BLK")]))
    assert shop.process().failed == 0


VARIANCE_REASON = (  # the shape domain/reconciliation.py ``_problem`` writes
    "stripe payments matched by transaction id differ: expected 59.95, settled 58.45 USD "
    "(variance -1.50); receipts: capture ch_1 of 59.95 USD on 2026-11-20; lines: settlement "
    "po_1 line 1: charge of 58.45 USD (ch_1)"
)


def test_write_off_posts_the_adjustment_once_and_resolves(db_url: str) -> None:
    shop, clock = shop_at(db_url)
    with shop.hub.uow() as uow:
        eid = uow.exceptions.raise_problem(
            Problem(ProblemType.SETTLEMENT_VARIANCE, VARIANCE_REASON, False, "receipt:ch_1", 150),
            clock(),
            "reconciliation",
            None,
            None,
        )
        uow.commit()
    with shop.hub.uow() as uow:
        blank = exception_actions.write_off(uow, eid, "  ", clock(), "USD")
        outcome = exception_actions.write_off(
            uow, eid, "Stripe kept a dispute fee", clock(), "USD", actor="fin"
        )
        uow.commit()
    assert blank.status == "not-written-off"
    assert outcome.status == "written-off", outcome.detail
    balances = shop.movement_balances()
    assert balances["Expenses:Settlement-Adjustments:Stripe"] == 150
    assert balances["Assets:Clearing:Stripe"] == -150
    with shop.hub.uow() as uow:
        again = exception_actions.write_off(uow, eid, "twice", clock(), "USD")
        keys = list(
            uow.conn.execute(
                select(journal_entries.c.key).where(journal_entries.c.key.like("writeoff:%"))
            ).scalars()
        )
    assert again.status == "not-written-off"  # already resolved: no second entry
    assert keys == [f"writeoff:{eid}:adjustment"]
    [row] = [e for e in all_exceptions(shop) if e["id"] == eid]
    assert row["status"] == "resolved"
    assert audit(shop, eid)[-2:] == [("fin", "write-off"), ("fin", "resolved")]


@dataclass
class FlakyVendor:
    """Wraps the Shopify connector; its translation fails like an API timing out N times."""

    inner: WebhookSource
    failures: int
    calls: list[str] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def translate(self, topic: str, body: bytes) -> Any:
        self.calls.append(topic)
        if self.failures > 0:
            self.failures -= 1
            return Problem(ProblemType.CONNECTOR_ERROR, "GET /orders: 503 Service Unavailable")
        return self.inner.translate(topic, body)


def run(shop: Shop, seed: int = 7) -> None:
    processor = shop.hub.processor()
    processor.jitter = random.Random(seed).random
    processor.run_until_idle()


def test_connector_error_retries_with_backoff_then_applies(db_url: str) -> None:
    shop, clock = shop_at(db_url, "[exceptions]\nretry_limit = 3\nretry_base_seconds = 60\n")
    vendor = FlakyVendor(shop.hub.sources["shopify"], failures=2)
    shop.hub.sources["shopify"] = vendor  # type: ignore[assignment]
    shop.deliver("orders/create", shop.order([shop.line("SOCKS")]))
    run(shop)
    [exc] = all_exceptions(shop)
    assert exc["status"] == "retrying"
    jitter = random.Random(7)
    with shop.hub.uow() as uow:
        row = uow.exceptions.get(exc["id"])
    assert row is not None
    assert row["next_retry_at"] == NOW + timedelta(seconds=60 * (0.5 + jitter.random()))
    run(shop)  # not due yet: nothing happens
    assert len(vendor.calls) == 1
    clock.now = row["next_retry_at"]
    run(shop, seed=8)
    assert len(vendor.calls) == 2 and all_exceptions(shop)[0]["status"] == "retrying"
    clock.now += timedelta(seconds=180)  # past 120 s × 1.5, whatever the jitter
    run(shop)
    assert len(vendor.calls) == 3
    assert all_exceptions(shop)[0]["status"] == "resolved"
    assert shop.position("SOCKS", "WH")[1] == 1
    actions = [a for _, a in audit(shop, exc["id"])]
    assert actions.count("auto-retry") == 2 and actions[-1] == "resolved"


def test_connector_error_stays_open_after_the_retry_limit(db_url: str) -> None:
    shop, clock = shop_at(db_url, "[exceptions]\nretry_limit = 2\nretry_base_seconds = 10\n")
    vendor = FlakyVendor(shop.hub.sources["shopify"], failures=99)
    shop.hub.sources["shopify"] = vendor  # type: ignore[assignment]
    shop.deliver("orders/create", shop.order([shop.line("SOCKS")]))
    for _ in range(5):
        run(shop)
        clock.now += timedelta(minutes=10)
    assert len(vendor.calls) == 3  # the first try and two automatic retries
    [exc] = all_exceptions(shop)
    assert (exc["status"], exc["attempts"], exc["owner"]) == ("open", 3, "it")
    assert [a for _, a in audit(shop, exc["id"])][-1] == "retry-limit"


def test_a_newer_snapshot_resolves_the_older_failure(db_url: str) -> None:
    shop, clock = shop_at(db_url)
    created = shop.order([shop.line("SCARF")])
    shop.deliver("orders/create", created)
    shop.process()
    [exc] = shop.exceptions()
    updated = orjson.loads(orjson.dumps(created))  # the merchant swapped the line for socks
    known = shop.line("SOCKS")
    updated["line_items"][0].update(sku="SOCKS", variant_id=known.variant_id)
    updated["updated_at"] = (T0 + timedelta(hours=1)).isoformat()
    clock.now += timedelta(hours=1)
    shop.deliver("orders/updated", updated)
    shop.process()
    assert shop.exceptions() == []
    with shop.hub.uow() as uow:
        row = uow.exceptions.get(exc["id"])
        detail = queries.exception_detail(uow.conn, exc["id"])
    assert row is not None and row["status"] == "resolved"
    assert detail is not None and "superseded" in detail["audit"][-1]["result"]


def test_audit_trail_says_who_did_what_when(db_url: str) -> None:
    shop, clock = shop_at(db_url, '[exceptions]\nrouting = { unknown_sku = "store_ops" }\n')
    shop.deliver("orders/create", shop.order([shop.line("SCARF")]))
    shop.process()
    [exc] = shop.exceptions()
    assert exc["owner"] == "store_ops"
    with shop.hub.uow() as uow:
        exception_actions.assign(uow, exc["id"], "sam", clock(), actor="lead")
        clock.now += timedelta(minutes=5)
        exception_actions.ignore(uow, exc["id"], "test order, cancelled", clock(), actor="sam")
        uow.commit()
    with shop.hub.uow() as uow:
        detail = queries.exception_detail(uow.conn, exc["id"])
    assert detail is not None
    trail = [(a["actor"], a["action"], a["result"]) for a in detail["audit"]]
    assert trail[1:] == [("lead", "assigned", "sam"), ("sam", "ignored", "test order, cancelled")]
    assert detail["audit"][2]["at"] != detail["audit"][1]["at"]
    with shop.hub.uow() as uow:
        assert uow.exceptions.get(exc["id"])["assignee"] == "sam"  # type: ignore[index]
