"""The shop's books posted to QuickBooks Online, exactly once, through Intuit's rules.

Every test runs the real pipeline (Shopify deliveries processed into journal entries on SQLite
and PostgreSQL) and pushes with ``push_entries`` (or ``retailhub erp push``) to a fake
QuickBooks company on a real local HTTP server (``tests/fakes_quickbooks.py``) that enforces
Intuit's token rotation, throttling, ``requestid`` replay and validation. Time is simulated
(``FakeClock``), so an hour's token life or a minute's throttle passes in microseconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from quickbooks.objects.deposit import Deposit
from quickbooks.objects.journalentry import JournalEntry as QboJournalEntry
from quickbooks.objects.refundreceipt import RefundReceipt
from quickbooks.objects.salesreceipt import SalesReceipt
from typer.testing import CliRunner

from fakes_channels import FakeClock
from fakes_quickbooks import (
    CLIENT_ID,
    CLIENT_SECRET,
    FIRST_REFRESH_TOKEN,
    REALM,
    FakeQuickBooks,
)
from retail_shop import LOC, SECRET, T0, Shop, after, open_shop
from retailhub.adapters.connectors.erp import quickbooks
from retailhub.adapters.connectors.erp.accounts import AccountMap
from retailhub.adapters.connectors.erp.quickbooks.faults import parse_fault
from retailhub.adapters.storage.erp_repo import SqlErpPostingRepository, SqlTokenStore
from retailhub.demo.retailer import config_text
from retailhub.domain.events import SettlementReported
from retailhub.domain.ledger import JournalEntry, JournalLine, SourceRef
from retailhub.domain.settlements import LineKind, Settlement, SettlementLine
from retailhub.entrypoints.cli.main import app
from retailhub.services.erp_posting import (
    OutboundPosting,
    Posted,
    PushSummary,
    idempotency_key,
    push_entries,
)
from retailhub.services.handlers import ApplyContext, apply_event

FIXTURES = Path(__file__).parents[1] / "fixtures/erp/quickbooks"

# The hub's chart -> the fake company's (fakes_quickbooks.CHART): longest prefix wins.
ACCOUNTS = {
    "Assets:Bank": "35",
    "Assets:Clearing": "36",
    "Assets:Inventory": "37",
    "Liabilities:Customer-Deposits": "38",
    "Liabilities:Sales-Tax": "40",
    "Equity": "41",
    "Income:Sales": "79",
    "Income:Discounts": "80",
    "Income:Shipping": "81",
    "Income:Refund-Adjustments": "82",
    "Expenses:COGS": "90",
    "Expenses:Payment-Fees": "91",
    "Expenses": "92",
}
# With documents = true receipts deposit into Bank or Other Current Asset accounts only
# (Intuit's DepositToAccountRef), so customer deposits clear through an asset account.
DOCUMENT_ACCOUNTS = {**ACCOUNTS, "Liabilities:Customer-Deposits": "39"}
ITEMS = {
    "Income:Sales": "1",
    "Liabilities:Sales-Tax": "2",
    "Income:Shipping": "3",
    "Liabilities:Customer-Deposits": "4",
}


# -- the shop, the fake and the connector ----------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def qbo(clock: FakeClock) -> Iterator[FakeQuickBooks]:
    with FakeQuickBooks(clock=clock.monotonic) as fake:
        yield fake


def options(fake: FakeQuickBooks, **extra: Any) -> dict[str, Any]:
    """``[erp.quickbooks]`` as retailhub.toml would give it, pointed at the fake."""
    return {
        "realm_id": REALM,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": FIRST_REFRESH_TOKEN,
        "base_url": fake.url,
        "token_url": fake.token_url,
        "accounts": dict(ACCOUNTS),
        "departments": {"WH": "1", "STORE-1": "2", "STORE-2": "3"},
        "classes": {"web": "100", "pos": "200"},
        **extra,
    }


def connect(shop: Shop, fake: FakeQuickBooks, clock: FakeClock, **extra: Any) -> Any:
    """A fresh target, as a new ``retailhub erp push`` process would build it."""
    return quickbooks.from_options(
        options(fake, **extra),
        SqlTokenStore(shop.hub.engine, "quickbooks"),
        clock.now,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
    )


def push(shop: Shop, target: Any, **kw: Any) -> PushSummary:
    return push_entries(shop.hub.uow, target, "USD", shop.hub.clock, **kw)


def sell(shop: Shop, sku: str = "SHIRT-M", qty: int = 1, location: str = "WH") -> dict[str, Any]:
    """A web order for ``qty`` of ``sku``, shipped in full from ``location``."""
    line = shop.line(sku, qty)
    order = shop.order([line])
    shipped = shop.fulfilment(order, location, [(line.line_id, qty)], T0)
    shop.deliver("orders/create", order)
    shop.deliver("fulfillments/create", shipped)
    stats = shop.process()
    assert stats.failed == 0, shop.exceptions()
    return after(order, [shipped])


def entries(shop: Shop) -> dict[str, int]:
    """Entry key -> entry id, for every journal entry the hub holds."""
    with shop.hub.uow() as uow:
        rows = uow.conn.execute(
            sa.text("select id, source_kind, document_id, rule from journal_entries")
        ).all()
    return {f"{kind}:{doc}:{rule}": entry_id for entry_id, kind, doc, rule in rows}


def recorded(shop: Shop) -> list[dict[str, Any]]:
    with shop.hub.uow() as uow:
        return [dict(r) for r in SqlErpPostingRepository(uow.conn).posted("quickbooks")]


def hub_books(shop: Shop, accounts: dict[str, str]) -> dict[tuple[str, str], Decimal]:
    """The hub's trial balance in QuickBooks accounts (what QuickBooks' books must show)."""
    to_qbo = AccountMap("quickbooks", accounts)
    out: dict[tuple[str, str], Decimal] = {}
    with shop.hub.uow() as uow:
        rows = uow.conn.execute(
            sa.text(
                "select account, currency, sum(amount) "
                "from journal_lines group by account, currency"
            )
        )
        for account, currency, total in rows:
            key = (to_qbo(account), currency)
            out[key] = out.get(key, Decimal(0)) + Decimal(int(total)) / 100
    return {k: v for k, v in out.items() if v}


def doc_for(fake: FakeQuickBooks, entry_key: str) -> dict[str, Any]:
    (doc,) = [d for d in fake.created() if d["PrivateNote"].endswith(f"retailhub {entry_key}")]
    return doc


def lines_of(doc: dict[str, Any]) -> list[tuple[str, str, Decimal]]:
    out = []
    for line in doc["Line"]:
        detail = line["JournalEntryLineDetail"]
        out.append((detail["PostingType"], detail["AccountRef"]["value"], line["Amount"]))
    return out


class KilledAfterTheAnswer:
    """The process dies after QuickBooks accepted a document and before we recorded it."""

    name = "quickbooks"

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def post(self, posting: OutboundPosting) -> Posted:
        self.inner.post(posting)
        raise SystemExit("killed between QuickBooks' answer and our record of it")


# -- journals --------------------------------------------------------------------------------


def test_journals_land_once_with_the_accounts_and_amounts_the_hub_booked(
    db_url: str, qbo: FakeQuickBooks, clock: FakeClock
) -> None:
    shop = open_shop(db_url)
    sell(shop)  # one shirt, 59.95 + NY state 2.40 + NYC 2.70 tax, shipped from the warehouse
    keys = entries(shop)

    summary = push(shop, connect(shop, qbo, clock))

    assert summary.posted == len(keys) == len(qbo.created("JournalEntry")) == 15
    assert summary.rejected == summary.unavailable == 0
    # The revenue entry, by hand: Dr customer deposits 65.05; Cr sales 59.95, tax 2.40 + 2.70.
    (revenue_key,) = [k for k in keys if k.startswith("fulfilment:") and k.endswith(":revenue")]
    revenue = doc_for(qbo, revenue_key)
    assert sorted(lines_of(revenue)) == [
        ("Credit", "40", Decimal("2.40")),
        ("Credit", "40", Decimal("2.70")),
        ("Credit", "79", Decimal("59.95")),
        ("Debit", "38", Decimal("65.05")),
    ]
    assert revenue["TxnDate"] == "2026-11-20" and "CurrencyRef" not in revenue
    sales = next(line for line in revenue["Line"] if line["Amount"] == Decimal("59.95"))
    assert sales["JournalEntryLineDetail"]["ClassRef"] == {"value": "100"}  # channel web
    assert sales["JournalEntryLineDetail"]["DepartmentRef"] == {"value": "1"}  # location WH
    assert len(revenue["DocNumber"]) <= 21 and revenue["DocNumber"].startswith("RH-")
    # QuickBooks' books now say what the hub's say, account by account.
    assert qbo.ledger() == hub_books(shop, ACCOUNTS)
    # Each entry went once, with the key derived from (target, entry), and we kept its Id.
    sent = sorted(c.idempotency_key or "" for c in qbo.posts())
    assert sent == sorted(idempotency_key("quickbooks", k) for k in keys)
    assert sorted(r["target_id"] for r in recorded(shop)) == sorted(d["Id"] for d in qbo.created())

    calls = len(qbo.calls)
    again = push(shop, connect(shop, qbo, clock))
    assert again.posted == 0 and len(qbo.calls) == calls  # nothing sent, not even a token call


def test_an_answer_that_never_reached_our_records_is_asked_for_again_with_the_same_key(
    db_url: str, qbo: FakeQuickBooks, clock: FakeClock
) -> None:
    shop = open_shop(db_url)
    sell(shop)

    with pytest.raises(SystemExit):
        push(shop, KilledAfterTheAnswer(connect(shop, qbo, clock)))
    assert len(qbo.created()) == 1 and recorded(shop) == []  # QuickBooks has it; we do not

    qbo.lose_next_answers(2)  # and on the rerun two answers are lost on the way back (503)
    summary = push(shop, connect(shop, qbo, clock))

    assert summary.posted == len(entries(shop)) == len(qbo.created())  # no second document
    keys = [c.idempotency_key for c in qbo.posts()]
    assert len(keys) == len(set(keys)) + 3  # three resent with the same key, none made twice
    first = keys[0]
    assert keys.count(first) == 2  # the one QuickBooks had when we were killed
    (row,) = [r for r in recorded(shop) if r["idempotency_key"] == first]
    assert row["target_id"] == qbo.created()[0]["Id"]  # the document QuickBooks already had
    assert qbo.grants == 1  # the second process used the stored token, not the spent one


def test_check_existing_finds_what_a_crashed_run_made_even_if_requestid_is_not_honoured(
    db_url: str, qbo: FakeQuickBooks, clock: FakeClock
) -> None:
    shop = open_shop(db_url)
    qbo.honour_requestid = False  # a repeated requestid would create a second document
    with pytest.raises(SystemExit):
        push(shop, KilledAfterTheAnswer(connect(shop, qbo, clock, check_existing=True)))

    summary = push(shop, connect(shop, qbo, clock, check_existing=True))

    assert summary.posted == 12 == len(qbo.created())  # the first was found, not made again
    assert len(qbo.posts()) == 12 and sum("/query?" in c.path for c in qbo.calls) == 13
    assert len({d["DocNumber"] for d in qbo.created()}) == 12
    # Why the guard exists: without it, an entry sent again here is made again.
    with shop.hub.uow() as uow:
        first = SqlErpPostingRepository(uow.conn).pending("elsewhere", 1, False)[0]
    key = idempotency_key("quickbooks", first.entry.key)
    connect(shop, qbo, clock).post(OutboundPosting(first.entry_id, first.entry, key, "USD"))
    assert len(qbo.created()) == 13


# -- limits ----------------------------------------------------------------------------------


def test_a_rate_limit_storm_is_waited_out_and_everything_posts_once(
    db_url: str, clock: FakeClock
) -> None:
    shop = open_shop(db_url)
    for sku in ("SHIRT-M", "CHINO-32", "TEE-L", "SOCKS", "SHIRT-M"):
        sell(shop, sku)
    total = len(entries(shop))
    # Intuit's 500 a minute, scaled down: 8 a minute, so the 27 entries meet a storm.
    with FakeQuickBooks(clock=clock.monotonic, limit=8, window=60.0) as qbo:
        summary = push(shop, connect(shop, qbo, clock))

        assert summary.posted == total == len(qbo.created()) == 27
        assert summary.unavailable == 0
        assert qbo.throttled >= 3  # the storm happened
        # Each 429 was honoured: Intuit sends no Retry-After and asks for a minute's wait.
        assert sum(1 for s in clock.sleeps if s >= 60.0) == qbo.throttled
        assert len({c.idempotency_key for c in qbo.posts()}) == total


def test_a_storm_that_outlasts_the_retries_leaves_entries_pending(
    db_url: str, qbo: FakeQuickBooks, clock: FakeClock
) -> None:
    shop = open_shop(db_url)
    qbo.storm = True

    summary = push(shop, connect(shop, qbo, clock))

    assert summary.posted == 0 and summary.unavailable == len(entries(shop)) == 12
    assert qbo.throttled == 5 and qbo.created() == []  # five attempts, then we stopped
    (problem,) = [e for e in shop.exceptions() if e["type"] == "connector_error"]
    assert "429" in problem["reason"]
    assert recorded(shop) == []  # nothing recorded: all still pending

    qbo.storm = False
    assert push(shop, connect(shop, qbo, clock)).posted == 12


# -- auth ------------------------------------------------------------------------------------


def test_an_expired_token_is_refreshed_and_every_rotation_is_kept(
    db_url: str, qbo: FakeQuickBooks, clock: FakeClock
) -> None:
    shop = open_shop(db_url)
    store = SqlTokenStore(shop.hub.engine, "quickbooks")
    assert push(shop, connect(shop, qbo, clock)).posted == 12
    first = store.load()
    assert first is not None and qbo.grants == 1
    assert first.refresh_token == qbo.current_refresh_token != FIRST_REFRESH_TOKEN

    other_worker = connect(shop, qbo, clock)
    other_worker.client.auth.apply(httpx.Request("GET", qbo.url))  # holds the first token
    clock.advance(3600 + 1)  # the access token's hour is up
    sell(shop)
    assert push(shop, connect(shop, qbo, clock)).posted == 3
    second = store.load()
    assert second is not None and qbo.grants == 2
    assert second.refresh_token == qbo.current_refresh_token != first.refresh_token
    # The other worker's refresh token is spent; it picks up the stored one, no grant needed.
    sell(shop, "SOCKS")
    assert push(shop, other_worker).posted == 3 and qbo.grants == 2

    qbo.revoke_access_tokens()  # still "valid" by our clock, refused by Intuit: 401
    sell(shop, "TEE-L")
    assert push(shop, connect(shop, qbo, clock)).posted == 3
    assert qbo.grants == 3 and any(c.status == 401 for c in qbo.calls)
    assert store.load().refresh_token == qbo.current_refresh_token  # type: ignore[union-attr]
    assert qbo.ledger() == hub_books(shop, ACCOUNTS)


def test_a_refused_refresh_token_is_a_connector_auth_failure(
    db_url: str, qbo: FakeQuickBooks, clock: FakeClock
) -> None:
    shop = open_shop(db_url)
    assert push(shop, connect(shop, qbo, clock)).posted == 12
    qbo.revoke_refresh_tokens()  # the user disconnected the app in QuickBooks
    clock.advance(3600 + 1)
    sell(shop)

    summary = push(shop, connect(shop, qbo, clock))

    assert summary.posted == 0 and summary.unavailable == 3
    (problem,) = [e for e in shop.exceptions() if e["type"] == "connector_auth_failure"]
    assert "invalid_grant" in problem["reason"] and "reconnect" in problem["reason"]
    assert len(recorded(shop)) == 12  # the three new entries wait for a reconnect

    # Reconnecting: the new refresh token goes in the configuration and the push runs again.
    fresh = qbo.reconnect()
    assert push(shop, connect(shop, qbo, clock, refresh_token=fresh)).posted == 3
    stored = SqlTokenStore(shop.hub.engine, "quickbooks").load()
    assert stored is not None and stored.refresh_token == qbo.current_refresh_token != fresh


# -- refusals --------------------------------------------------------------------------------


def test_refusals_carry_intuits_message_and_post_after_the_fix(
    db_url: str, qbo: FakeQuickBooks, clock: FakeClock
) -> None:
    shop = open_shop(db_url)  # opening stock is dated 19 November
    sell(shop)
    qbo.closing_date = date(2026, 11, 19)  # the books are closed up to the 19th
    broken = {**ACCOUNTS, "Expenses:COGS": "999"}  # an account QuickBooks does not have

    summary = push(shop, connect(shop, qbo, clock, accounts=broken))

    assert (summary.posted, summary.rejected) == (2, 13)  # capture and revenue went through
    problems = [e for e in shop.exceptions() if e["type"] == "posting_rejected"]
    closed = [p for p in problems if "Account Period Closed" in p["reason"]]
    assert len(closed) == 12 and all(p["owner"] == "finance" for p in closed)
    assert "account books cannot be updated through the QBO Services API" in closed[0]["reason"]
    (unknown,) = [p for p in problems if "Invalid Reference Id" in p["reason"]]
    assert "Accounts element id 999 not found" in unknown["reason"]
    messages = [r["message"] for r in recorded(shop) if r["status"] == "rejected"]
    assert sum(m.startswith("Account Period Closed") for m in messages) == 12
    assert sum(m.startswith("Invalid Reference Id") for m in messages) == 1

    qbo.closing_date = None  # finance reopened the period and fixed the mapping
    fixed = push(shop, connect(shop, qbo, clock), retry_rejected=True)
    assert fixed.posted == 13 and len(qbo.created()) == 15
    assert qbo.ledger() == hub_books(shop, ACCOUNTS)


def test_an_unmapped_account_is_refused_before_anything_is_sent(
    db_url: str, qbo: FakeQuickBooks, clock: FakeClock
) -> None:
    shop = open_shop(db_url)
    no_equity = {k: v for k, v in ACCOUNTS.items() if k != "Equity"}

    summary = push(shop, connect(shop, qbo, clock, accounts=no_equity))

    assert summary.rejected == 12 and qbo.posts() == []
    reason = shop.exceptions()[0]["reason"]
    assert "'Equity:Opening-Balances' has no quickbooks account" in reason
    assert "[erp.quickbooks.accounts]" in reason


# -- documents and Intuit's own SDK ------------------------------------------------------------


def _payout(shop: Shop) -> None:
    """Shopify Payments pays out the order's 65.05 less a 2.19 fee."""
    at = T0 + timedelta(days=3)
    lines = (
        SettlementLine("shopify_payments", "po_7001", 1, LineKind.CHARGE, 6505, "USD", at, "c1"),
        SettlementLine("shopify_payments", "po_7001", 2, LineKind.FEE, -219, "USD", at, "c1"),
    )
    payout = Settlement("shopify_payments", "po_7001", "USD", 6286, at.date(), lines)
    with shop.hub.uow() as uow:
        ctx = ApplyContext(uow, shop.hub.settings.rules(), None, "test:payouts", at)
        apply_event(SettlementReported(payout), ctx)
        uow.commit()


