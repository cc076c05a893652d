"""Monitoring end to end: /metrics after real deliveries, one correlation id from intake through
processing, and SLA breach alerts POSTed to a local webhook receiver.

Deliveries go through the real intake and processor on a real database (``open_shop``); only
the breach itself is simulated, by setting ``exceptions.sla_due_at`` in the past.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from retail_shop import SECRET, Shop, open_shop
from retailhub.adapters.storage import alerts_repo
from retailhub.adapters.storage.tables import exceptions, inbox, reconciliation_runs, stock_pushes
from retailhub.domain.problems import Problem, ProblemType
from retailhub.entrypoints.alerts import send_due_alerts
from retailhub.entrypoints.api.metrics import metrics_router_for
from retailhub.observability import configure_logging
from retailhub.services import exception_actions

# -- helpers -------------------------------------------------------------------------------


def scrape(shop: Shop) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics from the router mounted on a bare app; samples keyed by name and labels."""
    app = FastAPI()
    app.include_router(metrics_router_for(shop.hub))
    with TestClient(app) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def sample(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def open_exception(shop: Shop, type_: str) -> dict[str, Any]:
    (row,) = [e for e in shop.exceptions() if e["type"] == type_]
    return row


def set_due(shop: Shop, exception_id: int, due: datetime | None) -> None:
    with shop.hub.engine.begin() as conn:
        conn.execute(
            sa.update(exceptions).where(exceptions.c.id == exception_id).values(sla_due_at=due)
        )


def raise_problem(shop: Shop, problem: Problem, source: str | None = None) -> int:
    with shop.hub.uow() as uow:
        exception_id = uow.exceptions.raise_problem(problem, shop.hub.clock(), source, None, None)
        uow.commit()
    return exception_id


# -- /metrics ------------------------------------------------------------------------------


def test_metrics_carry_intake_lag_exceptions_sla_connectors_pushes_and_match_rate(db_url: str):
    shop = open_shop(db_url)
    now = shop.hub.clock()
    shop.deliver("orders/create", shop.order([shop.line("SHIRT-M")]), event_id="ev-1")
    shop.deliver("orders/create", shop.order([shop.line("TEE-L")]))
    shop.deliver("orders/create", shop.order([shop.line("GHOST-TEE")]))  # unknown SKU
    assert shop.deliver("orders/create", b"{}", event_id="ev-1").status == "duplicate"
    assert shop.deliver("orders/create", b"{}", secret="wrong").status == "rejected"
    shop.process()
    raise_problem(shop, Problem(ProblemType.CONNECTOR_ERROR, "Shopify answered 503"), "shopify")
    resolved = raise_problem(shop, Problem(ProblemType.CONNECTOR_ERROR, "timed out"), "shopify")
    with shop.hub.uow() as uow:
        assert exception_actions.ignore(uow, resolved, "transient", now).status == "ignored"
        uow.commit()
    set_due(shop, open_exception(shop, "unknown_sku")["id"], now - timedelta(minutes=5))
    set_due(shop, open_exception(shop, "signature_failure")["id"], now + timedelta(hours=1))
    with shop.hub.engine.begin() as conn:
        marked = now - timedelta(seconds=10)
        conn.execute(
            sa.insert(stock_pushes),
            [
                {
                    "channel": "shopify",
                    "sku": "TEE-L",
                    "location_id": "70001",
                    "item_id": "1",
                    "quantity": q,
                    "reasons": ["sale"],
                    "marks": 1,
                    "marked_at": marked,
                    "sent_at": marked + timedelta(seconds=1),
                    "acked_at": acked,
                    "accepted": ok,
                    "status": 200 if ok else 429,
                    "answer": "",
                }
                for q, acked, ok in [
                    (5, marked + timedelta(seconds=2.5), True),
                    (4, marked + timedelta(seconds=1.5), True),
                    (3, None, False),
                ]
            ],
        )
        conn.execute(
            sa.insert(reconciliation_runs),
            [
                {"run_at": now - timedelta(days=1), "matched": 1, "matchable": 2, "summary": {}},
                {"run_at": now, "matched": 3, "matchable": 4, "summary": {}},
            ],
        )

    m = scrape(shop)

    assert sample(m, "retailhub_deliveries_received_total", source="shopify") == 3
    assert sample(m, "retailhub_deliveries_duplicate_total", source="shopify") == 1
    assert sample(m, "retailhub_deliveries", source="shopify", status="applied") == 2
    assert sample(m, "retailhub_deliveries", source="shopify", status="pending") is None
    assert sample(m, "retailhub_processing_lag_seconds") == 0
    assert (
        sample(m, "retailhub_exceptions_open", type="unknown_sku", owner="ecommerce", status="open")
        == 1
    )
    assert (
        sample(m, "retailhub_exceptions_open", type="signature_failure", owner="it", status="open")
        == 1
    )
    assert sample(m, "retailhub_exceptions_raised_total", type="connector_error") == 2
    assert sample(m, "retailhub_sla_breaches", type="unknown_sku", owner="ecommerce") == 1
    assert sample(m, "retailhub_sla_breaches", type="signature_failure", owner="it") is None
    assert sample(m, "retailhub_connector_errors_total", source="shopify") == 2
    assert sample(m, "retailhub_connector_errors_open", source="shopify") == 1
    assert sample(m, "retailhub_stock_pushes_total", channel="shopify", accepted="true") == 2
    assert sample(m, "retailhub_stock_pushes_total", channel="shopify", accepted="false") == 1
    assert sample(m, "retailhub_stock_push_latency_seconds_count", channel="shopify") == 2
    assert sample(
        m, "retailhub_stock_push_latency_seconds_sum", channel="shopify"
    ) == pytest.approx(4.0, abs=0.01)
    assert sample(m, "retailhub_settlement_match_rate") == 0.75  # the latest run only
    assert sample(m, "retailhub_reconciliation_matchable_lines") == 4

    # A delivery nobody processed yet: lag is the age of the oldest pending one.
    shop.deliver("orders/create", shop.order([shop.line("SOCKS")]))
    with shop.hub.engine.begin() as conn:
        conn.execute(
            sa.update(inbox)
            .where(inbox.c.status == "pending")
            .values(received_at=now - timedelta(seconds=90))
        )
    m = scrape(shop)
    assert sample(m, "retailhub_deliveries", source="shopify", status="pending") == 1
    assert sample(m, "retailhub_deliveries_received_total", source="shopify") == 4
    assert 90 <= (sample(m, "retailhub_processing_lag_seconds") or 0) < 150


def test_metrics_of_an_empty_hub_have_no_made_up_match_rate(db_url: str):
    shop = open_shop(db_url)
    m = scrape(shop)
    assert sample(m, "retailhub_processing_lag_seconds") == 0
    assert not any(name == "retailhub_settlement_match_rate" for name, _ in m)


# -- correlation id ------------------------------------------------------------------------


def test_intake_and_processing_log_the_inbox_rows_correlation_id(db_url: str):
    shop = open_shop(db_url)
    out = io.StringIO()
    configure_logging(stream=out, level="DEBUG")  # "applied" is a debug line (hot path)
    try:
        receipt = shop.deliver("orders/create", shop.order([shop.line("SHIRT-M")]))
        shop.process()
        shop.deliver("orders/create", b"{}", secret="wrong")
    finally:
        configure_logging()
    with shop.hub.engine.connect() as conn:
        stored = conn.execute(
            sa.select(inbox.c.correlation_id).where(inbox.c.id == receipt.inbox_id)
        ).scalar_one()
    logged = [json.loads(line) for line in out.getvalue().splitlines()]
    mine = [line for line in logged if line.get("correlation_id") == stored]
    intake = [line for line in mine if line["logger"] == "retailhub.intake"]
    assert [line["event"] for line in intake] == ["delivery.received"]
    assert intake[0]["source"] == "shopify" and intake[0]["topic"] == "orders/create"
    assert intake[0]["inbox_id"] == receipt.inbox_id and intake[0]["event_id"]
    processing = [line for line in mine if line["logger"] != "retailhub.intake"]
    assert processing, "processing logged nothing with the delivery's correlation id"
    rejected = [line for line in logged if line["event"] == "delivery.rejected"]
    assert len(rejected) == 1 and rejected[0]["level"] == "warning"
    assert rejected[0]["correlation_id"] not in (None, stored)
    assert rejected[0]["exception_id"] == open_exception(shop, "signature_failure")["id"]


# -- SLA alerts ----------------------------------------------------------------------------


class Receiver:
    """A local webhook receiver: records POSTs; answers each path from a script of statuses."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.script: dict[str, list[int]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append((self.path, json.loads(body)))
                queue = receiver.script.get(self.path, [])
                status = queue.pop(0) if queue else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"try later")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def paths(self) -> list[str]:
        return [p for p, _ in self.posts]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    thread = threading.Thread(target=r.server.serve_forever, daemon=True)
    thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_breached_exceptions_alert_their_teams_once_and_failed_posts_retry(
    db_url: str, receiver: Receiver
):
    shop = open_shop(
        db_url,
        extra_config=(
            "[alerts.webhooks]\n"
            f'ecommerce = "{receiver.url}/ecommerce"\n'
            f'it = "{receiver.url}/it"\n'
            f'finance = "http://127.0.0.1:{closed_port()}/finance"\n'
        ),
    )
    now = shop.hub.clock()
    shop.deliver("orders/create", shop.order([shop.line("GHOST-TEE")]))
    shop.deliver("orders/create", b"{}", secret="wrong")
    shop.process()
    ghost = open_exception(shop, "unknown_sku")
    bad_sig = open_exception(shop, "signature_failure")
    variance = raise_problem(shop, Problem(ProblemType.SETTLEMENT_VARIANCE, "short by 0.10"))
    not_yet = raise_problem(
        shop, Problem(ProblemType.STOCK_DRIFT, "web shows 3, we hold 2", subject="sku:TEE-L")
    )
    ignored = raise_problem(shop, Problem(ProblemType.OVERSELL, "sold 2 of 1", subject="x"))
    no_hook = raise_problem(
        shop, Problem(ProblemType.NEGATIVE_STOCK, "store ops has no URL", subject="sku:SOCKS")
    )
    for eid in (ghost["id"], bad_sig["id"], variance, ignored, no_hook):
        set_due(shop, eid, now - timedelta(minutes=30))
    set_due(shop, not_yet, now + timedelta(minutes=30))
    with shop.hub.uow() as uow:
        exception_actions.ignore(uow, ignored, "known oversell", now)
        uow.commit()
    receiver.script["/it"] = [503]

    first = {r.exception_id: r for r in send_due_alerts(shop.hub, timeout=2.0)}

    assert set(first) == {ghost["id"], bad_sig["id"], variance, no_hook}  # due, unresolved
    assert first[ghost["id"]].outcome == "sent" and first[ghost["id"]].status == 200
    assert first[bad_sig["id"]].outcome == "failed" and first[bad_sig["id"]].status == 503
    assert first[variance].outcome == "failed" and first[variance].status is None
    assert "ConnectError" in first[variance].answer
    assert first[no_hook].outcome == "no-webhook" and first[no_hook].team == "store_ops"
    assert sorted(receiver.paths()) == ["/ecommerce", "/it"]  # one POST each, the owner's URL
    body = dict(receiver.posts)["/ecommerce"]
    assert body["kind"] == "sla_breach" and body["exception"]["id"] == ghost["id"]
    assert body["exception"]["owner"] == "ecommerce" and body["overdue_seconds"] >= 30 * 60
    assert "GHOST-TEE" in body["text"]
    assert body["exception"]["correlation_id"] == ghost_correlation(shop, ghost["id"])

    second = {r.exception_id: r.outcome for r in send_due_alerts(shop.hub, timeout=2.0)}

    # The delivered alert is not repeated; the failed ones are tried again, once each.
    assert second == {bad_sig["id"]: "sent", variance: "failed", no_hook: "no-webhook"}
    assert sorted(receiver.paths()) == ["/ecommerce", "/it", "/it"]
    with shop.hub.engine.connect() as conn:
        tried = alerts_repo.attempts(conn, bad_sig["id"])
        assert [a["status"] for a in tried] == [503, 200]
        assert tried[0]["answer"] == "try later" and tried[0]["team"] == "it"
        assert alerts_repo.attempts(conn, not_yet) == []
        assert alerts_repo.attempts(conn, no_hook) == []  # nothing was sent: nothing recorded

    set_due(shop, variance, None)  # no longer breaching (say the target was raised)
    assert {r.exception_id for r in send_due_alerts(shop.hub, timeout=2.0)} == {no_hook}
    assert len(receiver.posts) == 3


def ghost_correlation(shop: Shop, exception_id: int) -> str | None:
    with shop.hub.engine.connect() as conn:
        return conn.execute(
            sa.select(exceptions.c.correlation_id).where(exceptions.c.id == exception_id)
        ).scalar_one()


def test_nothing_due_sends_nothing(db_url: str, receiver: Receiver):
    shop = open_shop(db_url, extra_config=f'[alerts.webhooks]\nit = "{receiver.url}/it"\n')
    shop.deliver("orders/create", b"{}", secret="wrong")
    set_due(
        shop,
        open_exception(shop, "signature_failure")["id"],
        datetime.now(UTC) + timedelta(minutes=1),
    )
    assert send_due_alerts(shop.hub) == []
    assert receiver.posts == []


def test_cli_alerts_send_json_reports_each_attempt_and_fails_on_a_failed_post(
    db_url: str, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from typer.testing import CliRunner

    from retailhub.demo.retailer import config_text
    from retailhub.entrypoints.cli.alerts import alerts_app
    from retailhub.entrypoints.cli.common import state

    hooks = f'[alerts.webhooks]\nit = "{receiver.url}/it/secret-token"\n'
    shop = open_shop(db_url, extra_config=hooks)
    shop.deliver("orders/create", b"{}", secret="wrong")
    eid = open_exception(shop, "signature_failure")["id"]
    set_due(shop, eid, datetime.now(UTC) - timedelta(minutes=1))
    config = tmp_path / "retailhub.toml"
    config.write_text(config_text(SECRET) + "\n" + hooks)
    monkeypatch.setattr(state, "db", db_url)
    monkeypatch.setattr(state, "config", config)
    receiver.script["/it/secret-token"] = [500]

    failed = CliRunner().invoke(alerts_app, ["send", "--json"])
    assert failed.exit_code == 1, failed.output
    (result,) = json.loads(failed.stdout)
    assert result["exception_id"] == eid and result["outcome"] == "failed"
    assert result["status"] == 500 and "secret-token" not in result["url"]  # redacted

    sent = CliRunner().invoke(alerts_app, ["send", "--json"])
    assert sent.exit_code == 0, sent.output
    assert [r["outcome"] for r in json.loads(sent.stdout)] == ["sent"]
    again = CliRunner().invoke(alerts_app, ["send"])
    assert again.exit_code == 0 and "no exception is past its SLA" in again.stdout
    history = CliRunner().invoke(alerts_app, ["history", "--exception", str(eid), "--json"])
    assert history.exit_code == 0, history.output
    assert [(h["status"], h["team"]) for h in json.loads(history.stdout)] == [
        (500, "it"),
        (200, "it"),
    ]
