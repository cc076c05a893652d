"""A worker killed with SIGKILL mid-drain, then restarted, ends exactly where a clean run ends.

Two identical inboxes are filled with the same signed trading day (nothing processed). Database
A is drained by ``retailhub work --once --batch-size 5`` in a subprocess that is SIGKILLed once
the inbox shows applied deliveries *and* pending ones, then drained again to completion.
Database B is drained in one uninterrupted run. Ledger, stock, documents and inbox must match.

A real subprocess and a real SIGKILL are the point: no ``finally``, no rollback handler, no
connection close runs in the worker, so only the database's own atomicity protects us. On
SQLite the second database is a byte copy (``sqlite3`` backup API) of the first after intake.
On PostgreSQL (a schema per database, same ``db_url`` conventions as ``tests/conftest.py``) the
two inboxes are filled independently by the same deterministic intake, so only timestamps and
correlation ids differ, which nothing compared here depends on.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from retailhub import config
from retailhub.adapters.storage import queries
from retailhub.adapters.storage.tables import (
    exceptions,
    fulfilments,
    inbox,
    inventory_movements,
    inventory_positions,
    journal_entries,
    journal_lines,
    order_lines,
    orders,
    refund_lines,
    refunds,
)
from retailhub.bootstrap import bootstrap
from retailhub.demo.retailer import config_text
from retailhub.demo.run import load_retailer, send
from retailhub.demo.trading_day import TradingDay

pytestmark = pytest.mark.slow

SECRET = "crash-test-secret-0123456789abcdef0123456789"
SEED = 7
ORDERS = 400  # ≈1,000 deliveries, ~180 batches of 5
BATCH = "5"  # small batches: many commits to be killed between, at any speed
CLI = Path(sys.executable).parent / "retailhub"
COUNTED = (
    orders,
    order_lines,
    fulfilments,
    refunds,
    refund_lines,
    journal_entries,
    journal_lines,
    inventory_movements,
    exceptions,
)


def fill_inbox(cfg: Path, url: str) -> int:
    """Migrate, load the demo retailer and send a trading day into the inbox; apply nothing."""
    hub = bootstrap(config.load(cfg), url)
    try:
        items = load_retailer(hub, SEED)
        deliveries = TradingDay(items, SECRET, SEED).generate(ORDERS)
        counts = send(hub, deliveries)
    finally:
        hub.engine.dispose()
    return counts["accepted"]


def worker(cfg: Path, url: str) -> subprocess.Popen[bytes]:
    assert CLI.exists(), f"console script {CLI} not installed (pip install -e .)"
    return subprocess.Popen(
        [str(CLI), "--db", url, "--config", str(cfg), "work", "--once", "--batch-size", BATCH],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # stderr is a pipe nobody reads while it runs: keep the worker's logs to warnings.
        env={**os.environ, "NO_COLOR": "1", "RETAILHUB_LOG_LEVEL": "WARNING"},
    )


def finish(proc: subprocess.Popen[bytes]) -> None:
    out, errs = proc.communicate(timeout=300)
    assert proc.returncode == 0, f"worker exited {proc.returncode}:\n{errs.decode()}{out.decode()}"


def inbox_status(url: str) -> Generator[dict[str, int], None, None]:
    """Yield the inbox status counts as often as asked, read-only, without blocking the worker."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            while True:
                yield dict(conn.execute("select status, count(*) from inbox group by status"))
        finally:
            conn.close()
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as c:
            while True:
                yield {
                    s: int(n)
                    for s, n in c.execute(
                        sa.text("select status, count(*) from inbox group by status")
                    )
                }
    finally:
        engine.dispose()


def crash_and_recover(cfg: Path, url: str, total: int) -> dict[str, int]:
    """Run the worker, SIGKILL it mid-drain, restart it to completion; return counts at kill."""
    proc = worker(cfg, url)
    seen: dict[str, int] = {}
    polls = inbox_status(url)
    try:
        for seen in polls:
            if seen.get("applied", 0) >= total // 3 and seen.get("pending", 0) > 0:
                proc.send_signal(signal.SIGKILL)
                break
            if proc.poll() is not None:
                break
            time.sleep(0.003)
    finally:
        polls.close()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, (
        f"the worker finished (exit {proc.returncode}) before it could be killed mid-drain; "
        f"last inbox counts {seen}: raise ORDERS so applying takes longer"
    )
    assert seen.get("applied", 0) > 0 and seen.get("pending", 0) > 0, seen
    finish(worker(cfg, url))
    return seen


