"""ATP query benchmark: one SKU's available-to-promise on one channel, over 100k SKUs × 50 locations.

Run: ``.venv/bin/python bench/atp.py [--skus 100000] [--locations 50] [--channels 3]
[--queries 100000] [--seed 1] [--sqlite]`` (``--skus 2000`` is a smoke run of a few seconds;
at full size the index builds in under ten seconds and the whole run takes about 20 s, or about
a minute with ``--sqlite``, which loads a 5 M-row, 320 MiB database file).

A deterministic stock picture is generated from the seed: every SKU has a position at every
location (on hand 0-255 at three locations in four, a reservation at one in four, stock in
transit at one in eight, safety stock 0-7). The channels: ``web`` sells from every location
counting stock in transit, ``marketplace`` from the first tenth (the warehouses) with up to 5
units of backorders, ``pos`` from the rest (the stores) with unlimited backorders; any further
channel sells from a random subset. Generation is streamed and not held in memory.

Timed one call at a time with ``time.perf_counter_ns`` (random SKU and channel per query,
chosen before timing), with the garbage collector tuned as the CLI runs it (``tune_gc``):

* ``AtpIndex.atp``, cold: the first ask for a SKU and channel (the channel's locations summed);
* ``AtpIndex.atp``, cached: the same queries again;
* a stock event: ``AtpIndex.apply(movement)`` then ``atp_all(sku)``, what the availability push
  does for each movement;
* with ``--sqlite``, the same queries straight from a file database holding the app's own
  ``inventory_positions`` table (primary key (sku, location), whose index serves
  ``WHERE sku = ?``): with the ``sqlite3`` module, and through ``queries.positions`` (SQLAlchemy
  Core, the path the API's ``/atp`` takes today); either way the plain ``atp()`` function
  then computes the figure.

The index's answers are checked against the plain ``atp()`` for a sample of SKUs, and the
SQLite answers against the index's for every query. Peak RSS (``resource.getrusage``) is
reported before and after the index is built.
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from retailhub.domain.availability import AtpIndex, AtpRule, Backorders, atp
from retailhub.domain.inventory import Movement, MovementKind, Position
from retailhub.entrypoints.runtime import tune_gc

AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CHECK_SKUS = 200
COLUMNS = "sku, location, on_hand, reserved, in_transit, quarantined, safety_stock"
Row = tuple[str, str, int, int, int, int, int]  # in COLUMNS order


def location_codes(count: int) -> list[str]:
    return [f"LOC-{n:03d}" for n in range(count)]


def sku_code(number: int) -> str:
    return f"SKU-{number:07d}"


def channel_rules(locations: list[str], channels: int, rng: random.Random) -> list[AtpRule]:
    warehouses = max(1, len(locations) // 10)
    rules = [
        AtpRule("web", tuple(locations), include_in_transit=True),
        AtpRule("marketplace", tuple(locations[:warehouses]), backorders=Backorders.up_to(5)),
        AtpRule("pos", tuple(locations[warehouses:]), backorders=Backorders.unlimited()),
    ][:channels]
    for n in range(len(rules), channels):
        picked = rng.sample(locations, rng.randint(1, len(locations)))
        rules.append(AtpRule(f"channel-{n}", tuple(picked)))
    return rules


def stock_rows(skus: int, locations: list[str], seed: int) -> Iterator[Row]:
    """Every position, SKU by SKU, from one 32-bit draw each (fast enough for 5 M)."""
    bits = random.Random(seed).getrandbits
    for number in range(skus):
        sku = sku_code(number)
        for location in locations:
            b = bits(32)
            on_hand = (b >> 2) & 0xFF if b & 3 else 0
            reserved = (b >> 10) & 0xF if not (b >> 14) & 3 else 0
            in_transit = (b >> 16) & 0x1F if not (b >> 21) & 7 else 0
            yield sku, location, on_hand, reserved, in_transit, 0, (b >> 24) & 7


def positions(rows: Iterator[Row]) -> Iterator[Position]:
    return (Position(*row) for row in rows)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def timed(calls: Sequence[Callable[[], object]]) -> tuple[list[int], list[object]]:
    clock = time.perf_counter_ns
    took: list[int] = []
    answers: list[object] = []
    for call in calls:
        t0 = clock()
        answer = call()
        t1 = clock()
        took.append(t1 - t0)
        answers.append(answer)
    return took, answers


def summary(name: str, took: list[int]) -> str:
    ordered = sorted(took)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] / 1000

    return (
        f"{name:<44} {len(ordered):>8} {rank(0.5):>9.1f} {rank(0.99):>9.1f} "
        f"{ordered[-1] / 1000:>10.1f}"
    )


def build_sqlite(path: Path, skus: int, locations: list[str], seed: int) -> float:
    """The app's inventory_positions table, filled with the same rows as the index."""
    from sqlalchemy.dialects import sqlite as sqlite_dialect
    from sqlalchemy.schema import CreateTable

    from retailhub.adapters.storage.tables import inventory_positions

    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    t0 = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=OFF")  # a bulk load into a throwaway file
    db.execute("PRAGMA synchronous=OFF")
    db.execute(str(CreateTable(inventory_positions).compile(dialect=sqlite_dialect.dialect())))
    with db:
        db.executemany(
            f"INSERT INTO inventory_positions ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            stock_rows(skus, locations, seed),
        )
    db.execute("ANALYZE")
    db.close()
    return time.perf_counter() - t0


