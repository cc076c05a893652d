"""General-ledger benchmark: posting and trial balance at 1M and 10M journal lines on SQLite,
side by side with python-accounting, and hledger's balance report on the exported journal.

Run: ``make bench`` or ``.venv/bin/python bench/ledger.py [--lines 1000000 10000000]
[--accounting-lines 50000]`` (``--lines 20000 --accounting-lines 2000`` is a smoke run of
~15 s). python-accounting is not in ``requirements.lock``: ``make bench-deps`` installs it
(``bench/requirements-accounting.txt``); without it that side is skipped and says so.

A retail year of journal entries is generated from a fixed seed, deterministically (the first
K lines of a larger run are the lines of a K-line run): card sales in two stores (5 lines:
clearing, sales, sales tax, COGS, inventory), web sales shipped from the warehouse (6, with
shipping income), marketplace sales net of commission (6), refunds (5) and gateway payouts
(4: bank, fees, reserve, clearing); ~5.35 lines an entry, one currency, tax by jurisdiction.
Generation is not timed; turning the line specs into each library's own objects is.

* retailhub: each size on a fresh migrated SQLite file (``bootstrap.make_engine``,
  ``migrate.upgrade``), through the hub's posting path: ``JournalEntry`` objects (balance
  checked), ``SqlUnitOfWork.ledger.post`` and ``uow.commit()`` every ``--batch`` entries. The
  trial balance is timed both as the CLI reads it (``queries.trial_balance``: debits and
  credits per account) and as the repository computes it (``SqlLedgerRepository.trial_balance``,
  net per account); the median of ``--tb-repeat`` runs.
* python-accounting: the same entries, one compound ``JournalEntry`` each (the first line is
  the main account, the rest ``LineItem``s, each debited or credited), ``post(session)``, on its
  own SQLite file through the same ``make_engine`` (WAL, ``synchronous=NORMAL``: the same
  durability settings as ours). Its trial balance is its ``reports.TrialBalance``. It posts
  150-230 lines a second, fewer as its ledger grows, so it runs at ``--accounting-lines``
  only, and retailhub is run again at exactly that size for the like-for-like ratios. Sizes
  are printed with every figure; nothing is extrapolated.
* hledger: the ledger exported with ``adapters.exports.ledger`` (``transactions`` +
  ``hledger``, what ``retailhub ledger export --format hledger`` writes), then
  ``hledger -f FILE balance --flat -O csv`` timed (median of ``--hledger-repeat``), on sizes up
  to 1M (``--hledger-10m`` for larger ones: hledger 1.25 held ~3 GB per million lines here, so
  10M would not fit in this machine's 24 GB).

Every trial balance is checked against the balances the generator planted, per account; the
exit status is 1 if any differs. Entries are dated from 2 January: python-accounting 2.0.0's
``TrialBalance`` counts entries dated on the first day of the reporting period twice (its opening
balance sums the movement up to the end of that day, and the period movement sums it again).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from retailhub.adapters.exports import ledger as ledger_exports
from retailhub.adapters.storage import migrate, queries
from retailhub.adapters.storage.uow import SqlUnitOfWork
from retailhub.bootstrap import make_engine
from retailhub.domain.ledger import JournalEntry, JournalLine, SourceRef
from retailhub.entrypoints.runtime import tune_gc

CURRENCY = "USD"
HLEDGER_MAX = 1_000_000  # hledger runs on sizes up to this unless --hledger-10m
TAX_BP = {"CA": 725, "NY": 888, "TX": 625}  # sales tax rates in basis points
STORES = (("store-1", "CA"), ("store-2", "NY"))
CLEARING = {
    "pos": "Assets:Clearing:Square",
    "web": "Assets:Clearing:Shopify-Payments",
    "amazon": "Assets:Clearing:Amazon",
}
PAYOUT_GATEWAYS = (("web", "Shopify-Payments"), ("pos", "Square"))
SALES, SHIPPING = "Income:Sales", "Income:Shipping"
COGS, INVENTORY, BANK = "Expenses:COGS", "Assets:Inventory", "Assets:Bank"
COMMISSIONS = "Expenses:Marketplace-Commissions:Amazon"

Line = tuple[str, int, str | None, str | None]  # account, signed minor units, channel, location


def tax_account(jurisdiction: str) -> str:
    return f"Liabilities:Sales-Tax:{jurisdiction}"


CHART = sorted(
    {*CLEARING.values(), SALES, SHIPPING, COGS, INVENTORY, BANK, COMMISSIONS}
    | {tax_account(j) for j in TAX_BP}
    | {f"Expenses:Payment-Fees:{g}" for _, g in PAYOUT_GATEWAYS}
    | {f"Assets:Gateway-Reserves:{g}" for _, g in PAYOUT_GATEWAYS}
)


@dataclass(frozen=True, slots=True)
class Spec:
    """One generated entry as plain values, before either library sees it."""

    kind: str
    document: str
    on: date
    memo: str
    lines: tuple[Line, ...]


@dataclass
class Ledgerbook:
    """A deterministic stream of retail entries and the balances they must add up to."""

    seed: int
    year: int
    rng: random.Random = field(init=False)
    count: int = 0
    lines: int = 0
    planted: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def batches(self, n_lines: int, per_batch: int) -> Iterator[list[Spec]]:
        """Entries in batches until at least ``n_lines`` lines have been produced."""
        while self.lines < n_lines:
            batch: list[Spec] = []
            while len(batch) < per_batch and self.lines < n_lines:
                batch.append(self.next())
            yield batch

    def next(self) -> Spec:
        rng = self.rng
        self.count += 1
        # From 2 January: python-accounting 2.0.0's TrialBalance counts entries dated on the
        # first day of the reporting period twice (in the opening balance, which runs to the
        # end of that day, and in the movement), so first-day entries would fail its check.
        on = date(self.year, 1, 2) + timedelta(days=rng.randrange(364))
        r = rng.random()
        if r < 0.35:
            spec = self._store_sale(on)
        elif r < 0.65:
            spec = self._web_sale(on)
        elif r < 0.80:
            spec = self._marketplace_sale(on)
        elif r < 0.90:
            spec = self._refund(on)
        else:
            spec = self._payout(on)
        self.lines += len(spec.lines)
        for account, amount, _, _ in spec.lines:
            self.planted[account] += amount
        return spec

    def _basket(self, jurisdiction: str) -> tuple[int, int, int]:
        net = self.rng.randint(199, 25_000)
        tax = (net * TAX_BP[jurisdiction] + 5_000) // 10_000  # half up, in whole cents
        cost = max(1, net * self.rng.randint(35, 65) // 100)
        return net, tax, cost

    def _store_sale(self, on: date) -> Spec:
        location, juris = self.rng.choice(STORES)
        net, tax, cost = self._basket(juris)
        dims = ("pos", location)
        lines = (
            (CLEARING["pos"], net + tax, *dims),
            (SALES, -net, *dims),
            (tax_account(juris), -tax, *dims),
            (COGS, cost, *dims),
            (INVENTORY, -cost, *dims),
        )
        return Spec("order", f"pos-{self.count:09d}", on, f"POS sale at {location}", lines)

    def _web_sale(self, on: date) -> Spec:
        juris = self.rng.choice(sorted(TAX_BP))
        net, tax, cost = self._basket(juris)
        ship = self.rng.choice((499, 799, 999))
        dims = ("web", "wh-1")
        lines = (
            (CLEARING["web"], net + ship + tax, *dims),
            (SALES, -net, *dims),
            (SHIPPING, -ship, *dims),
            (tax_account(juris), -tax, *dims),
            (COGS, cost, *dims),
            (INVENTORY, -cost, *dims),
        )
        return Spec("fulfilment", f"web-{self.count:09d}", on, "Web order shipped", lines)

    def _marketplace_sale(self, on: date) -> Spec:
        juris = self.rng.choice(sorted(TAX_BP))
        net, tax, cost = self._basket(juris)
        commission = (net + tax) * 15 // 100
        dims = ("amazon", "wh-1")
        lines = (
            (CLEARING["amazon"], net + tax - commission, *dims),
            (COMMISSIONS, commission, *dims),
            (SALES, -net, *dims),
            (tax_account(juris), -tax, *dims),
            (COGS, cost, *dims),
            (INVENTORY, -cost, *dims),
        )
        return Spec("order", f"amazon-{self.count:09d}", on, "Amazon order shipped", lines)

    def _refund(self, on: date) -> Spec:
        channel = self.rng.choice(("pos", "web"))
        location, juris = self.rng.choice(STORES) if channel == "pos" else ("wh-1", "TX")
        net, tax, cost = self._basket(juris)
        dims = (channel, location)
        lines = (
            (SALES, net, *dims),
            (tax_account(juris), tax, *dims),
            (CLEARING[channel], -(net + tax), *dims),
            (INVENTORY, cost, *dims),
            (COGS, -cost, *dims),
        )
        return Spec("refund", f"refund-{self.count:09d}", on, "Refund to card, restocked", lines)

    def _payout(self, on: date) -> Spec:
        channel, gateway = self.rng.choice(PAYOUT_GATEWAYS)
        gross = self.rng.randint(50_000, 2_000_000)
        fee, reserve = gross * 29 // 1000 + 30, max(1, gross // 100)
        dims = (channel, None)
        lines = (
            (BANK, gross - fee - reserve, *dims),
            (f"Expenses:Payment-Fees:{gateway}", fee, *dims),
            (f"Assets:Gateway-Reserves:{gateway}", reserve, *dims),
            (CLEARING[channel], -gross, *dims),
        )
        return Spec("settlement", f"payout-{self.count:09d}", on, f"{gateway} payout", lines)


# -- retailhub ---------------------------------------------------------------------------------


@dataclass
class Posted:
    side: str
    lines: int
    entries: int
    seconds: float
    planted: Counter[str]
    db: Path
    tb_seconds: float | None = None  # the CLI's trial balance (debits and credits)
    tb_net_seconds: float | None = None  # the repository's (net per account)
    tb_ok: bool | None = None
    tb_diff: dict[str, tuple[int, int]] = field(default_factory=dict)  # planted, reported
    rss_mib: float = 0.0
    note: str = ""

    @property
    def rate(self) -> float:
        return self.lines / self.seconds


def fresh(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def to_entry(spec: Spec) -> JournalEntry:
    lines = tuple(
        JournalLine(account, amount, CURRENCY, None, channel, location)
        for account, amount, channel, location in spec.lines
    )
    return JournalEntry(spec.on, spec.memo, SourceRef(spec.kind, spec.document), lines, "bench")


def post_retailhub(db: Path, n_lines: int, seed: int, year: int, batch: int) -> Posted:
    """Post through the hub's own path; only building the entries, posting and commits count."""
    engine = make_engine(f"sqlite:///{fresh(db)}")
    migrate.upgrade(engine)
    book = Ledgerbook(seed, year)
    seconds = 0.0
    with SqlUnitOfWork(engine) as uow:
        uow.ledger.open_accounts(CHART, date(year, 1, 1))  # the chart, as set-up records it
        uow.commit()
        for specs in book.batches(n_lines, batch):
            t0 = time.perf_counter()
            at = datetime.now(UTC)
            for spec in specs:
                uow.ledger.post(to_entry(spec), None, at)
            uow.commit()
            seconds += time.perf_counter() - t0
    engine.dispose()
    return Posted("retailhub", book.lines, book.count, seconds, book.planted, db)