def snapshot(url: str) -> dict[str, Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:

            def rows(stmt: Any) -> list[tuple[Any, ...]]:
                return [tuple(r) for r in c.execute(stmt)]

            je, jl, mv = journal_entries.c, journal_lines.c, inventory_movements.c
            return {
                "trial_balance": queries.trial_balance(c),
                "positions": rows(
                    sa.select(inventory_positions).order_by(
                        inventory_positions.c.sku, inventory_positions.c.location
                    )
                ),
                "counts": {
                    t.name: c.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                    for t in COUNTED
                },
                "inbox": rows(
                    sa.select(
                        inbox.c.event_id, inbox.c.topic, inbox.c.status, inbox.c.waiting_on
                    ).order_by(inbox.c.id)
                ),
                "journal": Counter(
                    rows(
                        sa.select(
                            je.key,
                            je.entry_date,
                            je.rule,
                            je.reverses,
                            jl.account,
                            jl.amount,
                            jl.channel,
                            jl.location,
                        ).join(journal_lines, jl.entry_id == je.id)
                    )
                ),
                "movements": Counter(
                    rows(
                        sa.select(
                            mv.sku,
                            mv.location,
                            mv.kind,
                            mv.on_hand,
                            mv.reserved,
                            mv.in_transit,
                            mv.quarantined,
                            mv.reference,
                        )
                    )
                ),
                "exceptions": Counter(
                    rows(sa.select(exceptions.c.type, exceptions.c.status, exceptions.c.subject))
                ),
                "orders": rows(
                    sa.select(
                        orders.c.order_id,
                        orders.c.payment_status,
                        orders.c.captured,
                        orders.c.cancelled_at,
                        orders.c.shipping_recognised,
                    ).order_by(orders.c.order_id)
                ),
                "dup_journal_keys": rows(
                    sa.select(je.key).group_by(je.key).having(sa.func.count() > 1)
                ),
                "dup_fulfilments": rows(
                    sa.select(fulfilments.c.source, fulfilments.c.fulfilment_id)
                    .group_by(fulfilments.c.source, fulfilments.c.fulfilment_id)
                    .having(sa.func.count() > 1)
                ),
            }
    finally:
        engine.dispose()


def assert_same(crashed: dict[str, Any], clean: dict[str, Any]) -> None:
    assert crashed["dup_journal_keys"] == [] and crashed["dup_fulfilments"] == []
    assert clean["counts"]["journal_entries"] > 0 and clean["counts"]["fulfilments"] > 0
    for key in clean:
        a, b = crashed[key], clean[key]
        if isinstance(a, Counter):
            assert a == b, f"{key}: only after crash {dict(a - b)}; only in clean run {dict(b - a)}"
        elif isinstance(a, list) and a != b:
            diff = [(i, x, y) for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y]
            raise AssertionError(
                f"{key} differs (crashed, clean) {len(a)}/{len(b)} rows: {diff[:20]}"
            )
        else:
            assert a == b, key


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "retailhub.toml"
    path.write_text(config_text(SECRET))
    return path


def test_sigkilled_worker_recovers_to_the_clean_result_sqlite(tmp_path: Path, cfg: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    url_a, url_b = f"sqlite:///{a}", f"sqlite:///{b}"
    total = fill_inbox(cfg, url_a)
    with sqlite3.connect(a) as src, sqlite3.connect(b) as dst:
        src.backup(dst)
    src.close()
    dst.close()

    print("inbox at SIGKILL:", crash_and_recover(cfg, url_a, total), "of", total)
    finish(worker(cfg, url_b))

    crashed, clean = snapshot(url_a), snapshot(url_b)
    assert_same(crashed, clean)


@pytest.mark.postgres
def test_sigkilled_worker_recovers_to_the_clean_result_postgres(
    postgres_admin: sa.Engine, cfg: Path
) -> None:
    schemas = [f"t_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    with postgres_admin.begin() as conn:
        for s in schemas:
            conn.execute(sa.text(f"create schema {s}"))
    try:
        url_a, url_b = (
            postgres_admin.url.update_query_dict(
                {"options": f"-csearch_path={s}"}
            ).render_as_string(hide_password=False)
            for s in schemas
        )
        total = fill_inbox(cfg, url_a)
        assert fill_inbox(cfg, url_b) == total

        print("inbox at SIGKILL:", crash_and_recover(cfg, url_a, total), "of", total)
        finish(worker(cfg, url_b))

        assert_same(snapshot(url_a), snapshot(url_b))
    finally:
        with postgres_admin.begin() as conn:
            for s in schemas:
                conn.execute(sa.text(f"drop schema if exists {s} cascade"))
