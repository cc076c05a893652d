"""The dashboard as a person uses it: a real server, a real database, headless Chromium.

The integration engineer logs in with a token, finds the order stuck on an unknown SKU, creates
the item, replays the delivery and watches it post: the exception resolves and the order-latency
KPI gains a sample. Screenshots of every step land in ``test-artifacts/dashboard/``.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from retail_shop import Shop, open_shop
from retailhub.adapters.storage.tokens_repo import create_token
from retailhub.entrypoints.api.app import create_app
from retailhub.entrypoints.api.auth import COOKIE
from retailhub.entrypoints.api.dashboard import dashboard_router
from retailhub.services import kpis

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "dashboard"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Desk:
    base: str
    shop: Shop
    tokens: dict[str, str]  # role -> token
    ghost_exception: int


@pytest.fixture
def desk(db_url: str) -> Iterator[Desk]:
    """The shop with one posted order and one stuck on SKU GHOST-TEE, served on a free port."""
    shop = open_shop(db_url)
    shop.deliver("orders/create", shop.order([shop.line("SOCKS")]))
    shop.deliver("orders/create", shop.order([shop.line("GHOST-TEE")]))
    shop.process()
    [stuck] = [e for e in shop.exceptions() if e["type"] == "unknown_sku"]
    with shop.hub.engine.begin() as conn:
        tokens = {
            role: create_token(conn, f"{role}-desk", role, (), shop.hub.clock())
            for role in ("admin", "read_only")
        }
    app = create_app(shop.hub, run_worker=True, poll_seconds=0.1)
    app.include_router(dashboard_router(shop.hub))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the dashboard server did not start"
    try:
        yield Desk(base, shop, tokens, int(stuck["id"]))
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        shop.hub.engine.dispose()


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests"
        if os.environ.get("RETAILHUB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{message} (RETAILHUB_REQUIRE_BROWSER=1)", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _login(page: Any, desk: Desk, role: str) -> None:
    page.set_default_timeout(5000)
    page.goto(f"{desk.base}/")
    assert page.url.startswith(f"{desk.base}/login"), "an anonymous visit must land on /login"
    page.get_by_label("API token").fill(desk.tokens[role])
    page.get_by_role("button", name="Log in").click()
    assert page.url == f"{desk.base}/", page.url


def _kpi_samples(page: Any, desk: Desk, key: str) -> int:
    page.goto(f"{desk.base}/")
    return int(page.locator(f'tr[data-kpi="{key}"] td.samples').inner_text())


def _eventually(check: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def _no_remote_script(html: str) -> None:
    assert not re.search(r"<script[^>]+src=", html, re.I), "pages load no script at all"
    assert '<script src="http' not in html


def test_replay_an_unknown_sku_after_creating_the_item_and_see_the_kpi_move(desk: Desk, browser):
    page = browser.new_page()
    _login(page, desk, "admin")
    page.screenshot(path=str(ARTIFACTS / "1-overview-before.png"), full_page=True)
    assert _kpi_samples(page, desk, "order_latency") == 1  # only the socks order posted
    shopify = page.locator('#health tr[data-source="shopify"]')
    assert shopify.locator("td.received").inner_text() == "2"
    assert shopify.locator("td.failed").inner_text() == "1"

    page.goto(f"{desk.base}/desk/exceptions")  # the queue, filtered to unknown SKUs
    page.get_by_label("Type").select_option("unknown_sku")
    page.get_by_role("button", name="Filter").click()
    row = page.locator(f'#queue tr[data-id="{desk.ghost_exception}"]')
    assert "GHOST-TEE" in row.inner_text()
    assert page.locator("#queue tbody tr").count() == 1
    page.screenshot(path=str(ARTIFACTS / "2-exception-queue.png"), full_page=True)

    row.get_by_role("link", name="Create item GHOST-TEE").click()
    assert page.get_by_label("SKU").input_value() == "GHOST-TEE"
    page.get_by_label("Title").fill("Ghost tee")
    page.get_by_label("Unit cost").fill("12.00")
    page.get_by_role("button", name="Create item").click()
    assert "Item GHOST-TEE (Ghost tee) created" in page.locator("#notice").inner_text()
    page.screenshot(path=str(ARTIFACTS / "3-item-created.png"), full_page=True)
    with desk.shop.hub.uow() as uow:
        item = uow.catalog.item("GHOST-TEE")
    assert item is not None and item.unit_cost.amount == 1200  # 12.00 USD in cents

    page.goto(f"{desk.base}/desk/exceptions/{desk.ghost_exception}")
    page.get_by_role("button", name="Retry (replay the delivery)").click()
    assert "requeued" in page.locator("#notice").inner_text()

    def resolved() -> bool:
        page.goto(f"{desk.base}/desk/exceptions/{desk.ghost_exception}")
        return page.locator("#facts td.status").inner_text() == "resolved"

    assert _eventually(resolved), "the worker should apply the replayed delivery"
    trail = page.locator("#audit").inner_text()
    assert "dashboard:admin-desk" in trail  # who retried is on the audit trail
    page.screenshot(path=str(ARTIFACTS / "4-exception-resolved.png"), full_page=True)

    assert _kpi_samples(page, desk, "order_latency") == 2
    assert page.locator('#health tr[data-source="shopify"] td.applied').inner_text() == "2"
    page.screenshot(path=str(ARTIFACTS / "5-overview-after.png"), full_page=True)

    page.goto(f"{desk.base}/desk/kpis")
    assert page.locator("figure[data-kpi] svg").count() == 6  # one chart per KPI
    page.screenshot(path=str(ARTIFACTS / "6-kpi-charts.png"), full_page=True)
    for path in (
        "/",
        "/desk/exceptions",
        "/desk/kpis",
        "/desk/atp?sku=SOCKS",
        "/desk/reconciliation",
        "/desk/items/new",
    ):
        page.goto(desk.base + path)
        _no_remote_script(page.content())


def test_a_read_only_token_sees_the_queue_but_cannot_retry(desk: Desk, browser):
    page = browser.new_page()
    page.goto(f"{desk.base}/desk/exceptions/{desk.ghost_exception}")
    assert page.url.startswith(f"{desk.base}/login?next=%2Fdesk%2Fexceptions%2F")
    page.get_by_label("API token").fill(desk.tokens["read_only"])
    page.get_by_role("button", name="Log in").click()
    assert page.url == f"{desk.base}/desk/exceptions/{desk.ghost_exception}"  # back where they were
    assert page.get_by_role("button", name="Retry (replay the delivery)").is_disabled()
    page.screenshot(path=str(ARTIFACTS / "7-read-only.png"), full_page=True)

    forced = page.request.post(  # the disabled button is not the only guard
        f"{desk.base}/desk/exceptions/{desk.ghost_exception}/retry",
        headers={"Origin": desk.base},
    )
    assert forced.status == 403
    assert "may not exceptions.act" in forced.text()
    [still] = [e for e in desk.shop.exceptions() if e["id"] == desk.ghost_exception]
    assert still["status"] == "open"


def test_wrong_tokens_anonymous_posts_and_cross_site_posts_are_refused(desk: Desk):
    with httpx.Client(base_url=desk.base, follow_redirects=False, timeout=10) as client:
        anonymous = client.get("/desk/kpis")
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
        posted = client.post(f"/desk/exceptions/{desk.ghost_exception}/retry")
        assert posted.status_code == 303 and posted.headers["location"].startswith("/login")

        bad = client.post("/login", data={"token": "rh_not-a-token", "next": "/"})
        assert bad.status_code == 401 and "not valid" in bad.text

        hop = client.post(
            "/login", data={"token": desk.tokens["admin"], "next": "https://evil.example/"}
        )
        assert hop.status_code == 303 and hop.headers["location"] == "/"  # no open redirect
        cookie = hop.headers["set-cookie"].lower()
        assert COOKIE in cookie and "httponly" in cookie and "samesite=strict" in cookie

        client.cookies.set(COOKIE, desk.tokens["admin"])
        forged = client.post(
            f"/desk/exceptions/{desk.ghost_exception}/retry",
            headers={"Origin": "https://evil.example"},
        )
        assert forged.status_code == 403
        [still] = [e for e in desk.shop.exceptions() if e["id"] == desk.ghost_exception]
        assert still["status"] == "open"

        assigned = client.post(
            f"/desk/exceptions/{desk.ghost_exception}/assign",
            data={"assignee": "ana@ecommerce"},
            headers={"Referer": f"{desk.base}/desk/exceptions/1"},
        )
        assert assigned.status_code == 303 and "assigned" in assigned.headers["location"]
        detail = client.get(f"/desk/exceptions/{desk.ghost_exception}").text
        assert 'value="ana@ecommerce"' in detail and "dashboard:admin-desk" in detail

        wrong_cost = client.post(
            "/desk/items", data={"sku": "CAP", "title": "Cap", "unit_cost": "12,50"}
        )
        assert wrong_cost.status_code == 422 and "is not a number" in wrong_cost.text
        taken = client.post("/desk/items", data={"sku": "SOCKS", "title": "x", "unit_cost": "1"})
        assert taken.status_code == 422 and "already exists" in taken.text

        atp = client.get("/desk/atp", params={"sku": "SOCKS"})
        assert atp.status_code == 200
        # web sells from every location: 3 × 10 on hand, less the one socks order reserved
        assert re.search(r"<th scope=\"row\">web</th><td class=\"num\">29</td>", atp.text)
        _no_remote_script(client.get("/desk/kpis").text)


def test_kpis_turn_samples_into_values_and_daily_series():
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    day = timedelta(days=1)

    class Samples:
        def count_accuracy(self, since: datetime) -> list[kpis.Sample]:
            return [kpis.Sample(now - day, 1.0), kpis.Sample(now, 0.0), kpis.Sample(now, 1.0)]

        def order_latency(self, since: datetime) -> list[kpis.Sample]:
            return [kpis.Sample(now, 10.0), kpis.Sample(now, 30.0), kpis.Sample(now, 500.0)]

        def refund_turnaround(self, since: datetime) -> list[kpis.Sample]:
            return []

        def match_rate(self, since: datetime) -> list[kpis.Sample]:
            return [kpis.Sample(now - 2 * day, 0.5), kpis.Sample(now, 0.75)]

        def exception_resolution(self, since: datetime) -> list[kpis.Sample]:
            return [kpis.Sample(now, 3600.0)]

        def manual_journals(self, since: datetime) -> list[kpis.Sample]:
            return [kpis.Sample(now - 40 * day, 1.0), kpis.Sample(now, 1.0)]

    got = {k.key: k for k in kpis.compute(Samples(), now, days=3)}
    assert got["inventory_accuracy"].value == pytest.approx(200 / 3)
    assert got["inventory_accuracy"].series[-2:] == [
        ((now - day).date(), 100.0),
        (now.date(), 50.0),
    ]
    assert got["order_latency"].value == 30.0 and got["order_latency"].samples == 3
    assert got["refund_turnaround"].value is None and got["refund_turnaround"].shown() == "—"
    assert got["settlement_match_rate"].value == 75.0  # the latest run, not an average
    assert got["settlement_match_rate"].series[0] == ((now - 2 * day).date(), 50.0)
    assert got["exception_resolution"].shown() == "1 h 0 min"
    # counts show zero on quiet days rather than a gap; samples before the window are dropped
    assert [v for _, v in got["manual_journals"].series] == [0.0, 0.0, 1.0]
    assert got["manual_journals"].value == 1.0
    assert len(got["order_latency"].series) == 3
