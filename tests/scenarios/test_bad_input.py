"""Bad input gets a clear exception entry, keeps the raw delivery, and applies nothing."""

from __future__ import annotations

import orjson
import pytest

from retail_shop import Shop, open_shop
from retailhub.domain.catalog import Item
from retailhub.domain.money import Money
from retailhub.services import exception_actions


@pytest.fixture
def shop(db_url: str) -> Shop:
    s = open_shop(db_url)
    yield s
    s.hub.engine.dispose()


def _only_exception(shop: Shop) -> dict:
    [exc] = shop.exceptions()
    return exc


def test_bad_signature_is_refused_kept_and_admitted_once_the_secret_is_right(shop: Shop):
    order = shop.order([shop.line("SOCKS")])
    receipt = shop.deliver("orders/create", order, secret="wrong-secret")
    assert receipt.status == "rejected"
    assert shop.inbox()["received"] == 0  # never admitted, so never applied
    exc = _only_exception(shop)
    assert exc["type"] == "signature_failure" and exc["owner"] == "it"
    with shop.hub.uow() as uow:
        kept = uow.exceptions.get(exc["id"])
        assert kept is not None and orjson.loads(kept["payload"])["id"] == order["id"]
        outcome = exception_actions.retry(uow, exc["id"], shop.hub.sources, shop.hub.clock())
        assert outcome.status == "still-rejected"


def test_truncated_json_is_an_invalid_payload_naming_the_position(shop: Shop):
    body = orjson.dumps(shop.order([shop.line("SOCKS")]))
    shop.deliver("orders/create", body[: len(body) // 2])
    shop.process()
    exc = _only_exception(shop)
    assert exc["type"] == "invalid_payload"
    assert "truncated" in exc["reason"] and "byte" in exc["reason"]
    assert shop.inbox()["failed"] == 1
    assert shop.movement_balances() == {} and shop.position("SOCKS", "WH") == (10, 0)


def test_missing_fields_name_the_path(shop: Shop):
    order = shop.order([shop.line("SOCKS")])
    del order["line_items"][0]["price"]
    shop.deliver("orders/create", order)
    shop.process()
    exc = _only_exception(shop)
    assert exc["type"] == "invalid_payload"
    assert "$.line_items[0]" in exc["reason"] and "price" in exc["reason"]
    assert shop.movement_balances() == {}


def test_unknown_sku_waits_in_the_queue_and_applies_after_the_item_is_created(shop: Shop):
    order = shop.order([shop.line("GHOST-TEE")])
    shop.deliver("orders/create", order)
    shop.process()
    exc = _only_exception(shop)
    assert exc["type"] == "unknown_sku" and exc["owner"] == "ecommerce"
    assert "GHOST-TEE" in exc["reason"]
    assert shop.movement_balances() == {}

    with shop.hub.uow() as uow:  # the eCommerce team adds the item, then retries
        uow.catalog.save_items([(Item("GHOST-TEE", "Ghost tee", Money(1200, "USD")), {})],
                               "shopify")
        assert exception_actions.retry(uow, exc["id"], shop.hub.sources,
                                       shop.hub.clock()).status == "requeued"
        uow.commit()
    shop.process()
    assert [e["type"] for e in shop.exceptions()] == ["oversell"]  # no stock of the ghost tee
    assert shop.exceptions("resolved")[0]["id"] == exc["id"]
    assert shop.movement_balances()["Assets:Clearing:Shopify-Payments"] > 0


def test_unknown_topic_is_queued_not_dropped(shop: Shop):
    shop.deliver("carts/update", {"id": 1})
    shop.process()
    assert _only_exception(shop)["type"] == "unknown_topic"


def test_an_exception_can_be_ignored_only_with_a_reason_and_its_trail_shows_who_did_what(
        shop: Shop):
    from retailhub.adapters.storage import queries

    shop.deliver("carts/update", {"id": 1})
    shop.process()
    exc = _only_exception(shop)
    with shop.hub.uow() as uow:
        refused = exception_actions.ignore(uow, exc["id"], "  ", shop.hub.clock())
        assert refused.status == "not-ignored"
        done = exception_actions.ignore(uow, exc["id"], "we do not sync products yet",
                                        shop.hub.clock(), actor="ana@ops")
        assert done.status == "ignored"
        uow.commit()
        detail = queries.exception_detail(uow.conn, exc["id"])
    assert shop.exceptions() == []
    assert detail is not None and detail["status"] == "ignored"
    assert [(a["actor"], a["action"]) for a in detail["audit"]] == [
        ("system", "opened"), ("ana@ops", "ignored")]
    assert detail["audit"][-1]["result"] == "we do not sync products yet"
    assert detail["delivery"]["topic"] == "carts/update"
    assert detail["delivery"]["status"] == "failed"  # ignored, never applied


def test_an_exception_names_the_store_it_concerns(shop: Shop):
    """Store-scoped API tokens see a store's exceptions: each is stamped with its store."""
    import sqlalchemy as sa

    from retailhub.adapters.storage.tables import exceptions

    shop.deliver("orders/create", shop.order([shop.line("NOT-A-SKU")]))  # web: ships from WH
    shop.process()
    with shop.hub.engine.connect() as conn:
        stores = conn.execute(sa.select(exceptions.c.type, exceptions.c.store)).all()
    assert [(t, s) for t, s in stores] == [("unknown_sku", "WH")]