def test_documents_mode_posts_receipts_and_deposits_that_intuits_sdk_reads_back(
    db_url: str, qbo: FakeQuickBooks, clock: FakeClock
) -> None:
    shop = open_shop(db_url)
    shirt, tee = shop.line("SHIRT-M"), shop.line("TEE-L", 2)
    order = shop.order([shirt, tee])
    shipped = shop.fulfilment(order, "WH", [(shirt.line_id, 1), (tee.line_id, 2)], T0)
    shop.deliver("orders/create", order)
    shop.deliver("fulfillments/create", shipped)
    returned = shop.refund(
        after(order, [shipped]),
        [(tee.line_id, 1, "return", LOC["STORE-1"])],
        T0 + timedelta(days=2),
    )
    shop.deliver("refunds/create", returned)
    assert shop.process().failed == 0
    _payout(shop)
    target = connect(shop, qbo, clock, accounts=DOCUMENT_ACCOUNTS, items=ITEMS, documents=True)

    summary = push(shop, target)

    assert summary.rejected == 0, shop.exceptions()
    assert summary.documents == {
        "SalesReceipt": 1,
        "RefundReceipt": 1,
        "Deposit": 1,
        "JournalEntry": 12 + 1 + 1 + 1,
    }
    (sale,) = qbo.created("SalesReceipt")  # 59.95 + 2 x 24.95, NY taxes 4.40 + 4.95
    assert sale["DepositToAccountRef"] == {"value": "39"} and sale["DepartmentRef"] == {
        "value": "1"
    }
    assert [
        (ln["SalesItemLineDetail"]["ItemRef"]["value"], ln["Amount"]) for ln in sale["Line"]
    ] == [("1", Decimal("109.85")), ("2", Decimal("4.40")), ("2", Decimal("4.95"))]
    (refund,) = qbo.created("RefundReceipt")  # one tee back at the Downtown store
    assert refund["DepositToAccountRef"] == {"value": "36"}  # refunded from Shopify clearing
    assert refund["DepartmentRef"] == {"value": "2"}
    assert sum(ln["Amount"] for ln in refund["Line"]) == Decimal("27.07")
    (deposit,) = qbo.created("Deposit")
    assert deposit["DepositToAccountRef"] == {"value": "35"}
    assert sorted(
        (ln["DepositLineDetail"]["AccountRef"]["value"], ln["Amount"]) for ln in deposit["Line"]
    ) == [("36", Decimal("65.05")), ("91", Decimal("-2.19"))]
    # The documents book exactly what the hub booked.
    assert qbo.ledger() == hub_books(shop, DOCUMENT_ACCOUNTS)

    # What we sent is what Intuit's own Python client would send: load each body through
    # python-quickbooks' models and check the lines survive its to_json().
    sent = {c.path.split("/")[-1].split("?")[0]: c.body for c in qbo.posts()}
    for entity, model in (
        ("journalentry", QboJournalEntry),
        ("salesreceipt", SalesReceipt),
        ("refundreceipt", RefundReceipt),
        ("deposit", Deposit),
    ):
        body = sent[entity]
        echoed = json.loads(model.from_json(body).to_json())
        assert _survives(body, echoed), entity
    je = QboJournalEntry.from_json(sent["journalentry"])
    debits = sum(
        Decimal(str(ln.Amount))
        for ln in je.Line
        if ln.JournalEntryLineDetail.PostingType == "Debit"
    )
    credits = sum(
        Decimal(str(ln.Amount))
        for ln in je.Line
        if ln.JournalEntryLineDetail.PostingType == "Credit"
    )
    assert debits == credits > 0


