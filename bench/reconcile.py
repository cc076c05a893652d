"""Reconciliation benchmark: N expected receipts against N matchable settlement lines.

Run: ``.venv/bin/python bench/reconcile.py [--receipts 1000000] [--seed 1] [--repeat 1]``
(``--receipts 10000`` is a smoke run of a second or two).

A month of payments is generated, deterministically from the seed and outside the timed
region, across four gateways: Stripe (USD) and Adyen (EUR) with transaction ids, PayPal (USD)
with ids plus a few daily batches, Amazon (USD) with order references only. The mix of the N
receipts and N matchable lines:

* ~80% carry the gateway's transaction id on both sides (5% of them refunds; Stripe charges
  also get a FEE line with the same id);
* ~10% are Amazon orders known by order id only, some written as 2-3 component lines
  (Principal / Tax / Shipping) and some captured in 2-3 parts, plus a COMMISSION line each;
* ~8% have no id on the line: same amount, the line 0-3 days after the receipt;
* ~1% are paid short (an amount variance), ~0.5% of receipts are never settled, ~0.5% of
  lines are unknown to the hub (the exact share makes the line count come out at N);
* a few PayPal batches: one line paying 3 receipts of a day.

The inputs are shuffled, so the engine's sort does real work. ``reconcile`` is timed with
``time.perf_counter`` (the median of ``--repeat`` runs), with the garbage collector tuned as the
CLI and worker run it (``tune_gc``: start-up objects frozen, fewer collections;
``--default-gc`` to compare). Peak memory is reported twice: the process's peak RSS
(``resource.getrusage``; inputs included) after the timed runs, and the peak of Python
allocations made by one further ``reconcile`` call under ``tracemalloc`` (the engine's working
set and its result; tracing slows that run, so it is not timed). The counts by outcome are
printed next to the ones the generator planted, as a check at scale.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import resource
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from retailhub.domain.payments import ExpectedReceipt, PaymentKind
from retailhub.domain.reconciliation import MatchPolicy, Outcome, Reconciliation, reconcile
from retailhub.domain.settlements import LineKind, SettlementLine
from retailhub.entrypoints.runtime import tune_gc

START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 30
SPAN_S = DAYS * 86_400
POLICY = MatchPolicy()
WINDOW = timedelta(days=POLICY.date_window_days)

# Amazon orders cycle through (receipts, lines) patterns whose totals balance over a cycle:
# most orders are one capture and one line; some split into components, some captured in parts.
AMAZON_PATTERNS = [(1, 1)] * 7 + [(1, 2), (1, 3), (2, 1), (3, 1)]
AMAZON_COMPONENTS = ("ItemPrice/Principal", "ItemPrice/Tax", "ItemPrice/Shipping")


@dataclass
class Month:
    receipts: list[ExpectedReceipt]
    lines: list[SettlementLine]  # matchable lines and fee / commission lines
    planted: Counter[Outcome] = field(default_factory=Counter)

    @property
    def matchable(self) -> int:
        return sum(1 for ln in self.lines if ln.matchable)


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.receipts: list[ExpectedReceipt] = []
        self.lines: list[SettlementLine] = []
        self.line_no: Counter[str] = Counter()
        self.payouts: dict[tuple[str, int], str] = {}

    def amount(self) -> int:
        if self.rng.random() < 0.5:  # a price point: 4.99, 19.99, …
            return self.rng.randint(1, 300) * 100 - 1
        return self.rng.randint(150, 60_000)  # a basket with tax

    def when(self) -> datetime:
        return START + timedelta(seconds=self.rng.randrange(SPAN_S))

    def later(self, at: datetime, max_s: int) -> datetime:
        return at + timedelta(seconds=self.rng.randrange(max_s + 1))

    def receipt(
        self,
        gateway: str,
        currency: str,
        amount: int,
        at: datetime,
        txn: str | None = None,
        order: str | None = None,
    ) -> None:
        kind = PaymentKind.CAPTURE if amount >= 0 else PaymentKind.REFUND
        rid = f"rcpt-{len(self.receipts):09d}"
        self.receipts.append(ExpectedReceipt(gateway, kind, amount, currency, at, txn, order, rid))

    def line(
        self,
        gateway: str,
        currency: str,
        kind: LineKind,
        amount: int,
        at: datetime,
        txn: str | None = None,
        order: str | None = None,
        description: str = "",
    ) -> None:
        day = (at - START).days
        payout = self.payouts.get((gateway, day))
        if payout is None:
            payout = self.payouts[(gateway, day)] = f"{gateway}-payout-{day:03d}"
        self.line_no[gateway] += 1
        self.lines.append(
            SettlementLine(
                gateway, payout, self.line_no[gateway], kind, amount, currency, at, txn, order,
                description,
            )
        )  # fmt: skip


def generate(n: int, seed: int) -> Month:
    """A month of N receipts and N matchable lines (plus fees), with known outcomes."""
    g = _Gen(seed)
    rng = g.rng
    planted: Counter[Outcome] = Counter()
    missing = round(n * 0.005)
    fuzzy = round(n * 0.08)
    short = round(n * 0.01)
    per_cycle = sum(r for r, _ in AMAZON_PATTERNS)
    amazon_orders = round(n * 0.10 * len(AMAZON_PATTERNS) / per_cycle)
    amazon_receipts = sum(
        AMAZON_PATTERNS[k % len(AMAZON_PATTERNS)][0] for k in range(amazon_orders)
    )
    batches = min(round(n * 0.0005 / 3), 4 * DAYS)  # ≤ 4 a day keeps a day's group ≤ 12
    by_id = max(0, n - missing - fuzzy - short - amazon_receipts - 3 * batches)
    id_gateways = (("stripe", "USD", "ch_"), ("adyen", "EUR", "psp"), ("paypal", "USD", "PAY-"))

    # With transaction ids on both sides; a few paid short.
    for k in range(by_id + short):
        gateway, currency, prefix = id_gateways[k % 3]
        amount = g.amount()
        if rng.random() < 0.05:
            amount, kind, prefix = -amount, LineKind.REFUND, "re_"
        else:
            kind = LineKind.CHARGE
        at, tail = g.when(), rng.getrandbits(32)
        g.receipt(gateway, currency, amount, at, f"{prefix}{k:09d}{tail:08x}")
        txn = f"{prefix}{k:09d}{tail:08x}"  # an equal string, not the same object: as parsed
        paid = amount - rng.randint(1, 500) if k >= by_id else amount
        settled_at = g.later(at, 2 * 86_400)
        g.line(gateway, currency, kind, paid, settled_at, txn)
        if gateway == "stripe" and kind is LineKind.CHARGE:
            g.line(gateway, currency, LineKind.FEE, -(amount * 29 // 1000 + 30), settled_at, txn)
    planted[Outcome.MATCHED] += by_id
    planted[Outcome.VARIANCE] += short

    # Amazon: order id only, components and part captures, a commission per order.
    for k in range(amazon_orders):
        n_receipts, n_lines = AMAZON_PATTERNS[k % len(AMAZON_PATTERNS)]
        order = f"11{k % 7 + 1}-{k:07d}-{rng.randrange(10**7):07d}"
        parts = [g.amount() for _ in range(n_receipts)]
        at = g.when()
        for part in parts:
            g.receipt("amazon", "USD", part, at, None, order)
        total = sum(parts)
        cuts = sorted(rng.randint(0, total) for _ in range(n_lines - 1))
        components = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
        posted = g.later(at, 3 * 86_400)
        for component, description in zip(components, AMAZON_COMPONENTS, strict=False):
            g.line("amazon", "USD", LineKind.CHARGE, component, posted, None, order, description)
        g.line("amazon", "USD", LineKind.COMMISSION, -(total * 15 // 100), posted, None, order)
    planted[Outcome.MATCHED] += amazon_orders

    # No id on the line: the same amount, 0-3 days later.
    for k in range(fuzzy):
        gateway, currency, _ = id_gateways[k % 2]
        amount, at = g.amount(), g.when()
        g.receipt(gateway, currency, amount, at, None, f"#{100_000 + k}" if k % 2 else None)
        g.line(gateway, currency, LineKind.CHARGE, amount, g.later(at, 3 * 86_400))
    planted[Outcome.MATCHED] += fuzzy

    # PayPal batches: one line for three receipts of one day (up to four batches a day).
    for k in range(batches):
        day = START + timedelta(days=k % DAYS)
        parts = [g.amount() for _ in range(3)]
        for part in parts:
            g.receipt("paypal", "USD", part, g.later(day, 80_000))
        g.line("paypal", "USD", LineKind.CHARGE, sum(parts), day + timedelta(seconds=86_000))
    planted[Outcome.MATCHED] += batches

    # Never settled.
    missing_from = len(g.receipts)
    for k in range(missing):
        gateway, currency, prefix = id_gateways[k % 2]
        g.receipt(gateway, currency, g.amount(), g.when(), f"{prefix}miss{k:09d}")

    # Unknown to the hub: as many as make the matchable line count N.
    unknown = max(0, n - sum(1 for ln in g.lines if ln.matchable))
    for k in range(unknown):
        gateway, currency, prefix = id_gateways[k % 2]
        g.line(gateway, currency, LineKind.CHARGE, g.amount(), g.when(), f"{prefix}unk{k:09d}")
    planted[Outcome.UNKNOWN] += unknown

    reach: dict[str, datetime] = {}
    for ln in g.lines:
        reach[ln.gateway] = max(reach.get(ln.gateway, ln.occurred_at), ln.occurred_at)
    for r in g.receipts[missing_from:]:
        overdue = reach[r.gateway] > r.occurred_at + WINDOW
        planted[Outcome.MISSING if overdue else Outcome.PENDING] += 1

    rng.shuffle(g.receipts)
    rng.shuffle(g.lines)
    return Month(g.receipts, g.lines, planted)


def max_rss_mib() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def run_once(month: Month) -> tuple[float, Reconciliation]:
    t0 = time.perf_counter()
    result = reconcile(month.receipts, month.lines, POLICY)
    return time.perf_counter() - t0, result


def traced_peak_mib(month: Month) -> float:
    """Peak Python allocations of one reconcile call (inputs were allocated before tracing)."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    result = reconcile(month.receipts, month.lines, POLICY)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del result
    return peak / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--receipts", type=int, default=1_000_000, help="N (default 1000000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="timed runs; the median is shown")
    parser.add_argument("--default-gc", action="store_true", help="leave the collector as is")
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the traced run")
    args = parser.parse_args(argv)

    print(
        f"Python {platform.python_version()} ({sys.implementation.name}), "
        f"{platform.platform()}, {os.cpu_count()} CPUs",
        flush=True,
    )
    t0 = time.perf_counter()
    month = generate(args.receipts, args.seed)
    fees = len(month.lines) - month.matchable
    print(
        f"generated {len(month.receipts)} receipts, {month.matchable} matchable lines "
        f"(+{fees} fee/commission lines) in {time.perf_counter() - t0:.1f}s (not timed)",
        flush=True,
    )
    rss_inputs = max_rss_mib()
    if not args.default_gc:
        tune_gc()  # as the CLI and worker do; the generated inputs are frozen out of collection

    times: list[float] = []
    result: Reconciliation | None = None
    for _ in range(args.repeat):
        result = None
        gc.collect()
        seconds, result = run_once(month)
        times.append(seconds)
    assert result is not None
    rss_peak = max_rss_mib()
    seconds = statistics.median(times)
    counts = result.counts()
    rate = result.match_rate
    del result
    traced = None if args.no_tracemalloc else traced_peak_mib(month)

    header = (
        f"{'receipts':>9} {'lines':>9} {'seconds':>8} {'lines/s':>9} {'traced MiB':>10} "
        f"{'RSS MiB':>8} {'match rate':>10}"
    )
    print()
    print(header)
    print("-" * len(header))
    print(
        f"{len(month.receipts):>9} {month.matchable:>9} {seconds:>8.2f} "
        f"{month.matchable / seconds:>9.0f} "
        f"{'-' if traced is None else f'{traced:.0f}':>10} {rss_peak:>8.0f} "
        f"{'-' if rate is None else f'{float(rate):.4%}':>10}"
    )
    print(
        f"\nruns: {', '.join(f'{t:.2f}s' for t in times)}; RSS after generating the inputs "
        f"{rss_inputs:.0f} MiB; gc {'default' if args.default_gc else 'tuned (tune_gc)'}"
    )
    print(f"\n{'outcome':<26} {'items':>9} {'planted':>9}")
    for outcome in Outcome:
        print(f"{outcome.value:<26} {counts[outcome]:>9} {month.planted[outcome]:>9}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
