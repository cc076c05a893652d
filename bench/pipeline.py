"""Reproducible pipeline benchmark: intake (verify + inbox write) and apply, per size.

Run: ``make bench`` or ``.venv/bin/python bench/pipeline.py [--sizes 10000 100000] [--repeat 3]``
(a few minutes per 100k run; generation and loading are not timed).

For each size N a deterministic trading day of ≈N signed Shopify deliveries is generated
(outside the timed region) and pushed into a fresh SQLite file database holding the demo
retailer. Three figures are timed with ``time.perf_counter``:

* intake: ``services.intake.receive_many`` (signature check, dedup, inbox write) in chunks of
  500 deliveries per transaction, as ``retailhub ingest`` does (the webhook endpoint verifies
  and commits once per request instead);
* apply: ``hub.processor().run_until_idle()``;
* end to end: intake + apply.
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from retailhub import config
from retailhub.bootstrap import Hub, bootstrap
from retailhub.demo.retailer import DemoItem, config_text
from retailhub.demo.run import load_retailer
from retailhub.demo.trading_day import Delivery, TradingDay
from retailhub.entrypoints.runtime import tune_gc
from retailhub.services.intake import receive_many

SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
COMMIT_EVERY = 500
PROBE_ORDERS = 200


@dataclass(frozen=True)
class Result:
    size: int
    deliveries: int
    intake_s: float
    apply_s: float

    @property
    def total_s(self) -> float:
        return self.intake_s + self.apply_s

    @property
    def us_per_delivery(self) -> float:
        return self.total_s / self.deliveries * 1e6


def new_hub(db_path: Path) -> Hub:
    settings = config.parse(tomllib.loads(config_text(SECRET)))
    return bootstrap(settings, f"sqlite:///{db_path}")


def generate(items: list[DemoItem], seed: int, orders: int) -> list[Delivery]:
    return TradingDay(items, SECRET, seed).generate(orders)


def intake(hub: Hub, deliveries: list[Delivery]) -> None:
    """Verify and store, ``COMMIT_EVERY`` deliveries per transaction (as `retailhub ingest`)."""
    source = hub.sources["shopify"]
    with hub.uow() as uow:
        for i in range(0, len(deliveries), COMMIT_EVERY):
            chunk = deliveries[i:i + COMMIT_EVERY]
            receive_many(uow, source, [(d.headers, d.body) for d in chunk], hub.clock())
            uow.commit()


def run_size(size: int, per_order: float, seed: int, db_dir: Path, tag: str) -> Result:
    db_path = db_dir / f"bench-{size}-{tag}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    hub = new_hub(db_path)
    orders = max(1, round(size / per_order))
    # Stock in proportion to demand, so the day is not mostly sales from empty shelves.
    items = load_retailer(hub, seed, stock_scale=max(1, orders // 400))  # not timed
    deliveries = generate(items, seed, orders)  # not timed
    t0 = time.perf_counter()
    intake(hub, deliveries)
    t1 = time.perf_counter()
    hub.processor().run_until_idle()
    t2 = time.perf_counter()
    hub.engine.dispose()
    return Result(size, len(deliveries), t1 - t0, t2 - t1)


def deliveries_per_order(seed: int, db_dir: Path) -> float:
    hub = new_hub(db_dir / "bench-probe.db")
    items = load_retailer(hub, seed)
    hub.engine.dispose()
    return len(generate(items, seed, PROBE_ORDERS)) / PROBE_ORDERS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1,
                        help="Runs per size; the median run (by end-to-end time) is shown.")
    parser.add_argument("--db-dir", type=Path, default=None, help="Default: a temp directory.")
    args = parser.parse_args(argv)
    tune_gc()  # as the CLI does

    print(
        f"Python {platform.python_version()} ({sys.implementation.name}), "
        f"SQLite {sqlite3.sqlite_version}, {platform.platform()}"
    )
    print(
        f"intake commits every {COMMIT_EVERY} deliveries (the webhook endpoint commits per request)"
    )
    header = (
        f"{'size':>8} {'deliveries':>10} {'intake/s':>10} {'apply/s':>10} "
        f"{'e2e/s':>10} {'µs/delivery':>12}"
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="retailhub-bench-") as tmp:
        db_dir = args.db_dir or Path(tmp)
        db_dir.mkdir(parents=True, exist_ok=True)
        per_order = deliveries_per_order(args.seed, db_dir)
        print(f"{per_order:.3f} deliveries per order (seed {args.seed})\n")
        print(header)
        print("-" * len(header), flush=True)
        for size in args.sizes:
            runs = [
                run_size(size, per_order, args.seed, db_dir, str(r)) for r in range(args.repeat)
            ]
            r = sorted(runs, key=lambda r: r.total_s)[len(runs) // 2]  # the median run
            results.append(r)
            print(
                f"{r.size:>8} {r.deliveries:>10} {r.deliveries / r.intake_s:>10.0f} "
                f"{r.deliveries / r.apply_s:>10.0f} {r.deliveries / r.total_s:>10.0f} "
                f"{r.us_per_delivery:>12.1f}",
                flush=True,
            )
    if len(results) > 1:
        small = min(results, key=lambda r: r.size)
        large = max(results, key=lambda r: r.size)
        ratio = large.us_per_delivery / small.us_per_delivery
        print(f"\nflatness: per-delivery cost at {large.size} / at {small.size} = {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