def _survives(ours: Any, theirs: Any) -> bool:
    """Everything we set is in the SDK's JSON, equal (it adds defaults of its own)."""
    if isinstance(ours, dict):
        return isinstance(theirs, dict) and all(
            k in theirs and _survives(v, theirs[k]) for k, v in ours.items()
        )
    if isinstance(ours, list):
        return (
            isinstance(theirs, list)
            and len(ours) == len(theirs)
            and all(_survives(a, b) for a, b in zip(ours, theirs, strict=True))
        )
    if isinstance(ours, int | float) and not isinstance(ours, bool):
        return Decimal(str(ours)) == Decimal(str(theirs))
    return bool(ours == theirs)


def test_an_entry_in_two_currencies_is_two_documents_each_with_its_own_key(
    engine: sa.Engine, qbo: FakeQuickBooks, clock: FakeClock
) -> None:
    entry = JournalEntry(
        T0.date(),
        "Cross-border payout",
        SourceRef("settlement", "adyen:B118"),
        (
            JournalLine("Assets:Bank", 10000, "USD"),
            JournalLine("Assets:Clearing:Adyen", -10000, "USD"),
            JournalLine("Assets:Bank", 9000, "EUR"),
            JournalLine("Assets:Clearing:Adyen", -9000, "EUR"),
        ),
        "settlement",
    )
    target = quickbooks.from_options(
        options(qbo),
        SqlTokenStore(engine, "quickbooks"),
        clock.now,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
    )
    posting = OutboundPosting(1, entry, idempotency_key("quickbooks", entry.key), "USD")

    posted = target.post(posting)

    usd, eur = qbo.created()
    assert posted == Posted("JournalEntry", f"{usd['Id']},{eur['Id']}")
    assert "CurrencyRef" not in usd and eur["CurrencyRef"] == {"value": "EUR"}
    assert usd["DocNumber"] != eur["DocNumber"]
    assert [c.idempotency_key for c in qbo.posts()] == [
        f"{posting.idempotency_key}-USD",
        f"{posting.idempotency_key}-EUR",
    ]
    assert target.post(posting) == posted and len(qbo.created()) == 2  # replayed, not re-made