def sqlite_figures(
    path: Path,
    queries: list[tuple[str, AtpRule]],
    expected: list[object],
) -> list[str]:
    from sqlalchemy import create_engine

    from retailhub.adapters.storage import queries as read

    lines = []
    db = sqlite3.connect(path)
    plan = db.execute(
        f"EXPLAIN QUERY PLAN SELECT {COLUMNS} FROM inventory_positions WHERE sku = ?", ("x",)
    ).fetchall()
    print(f"SQLite plan: {'; '.join(str(row[-1]) for row in plan)}")
    select = f"SELECT {COLUMNS} FROM inventory_positions WHERE sku = ?"

    def raw(sku: str, rule: AtpRule) -> Callable[[], int]:
        return lambda: atp([Position(*r) for r in db.execute(select, (sku,))], rule)

    took, answers = timed([raw(sku, rule) for sku, rule in queries])
    wrong = sum(a != e for a, e in zip(answers, expected, strict=True))
    lines.append(summary("sqlite3: SELECT … WHERE sku=? + atp()", took))
    db.close()

    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:

        def core(sku: str, rule: AtpRule) -> Callable[[], int]:
            return lambda: atp(read.positions(conn, sku), rule)

        took, answers = timed([core(sku, rule) for sku, rule in queries])
    engine.dispose()
    wrong += sum(a != e for a, e in zip(answers, expected, strict=True))
    lines.append(summary("SQLAlchemy queries.positions + atp()", took))
    if wrong:
        raise SystemExit(f"SQLite and the index disagree on {wrong} answers")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--locations", type=int, default=50)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--queries", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--sqlite", action="store_true", help="Also query a 5 M-row SQLite file (slow to build)."
    )
    parser.add_argument("--db-dir", type=Path, default=None, help="Default: a temp directory.")
    parser.add_argument("--default-gc", action="store_true", help="Leave the GC untuned.")
    args = parser.parse_args(argv)
    if args.skus < 1 or args.locations < 1 or args.channels < 1 or args.queries < 1:
        parser.error("--skus, --locations, --channels and --queries must be at least 1")

    rng = random.Random(args.seed)
    locations = location_codes(args.locations)
    rules = channel_rules(locations, args.channels, rng)
    print(
        f"Python {platform.python_version()} ({sys.implementation.name}), "
        f"SQLite {sqlite3.sqlite_version}, {platform.platform()}"
    )
    print(
        f"{args.skus:,} SKUs × {args.locations} locations = "
        f"{args.skus * args.locations:,} positions; seed {args.seed}"
    )
    for rule in rules:
        print(
            f"  {rule.channel}: {len(rule.locations)} locations, "
            f"in transit {'counted' if rule.include_in_transit else 'not counted'}, "
            f"backorders {rule.backorders.policy}"
            + (f" {rule.backorders.limit}" if rule.backorders.limit else "")
        )
    if not args.default_gc:
        tune_gc()

    # Queries and movements are drawn before anything is timed.
    queries = [(sku_code(rng.randrange(args.skus)), rng.choice(rules)) for _ in range(args.queries)]
    deltas = {  # (on hand, reserved) per unit
        MovementKind.SALE: (-1, 0),
        MovementKind.RECEIPT: (1, 0),
        MovementKind.RESERVATION: (0, 1),
    }
    movements = []
    for _ in range(args.queries):
        kind = rng.choice(list(deltas))
        qty = rng.randint(1, 5)
        sku, location = sku_code(rng.randrange(args.skus)), rng.choice(locations)
        on_hand, reserved = (qty * d for d in deltas[kind])
        movements.append(Movement(sku, location, kind, AT, on_hand=on_hand, reserved=reserved))
    sample = {sku_code(rng.randrange(args.skus)) for _ in range(CHECK_SKUS)}

    rss_before = rss_mib()
    held: dict[str, list[Position]] = {sku: [] for sku in sample}

    def keep_sample(stream: Iterator[Position]) -> Iterator[Position]:
        for p in stream:
            if p.sku in held:
                held[p.sku].append(p)
            yield p

    t0 = time.perf_counter()
    index = AtpIndex(rules, keep_sample(positions(stock_rows(args.skus, locations, args.seed))))
    build_s = time.perf_counter() - t0
    rss_after = rss_mib()
    print(
        f"\nindex built in {build_s:.1f} s (positions generated on the fly, included); "
        f"peak RSS {rss_before:.0f} MiB before, {rss_after:.0f} MiB after "
        f"(≈{rss_after - rss_before:.0f} MiB for the index)"
    )
    header = f"{'one call':<44} {'calls':>8} {'p50 µs':>9} {'p99 µs':>9} {'max µs':>10}"
    print(f"\n{header}\n{'-' * len(header)}", flush=True)

    def ask(sku: str, channel: str) -> Callable[[], int]:
        return lambda: index.atp(sku, channel)

    calls = [ask(sku, rule.channel) for sku, rule in queries]
    cold, answers = timed(calls)
    print(summary("AtpIndex.atp, cold (channel summed)", cold), flush=True)
    warm, again = timed(calls)
    print(summary("AtpIndex.atp, cached", warm), flush=True)
    if again != answers:
        raise SystemExit("cached answers differ from computed ones")
    for sku, mine in held.items():  # before any movement: the generated stock still holds
        expected = {rule.channel: atp(mine, rule) for rule in rules}
        if index.atp_all(sku) != expected:
            raise SystemExit(f"the index disagrees with atp() for {sku}")

    def event(movement: Movement) -> Callable[[], dict[str, int]]:
        def run() -> dict[str, int]:
            index.apply(movement)
            return index.atp_all(movement.sku)

        return run

    events, _ = timed([event(m) for m in movements])
    print(summary(f"apply(movement) + atp_all ({len(rules)} channels)", events), flush=True)

    if args.sqlite:
        with tempfile.TemporaryDirectory(prefix="retailhub-atp-") as tmp:
            db_dir = args.db_dir or Path(tmp)
            db_dir.mkdir(parents=True, exist_ok=True)
            path = db_dir / f"atp-{args.skus}x{args.locations}-{args.seed}.db"
            print(f"(building {path.name} …)", flush=True)
            load_s = build_sqlite(path, args.skus, locations, args.seed)
            size_mib = path.stat().st_size / 2**20
            for line in sqlite_figures(path, queries, answers):
                print(line, flush=True)
            print(f"\nSQLite file: {size_mib:.0f} MiB, built in {load_s:.0f} s (not timed above)")
    print(
        f"index answers checked against atp() for {len(held)} SKUs"
        + (", SQLite answers against the index for every query" if args.sqlite else "")
        + f"; peak RSS at the end: {rss_mib():.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
