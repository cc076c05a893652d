"""A flash sale that would oversell without the guard, and a channel that drifted.

The shop holds two large shirts in each of its three locations and pushes availability to
Shopify (a local fake that enforces Shopify's REST rules). Eight web orders for one shirt each
arrive in one burst, all reserving at the warehouse: the sales are recorded (they happened),
the ones beyond what the web channel could promise are flagged as an oversell for eCommerce,
and the burst becomes one coalesced push per location: the warehouse shows 0 at once.

Then Shopify reports a level nobody set (someone edited it in the admin). retailhub owns
inventory, so the report is not applied; the drift check finds it, queues it and pushes our
level back; once Shopify agrees again the drift resolves itself.
"""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fakes_channels import SHOPIFY_TOKEN, FakeShopify
from retail_shop import LOC, SECRET, T0, open_shop
from retailhub import config
from retailhub.bootstrap import bootstrap
from retailhub.demo.retailer import config_text
from retailhub.demo.shopify_payloads import inventory_level_payload
from retailhub.entrypoints.cli.main import app

SHIRT_ITEM = 50_000_000  # SHIRT-M's Shopify inventory item (retail_shop's identities)


def pushing_config(shop_url: str, push_api: str = "graphql") -> str:
    return config_text(SECRET).replace(
        "[connectors.shopify]\n",
        f'[connectors.shopify]\nadmin_token = "{SHOPIFY_TOKEN}"\npush_api = "{push_api}"\n',
    ).replace('shop_domain = "', f'shop_domain = "{shop_url}" # ') + (
        "\n[push]\ninterval_seconds = 0\n"
    )


@pytest.mark.parametrize("push_api", ["graphql", "rest"])
def test_a_flash_sale_is_flagged_not_refused_and_pushed_once_per_location(
    db_url: str, tmp_path: Path, push_api: str
) -> None:
    shop = open_shop(db_url, stock=2)
    with FakeShopify() as fake:
        url = fake.url  # started by the context manager
        hub = bootstrap(config.parse(tomllib.loads(pushing_config(url, push_api))), db_url)
        assert hub.push is not None
        shirts = [shop.line("SHIRT-M") for _ in range(8)]
        for n, line in enumerate(shirts):
            shop.deliver("orders/create", shop.order([line], at=T0 + timedelta(seconds=n)))
        stats = hub.processor().run_until_idle()
        assert (stats.applied, stats.failed) == (8, 0)
        records = hub.push.drain()

        oversold = [e for e in shop.exceptions() if e["type"] == "oversell"]
        assert [(e["subject"], e["owner"]) for e in oversold] == [
            ("oversell:web:SHIRT-M", "ecommerce")]  # one exception, refreshed, not eight
        assert shop.position("SHIRT-M", "WH") == (2, 8)  # all eight recorded and reserved
        # The burst is one coalesced push per location, each level the location's share.
        assert sorted((r.location_id, r.quantity) for r in records if r.sku == "SHIRT-M") == [
            (str(LOC["WH"]), 0), (str(LOC["STORE-1"]), 2), (str(LOC["STORE-2"]), 2)]
        assert all(r.accepted and r.marks == 1 for r in records)
        assert fake.level(SHIRT_ITEM, LOC["WH"]) == 0
        assert fake.throttled == 0
        history = json.loads(CliRunner().invoke(app, [
            "--db", db_url, "--config", str(_write(tmp_path, pushing_config(url))),
            "inventory", "push-history", "SHIRT-M", "--json"]).stdout)
        assert {h["location_id"] for h in history} == {str(v) for v in LOC.values()}
        assert all(h["reasons"] == ["stock changed"] and h["answer"] for h in history)


def test_a_drifted_channel_is_found_queued_and_corrected(db_url: str, tmp_path: Path) -> None:
    shop = open_shop(db_url, stock=2)
    with FakeShopify() as fake:
        url = fake.url  # started by the context manager
        cfg = _write(tmp_path, pushing_config(url))
        cli, base = CliRunner(), ["--db", db_url, "--config", str(cfg)]
        first = json.loads(cli.invoke(app, [*base, "inventory", "push", "SHIRT-M", "--json"]
                                      ).stdout)
        assert first["accepted"] == 3 and fake.level(SHIRT_ITEM, LOC["STORE-1"]) == 2

        # Someone types 9 into the Shopify admin; Shopify reports it.
        fake.seed(SHIRT_ITEM, LOC["STORE-1"], 9)
        edited = datetime.now(UTC)
        shop.deliver("inventory_levels/update", inventory_level_payload(
            inventory_item_id=SHIRT_ITEM, location_id=LOC["STORE-1"], available=9,
            updated_at=edited))
        shop.process()
        assert shop.position("SHIRT-M", "STORE-1") == (2, 0)  # not applied: we own stock

        found = cli.invoke(app, [*base, "inventory", "drift", "--json"])
        assert found.exit_code == 1
        report = json.loads(found.stdout)
        assert [(d["location"], d["channel_shows"], d["ours"]) for d in report["drifts"]] == [
            ("STORE-1", 9, 2)]
        assert report["pushed"] >= 1
        assert fake.level(SHIRT_ITEM, LOC["STORE-1"]) == 2  # corrected in Shopify
        assert [e["type"] for e in shop.exceptions() if e["type"] == "stock_drift"] == [
            "stock_drift"]

        # Shopify reports the corrected level: the next check finds nothing and resolves it.
        shop.deliver("inventory_levels/update", inventory_level_payload(
            inventory_item_id=SHIRT_ITEM, location_id=LOC["STORE-1"], available=2,
            updated_at=edited + timedelta(seconds=5)))
        shop.process()
        clean = json.loads(cli.invoke(app, [*base, "inventory", "drift", "--json"]).stdout)
        assert clean["drifted"] == 0 and clean["resolved"] == 1
        assert not [e for e in shop.exceptions() if e["type"] == "stock_drift"]
        metrics = json.loads(cli.invoke(app, [*base, "inventory", "metrics", "--json"]).stdout)
        assert metrics["pushes"] >= 4 and metrics["drift_found"] == 1
        assert metrics["push_latency_p99_s"] is not None


def _write(tmp: Path, text: str) -> Path:
    path = tmp / "retailhub.toml"
    path.write_text(text)
    return path


def test_a_stock_command_pushes_the_new_level_at_once(db_url: str, tmp_path: Path) -> None:
    """A cycle count typed in at the store changes what Shopify shows without waiting."""
    open_shop(db_url, stock=2)
    with FakeShopify() as fake:
        cfg = _write(tmp_path, pushing_config(fake.url))
        run = CliRunner().invoke(app, ["--db", db_url, "--config", str(cfg), "inventory",
                                       "count", "SHIRT-M", "STORE-1", "7", "--json"])
        assert run.exit_code == 0, run.output
        assert fake.level(SHIRT_ITEM, LOC["STORE-1"]) == 7