# -- the command line ------------------------------------------------------------------------


def test_retailhub_erp_push_quickbooks(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = open_shop(db_url)
    sell(shop)
    monkeypatch.setenv("QBO_TEST_CLIENT_SECRET", CLIENT_SECRET)
    with FakeQuickBooks() as fake:  # real time: nothing here waits
        accounts = "\n".join(f'"{k}" = "{v}"' for k, v in ACCOUNTS.items())
        config = tmp_path / "retailhub.toml"
        config.write_text(f"""{config_text(SECRET)}
[erp.quickbooks]
realm_id = "{REALM}"
client_id = "{CLIENT_ID}"
client_secret_env = "QBO_TEST_CLIENT_SECRET"
refresh_token = "{FIRST_REFRESH_TOKEN}"
base_url = "{fake.url}"
token_url = "{fake.token_url}"

[erp.quickbooks.accounts]
{accounts}
""")
        base = ["--db", db_url, "--config", str(config)]
        done = CliRunner().invoke(app, [*base, "erp", "push", "quickbooks", "--json"])
        assert done.exit_code == 0, done.output
        assert json.loads(done.stdout)["posted"] == 15 == len(fake.created())
        status = CliRunner().invoke(app, [*base, "erp", "status", "quickbooks", "--json"])
        assert json.loads(status.stdout)["quickbooks"] == {
            "posted": 15,
            "rejected": 0,
            "pending": 0,
        }


# -- Intuit's error bodies -------------------------------------------------------------------


def test_both_spellings_of_intuits_fault_bodies_are_read() -> None:
    closed = parse_fault(json.loads((FIXTURES / "fault_account_period_closed.json").read_text()))
    assert [(f.type, f.code, f.message) for f in closed] == [
        ("ValidationFault", "6210", "Account Period Closed")
    ]
    assert closed[0].text.startswith("Account Period Closed: The account period has closed")
    gateway = parse_fault(json.loads((FIXTURES / "fault_gateway_401.json").read_text()))
    assert [(f.type, f.code) for f in gateway] == [("AUTHENTICATION", "3200")]
    assert "Token expired" in gateway[0].text
    assert parse_fault({"JournalEntry": {"Id": "1"}}) == []


def test_the_worker_posts_on_its_schedule(db_url: str, qbo: FakeQuickBooks) -> None:
    """``push_every_minutes = 15``: the worker's first turn posts what is there; turns inside
    the interval post nothing even when new entries exist; the next interval posts them."""
    from dataclasses import replace

    from retailhub.entrypoints.erp_schedule import ErpSchedule

    shop = open_shop(db_url)
    sell(shop)
    settings = replace(shop.hub.settings, erp={"quickbooks": options(qbo, push_every_minutes=15)})
    shop.hub.settings = settings
    now = [1000.0]
    schedule = ErpSchedule(shop.hub, monotonic=lambda: now[0])
    first = schedule.run_due()["quickbooks"]
    assert first.posted == len(qbo.created()) > 0
    sell(shop, "TEE-L")
    now[0] += 14 * 60
    assert schedule.run_due() == {}  # not due yet
    now[0] += 60
    assert schedule.run_due()["quickbooks"].posted == len(qbo.created()) - first.posted > 0