def median_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def trial_balance_retailhub(posted: Posted, repeat: int) -> None:
    engine = make_engine(f"sqlite:///{posted.db}")
    with SqlUnitOfWork(engine) as uow:
        posted.tb_seconds, rows = median_time(lambda: queries.trial_balance(uow.conn), repeat)
        posted.tb_net_seconds, net = median_time(uow.ledger.trial_balance, repeat)
    engine.dispose()
    debits = sum(r["debits"] for r in rows)
    credits = sum(r["credits"] for r in rows)
    by_account = {r["account"]: r["balance"] for r in rows}
    posted.tb_diff = differences(posted.planted, by_account) or differences(
        posted.planted, {a: b for (a, _), b in net.items()}
    )
    posted.tb_ok = debits == credits and not posted.tb_diff


def nonzero(balances: Counter[str] | dict[str, int]) -> dict[str, int]:
    return {a: b for a, b in balances.items() if b}


def differences(planted: Counter[str], found: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Accounts whose reported balance (minor units) is not the planted one."""
    return {
        a: (planted[a], found.get(a, 0))
        for a in sorted(set(nonzero(planted)) | set(nonzero(found)))
        if planted[a] != found.get(a, 0)
    }


# -- python-accounting -------------------------------------------------------------------------


def accounting_available() -> bool:
    try:
        import python_accounting  # noqa: F401
    except ImportError:
        return False
    return True


def accounting_type(account: str, types: Any) -> Any:
    """Our hierarchical account name as one of python-accounting's IFRS/GAAP account types."""
    if account == BANK:
        return types.BANK
    if account == INVENTORY:
        return types.INVENTORY
    if account.startswith("Assets:"):
        return types.CURRENT_ASSET
    if account.startswith("Liabilities:Sales-Tax"):
        return types.CONTROL  # as python-accounting's own examples keep tax
    if account.startswith("Liabilities:"):
        return types.CURRENT_LIABILITY
    if account.startswith("Income:"):
        return types.OPERATING_REVENUE
    if account == COGS:
        return types.DIRECT_EXPENSE
    return types.OPERATING_EXPENSE


def post_accounting(db: Path, n_lines: int, seed: int, year: int, repeat: int) -> Posted:
    """The same entries through python-accounting's models on its own SQLite file."""
    # Imported here: the package registers listeners on every ORM Session when imported.
    from python_accounting.database.session import get_session
    from python_accounting.models import Account, Base, Currency, Entity, LineItem
    from python_accounting.reports import TrialBalance
    from python_accounting.transactions import JournalEntry as PaJournalEntry

    engine = make_engine(f"sqlite:///{fresh(db)}")
    Base.metadata.create_all(engine)
    book = Ledgerbook(seed, year)
    half: tuple[int, float] | None = None  # lines and seconds at half way
    with get_session(engine) as session:
        entity = Entity(name="Bench Retail")
        session.add(entity)
        session.commit()  # also opens the entity's reporting period (the current year)
        usd = Currency(name="US Dollars", code=CURRENCY, entity_id=entity.id)
        session.add(usd)
        session.commit()
        chart = {
            name: Account(
                name=name,
                account_type=accounting_type(name, Account.AccountType),
                currency_id=usd.id,
                entity_id=entity.id,
            )
            for name in CHART
        }
        session.add_all(chart.values())
        session.commit()
        ids = {name: a.id for name, a in chart.items()}
        names = {v: k for k, v in ids.items()}

        seconds = 0.0
        for specs in book.batches(n_lines, 1):
            spec = specs[0]
            t0 = time.perf_counter()
            (main, main_amount, _, _), *rest = spec.lines
            entry = PaJournalEntry(
                narration=spec.memo,
                reference=spec.document,
                transaction_date=datetime(spec.on.year, spec.on.month, spec.on.day, 12),
                account_id=ids[main],
                entity_id=entity.id,
                credited=main_amount < 0,
                main_account_amount=Decimal(abs(main_amount)).scaleb(-2),
                compound=True,
            )
            session.add(entry)
            items = [
                LineItem(
                    narration=spec.memo,
                    account_id=ids[account],
                    amount=Decimal(abs(amount)).scaleb(-2),
                    credited=amount < 0,
                    entity_id=entity.id,
                )
                for account, amount, _, _ in rest
            ]
            session.add_all(items)
            session.flush()  # line items must have ids before they join the entry
            entry.line_items.update(items)
            session.add(entry)
            session.flush()
            entry.post(session)
            seconds += time.perf_counter() - t0
            if half is None and book.lines >= n_lines / 2:
                half = (book.lines, seconds)  # is the rate flat with size? compare the halves
        posted = Posted("python-accounting", book.lines, book.count, seconds, book.planted, db)
        if half is not None and book.lines > half[0]:
            first = half[0] / half[1]
            second = (book.lines - half[0]) / (seconds - half[1])
            posted.note = f"first half {first:,.0f} lines/s, second half {second:,.0f} lines/s"

        end = datetime(year, 12, 31, 23, 59, 59)
        posted.tb_seconds, report = median_time(lambda: TrialBalance(session, end), repeat)
        theirs: dict[str, int] = {}
        for types in report.accounts.values():
            for categories in types.values():
                for category in categories.values():
                    for account in category["accounts"]:
                        cents = Decimal(account.closing).scaleb(2).quantize(Decimal(1))
                        theirs[names[account.id]] = int(cents)
        totals_equal = Decimal(report.balances["debit"]) == abs(Decimal(report.balances["credit"]))
        posted.tb_diff = differences(posted.planted, theirs)
        posted.tb_ok = totals_equal and not posted.tb_diff
    engine.dispose()
    return posted


# -- hledger -----------------------------------------------------------------------------------


@dataclass
class HledgerRun:
    lines: int
    export_seconds: float
    journal_mib: float
    seconds: float
    runs: list[float]
    rss_mib: float
    ok: bool


def export_hledger(db: Path, journal: Path, chunk: int = 10_000) -> None:
    """Stream the exporter's hledger text to a file, ``chunk`` transactions at a time."""
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn, journal.open("w") as out:
        pending: list[ledger_exports.Transaction] = []
        for txn in ledger_exports.transactions(conn):
            pending.append(txn)
            if len(pending) == chunk:
                out.write(ledger_exports.hledger(pending) + "\n")
                pending = []
        out.write(ledger_exports.hledger(pending))
    engine.dispose()


def run_child(argv: list[str], stdout: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one child process, its output sent to ``stdout``."""
    with stdout.open("w") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {err[:500]}")
    if proc.stderr:
        proc.stderr.close()
    return seconds, usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024) / 2**20


def hledger_balance(hledger: str, posted: Posted, work: Path, repeat: int) -> HledgerRun:
    journal = work / f"ledger-{posted.lines}.journal"
    t0 = time.perf_counter()
    export_hledger(posted.db, journal)
    export_seconds = time.perf_counter() - t0
    out = work / f"balance-{posted.lines}.csv"
    argv = [hledger, "-f", str(journal), "balance", "--flat", "--no-total", "-O", "csv"]
    runs, peak = [], 0.0
    for _ in range(repeat):
        seconds, rss = run_child(argv, out)
        runs.append(seconds)
        peak = max(peak, rss)
    theirs = {
        row[0]: int(Decimal(row[1].split()[0]).scaleb(2))
        for row in csv.reader(io.StringIO(out.read_text()))
        if row and row[0] != "account"
    }
    size = journal.stat().st_size / 2**20
    return HledgerRun(
        posted.lines,
        export_seconds,
        size,
        statistics.median(runs),
        runs,
        peak,
        nonzero(theirs) == nonzero(posted.planted),
    )


# -- the run -----------------------------------------------------------------------------------


def max_rss_mib() -> float:
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: KiB on Linux, bytes on macOS
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def print_posted(p: Posted, label: str, repeats: list[float] | None = None) -> None:
    runs = f" (runs: {', '.join(f'{s:.2f}s' for s in repeats)})" if repeats else ""
    print(
        f"  {label}: {p.lines:,} lines in {p.entries:,} entries posted in {p.seconds:.2f}s = "
        f"{p.rate:,.0f} lines/s{runs}; trial balance {p.tb_seconds:.3f}s"
        + (f" (net per account {p.tb_net_seconds:.3f}s)" if p.tb_net_seconds else "")
        + f"; matches the planted balances: {'yes' if p.tb_ok else 'NO'}"
        + f" [load average {os.getloadavg()[0]:.1f}]",
        flush=True,
    )
    for account, (planted, found) in p.tb_diff.items():
        print(f"    {account}: planted {planted:,}, trial balance {found:,} (minor units)")


def run_retailhub(
    size: int, args: argparse.Namespace, work: Path, year: int, repeat: int | None = None
) -> Posted:
    """``--repeat`` fresh databases for sizes up to ``--repeat-upto``; the median run is kept."""
    if repeat is None:
        repeat = args.repeat if size <= args.repeat_upto else 1
    runs = [
        post_retailhub(work / f"retailhub-{size}-{r}.db", size, args.seed, year, args.batch)
        for r in range(repeat)
    ]
    ranked = sorted(runs, key=lambda p: p.seconds)
    kept = ranked[len(ranked) // 2]
    for p in runs:
        if p is not kept:
            fresh(p.db)
    trial_balance_retailhub(kept, args.tb_repeat)
    kept.rss_mib = max_rss_mib()
    note = f"median of {repeat}" if repeat > 1 else "one run"
    print_posted(kept, f"retailhub, {note}", [p.seconds for p in runs] if repeat > 1 else None)
    return kept


def summary(
    ours: list[Posted],
    like: Posted | None,
    theirs: Posted | None,
    hl: list[HledgerRun],
    skipped: str | None,
) -> None:
    header = (
        f"{'side':<19} {'lines':>11} {'entries':>10} {'post s':>9} {'lines/s':>10} "
        f"{'TB s':>8} {'TB net s':>9} {'TB ok':>6} {'peak RSS MiB':>13}"
    )
    print("\nSummary (SQLite files under /tmp, this machine, this run; TB = trial balance,")
    print("median of the runs; peak RSS is the process's so far, cumulative in run order)")
    print(header)
    print("-" * len(header))
    rows = [*ours, *([like] if like else []), *([theirs] if theirs else [])]
    for p in rows:
        net = f"{p.tb_net_seconds:.3f}" if p.tb_net_seconds is not None else "-"
        print(
            f"{p.side:<19} {p.lines:>11,} {p.entries:>10,} {p.seconds:>9.2f} {p.rate:>10,.0f} "
            f"{p.tb_seconds or 0:>8.3f} {net:>9} {'yes' if p.tb_ok else 'NO':>6} "
            f"{p.rss_mib:>13,.0f}"
        )
    if theirs and like:
        print(f"\npython-accounting ran at {theirs.lines:,} lines only ({theirs.note}).")
        print(
            f"ratio posting lines/s, retailhub / python-accounting, both at {theirs.lines:,} "
            f"lines: {like.rate / theirs.rate:,.0f}x"
        )
        for p in ours:
            print(
                f"ratio posting lines/s, retailhub at {p.lines:,} / python-accounting at "
                f"{theirs.lines:,} lines (different sizes): {p.rate / theirs.rate:,.0f}x"
            )
        assert like.tb_seconds and theirs.tb_seconds
        print(
            f"ratio trial balance seconds, python-accounting / retailhub, both at "
            f"{theirs.lines:,} lines: {theirs.tb_seconds / like.tb_seconds:,.1f}x"
        )
    elif skipped:
        print(f"\npython-accounting: skipped ({skipped}); no ratios.")
    for h in hl:
        runs = ", ".join(f"{s:.2f}s" for s in h.runs)
        print(
            f"hledger balance on the {h.lines:,}-line export: {h.seconds:.2f}s (runs: {runs}); "
            f"export {h.export_seconds:.1f}s, {h.journal_mib:,.0f} MiB journal; hledger peak "
            f"RSS {h.rss_mib:,.0f} MiB; totals equal ours: {'yes' if h.ok else 'NO'}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument(
        "--accounting-lines",
        type=int,
        default=50_000,
        help="python-accounting's size, and retailhub's like-for-like run (0: skip)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1000, help="entries per commit (retailhub)")
    parser.add_argument("--repeat", type=int, default=3, help="posting runs per size")
    parser.add_argument(
        "--repeat-upto", type=int, default=1_000_000, help="larger sizes are posted once"
    )
    parser.add_argument("--tb-repeat", type=int, default=3, help="trial balance runs")
    parser.add_argument("--hledger-repeat", type=int, default=3)
    parser.add_argument(
        "--hledger-10m",
        action="store_true",
        help=f"hledger on sizes above {HLEDGER_MAX:,} too (hledger 1.25 held ~3 GB per 1M lines)",
    )
    parser.add_argument("--db-dir", type=Path, default=None, help="default: a temp dir in /tmp")
    args = parser.parse_args(argv)
    tune_gc()  # as the CLI and worker do
    year = date.today().year  # python-accounting posts only into the current year's period

    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{platform.platform()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
        f"seed {args.seed}, entries dated {year}",
        flush=True,
    )
    hledger = shutil.which("hledger")
    skipped = None
    if args.accounting_lines <= 0:
        skipped = "--accounting-lines 0"
    elif not accounting_available():
        skipped = "python-accounting is not installed: `make bench-deps`"
    ours: list[Posted] = []
    hl: list[HledgerRun] = []
    like = theirs = None
    with tempfile.TemporaryDirectory(prefix="retailhub-ledger-", dir="/tmp") as tmp:
        work = args.db_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for size in args.lines:
            print(f"\n{size:,} lines", flush=True)
            p = run_retailhub(size, args, work, year)
            ours.append(p)
            if hledger is None:
                print("  hledger: not installed, skipped (Debian: apt-get install hledger)")
            elif size <= HLEDGER_MAX or args.hledger_10m:
                h = hledger_balance(hledger, p, work, args.hledger_repeat)
                hl.append(h)
                print(f"  hledger balance: {h.seconds:.2f}s, totals equal: {h.ok}", flush=True)
            else:
                print(f"  hledger: skipped above {HLEDGER_MAX:,} lines (--hledger-10m)")
            fresh(p.db)
        if skipped is None:
            print(f"\nlike for like: {args.accounting_lines:,} lines", flush=True)
            # Short runs are at the mercy of a shared machine: take the median of more of them.
            like = run_retailhub(args.accounting_lines, args, work, year, max(args.repeat, 5))
            like.side = "retailhub"
            theirs = post_accounting(
                work / "python-accounting.db", args.accounting_lines, args.seed, year,
                args.tb_repeat,
            )  # fmt: skip
            theirs.rss_mib = max_rss_mib()
            print_posted(theirs, "python-accounting, one run")
    summary(ours, like, theirs, hl, skipped)
    ok = all(p.tb_ok for p in [*ours, *([like, theirs] if theirs and like else [])])
    return 0 if ok and all(h.ok for h in hl) else 1


if __name__ == "__main__":
    raise SystemExit(main())
