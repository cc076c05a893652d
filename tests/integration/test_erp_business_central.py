"""The hub's books posted to Business Central, through the real pipeline and a faithful fake.

A shop sells, ships and refunds through Shopify deliveries on a real database; ``push_entries``
sends every journal entry to ``FakeBusinessCentral`` (a real HTTP server: Entra client
credentials tokens, 600 requests a minute, journal lines posted as a batch into general ledger
entries, sales invoices, ETags, OData error bodies). Business Central has no idempotency key, so
what these tests prove is that the connector always finds what an earlier attempt left — and
that nothing is ever posted twice. Time is a ``FakeClock`` shared by fake and connector.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from erp_support import push, sold_and_shipped
from fakes_business_central import FakeBusinessCentral
from fakes_channels import FakeClock
from fakes_netsuite import SystemClock
from retail_shop import SECRET, T0, Shop, open_shop
from retailhub.adapters.connectors.erp import build_target
from retailhub.adapters.connectors.erp.business_central import BusinessCentralTarget, from_options
from retailhub.adapters.connectors.erp.business_central.documents import short_key
from retailhub.adapters.connectors.erp.business_central.target import error_details
from retailhub.adapters.storage.erp_repo import SqlErpPostingRepository, SqlTokenStore, StoredToken
from retailhub.demo.retailer import config_text
from retailhub.domain.ledger import JournalEntry, JournalLine, SourceRef
from retailhub.entrypoints.cli.main import app
from retailhub.services.erp_posting import (
    OutboundPosting,
    Posted,
    PostingRejected,
    idempotency_key,
)

FIXTURES = Path(__file__).parents[1] / "fixtures/erp/business_central"
ACCOUNTS = {
    "Assets:Inventory": "2110",
    "Assets:Clearing": "2920",
    "Equity:Opening-Balances": "3100",
    "Liabilities:Customer-Deposits": "5410",
    "Liabilities:Sales-Tax": "5610",
    "Income:Sales": "6110",
    "Income:Shipping": "6120",
    "Income:Discounts": "6130",
    "Income:Refund-Adjustments": "6140",
    "Expenses:COGS": "7110",
}
DIMENSIONS = {"CHANNEL": {"WEB", "POS", "STORE"}, "LOCATION": {"WH", "STORE-1", "STORE-2"}}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bc(clock: FakeClock) -> Iterator[FakeBusinessCentral]:
    fake = FakeBusinessCentral(
        clock=clock,
        accounts=set(ACCOUNTS.values()),
        customers={"C-WEB": "5410"},  # the web customer's receivables account is the deposits
        currencies={"EUR"},
        dimensions=DIMENSIONS,
        default_dimensions={"6110": {"CHANNEL": "STORE"}},  # BC copies it onto new lines
    )
    with fake:
        yield fake


def options(fake: FakeBusinessCentral, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": fake.url,
        "token_url": fake.token_url,
        "tenant": fake.tenant,
        "environment": fake.environment,
        "company_id": fake.company_id,
        "journal_id": fake.journal_id,
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "accounts": dict(ACCOUNTS),
        **extra,
    }


def connect(
    shop: Shop, fake: FakeBusinessCentral, clock: FakeClock, **extra: Any
) -> BusinessCentralTarget:
    tokens = SqlTokenStore(shop.hub.engine, "business_central")
    return from_options(
        options(fake, **extra), tokens, clock.now, sleep=clock.sleep, monotonic=clock.monotonic
    )


def pending(shop: Shop) -> int:
    with shop.hub.uow() as uow:
        return len(SqlErpPostingRepository(uow.conn).pending("business_central", None, True))


def rows(shop: Shop) -> list[dict[str, Any]]:
    with shop.hub.uow() as uow:
        return [dict(r) for r in SqlErpPostingRepository(uow.conn).posted("business_central")]


def lines_per_document(fake: FakeBusinessCentral) -> Counter[str]:
    return Counter(e["documentNumber"] for e in fake.gl_entries)


def planned_lines(shop: Shop) -> dict[str, int]:
    """Document number -> how many lines the entry has (every entry, posted or not)."""
    with shop.hub.uow() as uow:
        entries = SqlErpPostingRepository(uow.conn).pending("every-entry", None, False)
    key = "business_central"
    return {short_key(idempotency_key(key, p.entry.key)): len(p.entry.lines) for p in entries}


def assert_each_entry_posted_once(shop: Shop, fake: FakeBusinessCentral) -> None:
    """Every posted entry is one BC document holding exactly its own lines: nothing doubled."""
    posted = [r for r in rows(shop) if r["status"] == "posted"]
    counts = lines_per_document(fake)
    planned = planned_lines(shop)
    assert set(counts) == {r["target_id"] for r in posted}
    for row in posted:
        assert row["target_id"] == short_key(idempotency_key("business_central", row["entry_key"]))
        assert counts[row["target_id"]] == planned[row["target_id"]]


def test_every_entry_posts_once_with_the_right_accounts_and_a_rerun_sends_nothing(
    db_url: str, bc: FakeBusinessCentral, clock: FakeClock
) -> None:
    shop = sold_and_shipped(db_url)
    total = pending(shop)
    dims = {"channel": "CHANNEL", "location": "LOCATION"}
    summary = push(shop, connect(shop, bc, clock, dimensions=dims))
    assert summary.posted == total > 0 and summary.documents == {"journal": total}
    assert_each_entry_posted_once(shop, bc)
    assert not bc.lines  # the batch is empty: every line was posted

    # Hand-checked: one SHIRT-M at 59.95, NY State 4% (2.40) and NYC 4.5% (2.70), shipped from WH.
    (revenue,) = [r for r in rows(shop) if r["entry_key"].endswith(":revenue")]
    entries = bc.entries_for(revenue["target_id"])
    assert sorted((e["accountNumber"], e["debitAmount"], e["creditAmount"]) for e in entries) == [
        ("5410", Decimal("65.05"), Decimal(0)),
        ("5610", Decimal(0), Decimal("2.40")),
        ("5610", Decimal(0), Decimal("2.70")),
        ("6110", Decimal(0), Decimal("59.95")),
    ]
    assert {e["postingDate"] for e in entries} == {T0.date().isoformat()}
    # Dimensions: the sales account's default CHANNEL=STORE was corrected to WEB under If-Match.
    assert all(e["dimensions"] == {"CHANNEL": "WEB", "LOCATION": "WH"} for e in entries)
    patches = [c for c in bc.calls if c.method == "PATCH"]
    assert patches and all(c.status == 200 for c in patches)

    # What Business Central received: signed amounts (debit positive), both document numbers.
    sent = [c.body for c in bc.calls if c.method == "POST" and c.path.endswith("/journalLines")]
    mine = [b for b in sent if b["documentNumber"] == revenue["target_id"]]
    assert sorted(b["amount"] for b in mine) == [
        Decimal("-59.95"),
        Decimal("-2.70"),
        Decimal("-2.40"),
        Decimal("65.05"),
    ]
    assert all(b["externalDocumentNumber"] == b["documentNumber"] for b in mine)
    assert all(b["accountType"] == "G/L Account" for b in mine)

    calls = len(bc.calls)
    assert push(shop, connect(shop, bc, clock, dimensions=dims)).posted == 0
    assert len(bc.calls) == calls and bc.token_grants == 1  # nothing sent; the token was kept


class CrashAfterAccepting:
    name = "business_central"

    def __init__(self, target: BusinessCentralTarget) -> None:
        self.target = target

    def post(self, posting: OutboundPosting) -> Posted:
        self.target.post(posting)
        raise SystemExit("killed between Business Central's answer and our record")


def test_crashes_and_lost_answers_never_post_an_entry_twice(
    db_url: str, bc: FakeBusinessCentral, clock: FakeClock
) -> None:
    shop = sold_and_shipped(db_url)
    total = pending(shop)
    target = connect(shop, bc, clock)
    with pytest.raises(SystemExit):
        push(shop, CrashAfterAccepting(target))
    assert len(bc.documents()) == 1  # posted in BC; no record in the hub

    # The rerun finds that one among the general ledger entries; then, for the next entry, the
    # answer to its first line is lost after BC saved it, and so is the answer to the post action.
    bc.drop_next("journalLine")
    bc.drop_next("post")
    summary = push(shop, target)
    assert summary.posted == total and not bc.lines
    assert len(bc.documents()) == total
    assert_each_entry_posted_once(shop, bc)
    second = rows(shop)[1]["target_id"]
    journal_posts = [c for c in bc.calls if c.path.endswith("/journalLines") and c.method == "POST"]
    assert len([c for c in journal_posts if c.body["documentNumber"] == second]) == 2  # not 3


def test_a_push_stopped_between_two_lines_finishes_the_entry_next_time(
    db_url: str, bc: FakeBusinessCentral, clock: FakeClock
) -> None:
    shop = sold_and_shipped(db_url)
    total = pending(shop)
    bc.drop_next("journalLine")
    summary = push(shop, connect(shop, bc, clock, recoveries=1))
    assert summary.posted == 0 and summary.unavailable == total
    assert len(bc.lines) == 1  # half an entry sits in the batch

    assert push(shop, connect(shop, bc, clock)).posted == total
    assert_each_entry_posted_once(shop, bc)  # the half-made entry was finished, not doubled

    # Someone else's line in the hub's batch: posting would post it too, so the push stops.
    bc.lines["x"] = {
        "id": "x",
        "documentNumber": "G00042",
        "externalDocumentNumber": "",
        "lineNumber": 1,
    }
    shop.deliver("orders/create", shop.order([shop.line("SOCKS")]))
    shop.process()
    stopped = push(shop, connect(shop, bc, clock))
    assert stopped.posted == 0 and stopped.unavailable == 1
    (problem,) = [e for e in shop.exceptions() if "G00042" in e["reason"]]
    assert problem["type"] == "connector_error" and "dedicated to retailhub" in problem["reason"]


def test_the_connector_paces_itself_and_honours_retry_after_when_the_window_is_smaller(
    db_url: str, bc: FakeBusinessCentral, clock: FakeClock
) -> None:
    shop = sold_and_shipped(db_url, orders=6)
    total = pending(shop)
    started = clock.monotonic()
    first = push(shop, connect(shop, bc, clock), limit=20)
    sent = len(bc.calls) - 1  # all but the token grant
    assert first.posted == 20 and 429 not in bc.statuses()
    # A bucket of 10 refilling 590 a minute: never more than 600 in any minute.
    assert sent > 60 and clock.monotonic() - started >= (sent - 10) / (590 / 60) - 1e-6

    # A sandbox-sized window scaled down: 30 requests a minute. Throttled, then waited out.
    bc.rate_limit = 30
    before = len(clock.sleeps)
    second = push(shop, connect(shop, bc, clock))
    throttled = [c for c in bc.calls if c.status == 429]
    assert second.posted == total - 20 and second.unavailable == 0
    assert len(throttled) >= 3
    waits = clock.sleeps[before:]
    assert len([w for w in waits if w >= 1]) >= len(throttled)  # each 429 waited Retry-After
    assert_each_entry_posted_once(shop, bc)
    assert len(bc.documents()) == total


def test_a_throttle_longer_than_the_retries_leaves_the_entries_pending(
    db_url: str, bc: FakeBusinessCentral, clock: FakeClock
) -> None:
    shop = sold_and_shipped(db_url)
    total = pending(shop)
    bc.rate_limit, bc.window = 3, 3600.0  # Retry-After ≈ an hour: beyond max_wait_seconds
    summary = push(shop, connect(shop, bc, clock))
    assert summary.posted == 0 and summary.unavailable == total
    assert bc.statuses().count(429) == 1  # not worth waiting an hour: give up, stay pending
    (problem,) = [e for e in shop.exceptions() if e["type"] == "connector_error"]
    assert "429" in problem["reason"] and not bc.gl_entries

    bc.rate_limit = 600
    clock.advance(3600)
    assert push(shop, connect(shop, bc, clock)).posted == total


def test_tokens_are_renewed_when_they_expire_and_a_refused_secret_stops_the_push(
    db_url: str, bc: FakeBusinessCentral, clock: FakeClock
) -> None:
    shop = sold_and_shipped(db_url)
    target = connect(shop, bc, clock)
    assert push(shop, target, limit=2).posted == 2 and bc.token_grants == 1
    clock.advance(3599)
    assert push(shop, target, limit=2).posted == 2 and bc.token_grants == 2
    assert 401 not in bc.statuses()
    bc.expire_tokens()
    assert push(shop, target, limit=2).posted == 2 and bc.token_grants == 3
    assert bc.statuses().count(401) == 1
    stored = SqlTokenStore(shop.hub.engine, "business_central").load()
    assert stored is not None and stored.access_token in bc.tokens

    left = pending(shop)
    bc.client_secret = "rotated-in-entra"  # the secret was rotated and nobody told the hub
    bc.expire_tokens()
    summary = push(shop, target)
    assert summary.posted == 0 and summary.unavailable == left == pending(shop)
    (problem,) = [e for e in shop.exceptions() if e["type"] == "connector_auth_failure"]
    assert "AADSTS7000215" in problem["reason"] and bc.client_id in problem["reason"]


def test_refusals_carry_business_centrals_message_leave_the_batch_clean_and_go_again_once_fixed(
    db_url: str, bc: FakeBusinessCentral, clock: FakeClock
) -> None:
    shop = sold_and_shipped(db_url)
    total = pending(shop)
    bc.allow_posting_from = T0.date()  # the opening stock's day is before the allowed range
    mapping = {k: v for k, v in ACCOUNTS.items() if k != "Assets:Clearing"}  # not mapped at all
    mapping["Expenses:COGS"] = "9999"  # a G/L account this company does not have
    summary = push(shop, connect(shop, bc, clock, accounts=mapping))
    assert summary.rejected == 12 + 1 + 1 and summary.posted == total - 14
    assert not bc.lines  # refused entries' lines were taken out of the batch, not left to post

    why = {r["entry_key"]: r for r in rows(shop) if r["status"] == "rejected"}
    closed = [r["message"] for k, r in why.items() if k.startswith("receipt:")]
    assert len(closed) == 12 and all(
        "not within your range of allowed posting dates" in m for m in closed
    )
    (cogs,) = [r for k, r in why.items() if k.endswith(":cogs")]
    assert "The G/L Account does not exist" in cogs["message"] and "'9999'" in cogs["message"]
    (capture,) = [r for k, r in why.items() if ":capture:" in k]
    assert "[erp.business_central.accounts]" in capture["message"]
    sent = {c.body.get("documentNumber") for c in bc.calls if isinstance(c.body, dict)}
    assert short_key(capture["idempotency_key"]) not in sent  # refused before it was sent
    problems = [e for e in shop.exceptions() if e["type"] == "posting_rejected"]
    assert len(problems) == 14 and {p["owner"] for p in problems} == {"finance"}

    bc.allow_posting_from = None
    fixed = push(shop, connect(shop, bc, clock), retry_rejected=True)
    assert fixed.posted == 14 and len(bc.documents()) == total
    assert_each_entry_posted_once(shop, bc)


def test_with_documents_revenue_is_a_sales_invoice_that_posts_like_the_hubs_entry(
    db_url: str, bc: FakeBusinessCentral, clock: FakeClock
) -> None:
    shop = sold_and_shipped(db_url)
    total = pending(shop)
    bc.drop_next("salesInvoice")  # the draft is created, the answer lost: found again, reused
    target = connect(shop, bc, clock, documents=True, customers={"web": "C-WEB"})
    summary = push(shop, target)
    assert summary.documents == {"salesInvoice": 1, "journal": total - 1}

    ((invoice_id, invoice),) = bc.invoices.items()
    (revenue,) = [r for r in rows(shop) if r["entry_key"].endswith(":revenue")]
    assert revenue["target_id"] == invoice_id and revenue["document"] == "salesInvoice"
    assert invoice["status"] == "Open" and invoice["customerNumber"] == "C-WEB"
    assert invoice["externalDocumentNumber"] == short_key(revenue["idempotency_key"])
    posted = bc.entries_for(invoice["number"])
    assert sorted((e["accountNumber"], e["debitAmount"], e["creditAmount"]) for e in posted) == [
        ("5410", Decimal("65.05"), Decimal(0)),  # the customer's receivables = the deposits
        ("5610", Decimal(0), Decimal("2.40")),
        ("5610", Decimal(0), Decimal("2.70")),
        ("6110", Decimal(0), Decimal("59.95")),
    ]
    assert push(shop, target).posted == 0 and len(bc.invoices) == 1

    # A customer set up to calculate tax would charge it twice: refused, not posted.
    bc.customers["C-TAXED"], bc.tax_rates["C-TAXED"] = "5410", Decimal("0.08875")
    shop.deliver("orders/create", order := shop.order([shirt := shop.line("TEE-L")]))
    shop.deliver("fulfillments/create", shop.fulfilment(order, "WH", [(shirt.line_id, 1)], T0))
    shop.process()
    taxed = connect(shop, bc, clock, documents=True, customers={"web": "C-TAXED"})
    assert push(shop, taxed).rejected == 1
    (problem,) = [e for e in shop.exceptions() if e["type"] == "posting_rejected"]
    assert "non-taxable" in problem["reason"]
    assert [i["status"] for i in bc.invoices.values()].count("Draft") == 1  # left unposted


def test_two_currencies_go_as_two_invoices_or_are_refused_as_journals(
    db_url: str, bc: FakeBusinessCentral, clock: FakeClock
) -> None:
    shop = open_shop(db_url)
    entry = JournalEntry(
        date(2026, 11, 20),
        "Revenue recognised for a cross-border order",
        SourceRef("fulfilment", "F-EU-9"),
        (
            JournalLine("Liabilities:Customer-Deposits", 10000, "EUR", channel="web"),
            JournalLine("Income:Sales", -10000, "EUR", channel="web"),
            JournalLine("Liabilities:Customer-Deposits", 5995, "USD", channel="web"),
            JournalLine("Income:Sales", -5995, "USD", channel="web"),
        ),
        "revenue",
    )
    key = idempotency_key("business_central", entry.key)
    posting = OutboundPosting(1, entry, key, "USD")
    with pytest.raises(PostingRejected, match="post only in the local currency") as refused:
        connect(shop, bc, clock).post(posting)
    assert refused.value.code == "foreign_currency_journal"
    writes = [c for c in bc.calls if c.method != "GET" and "/api/" in c.path]
    assert not writes  # refused before anything was sent (it only looked for leftovers)

    target = connect(shop, bc, clock, documents=True, customer="C-WEB")
    posted = target.post(posting)
    eur, usd = (
        next(i for i in bc.invoices.values() if i["currencyCode"] == c) for c in ("EUR", "")
    )
    assert posted == Posted("salesInvoice", f"{eur['id']},{usd['id']}")
    assert eur["externalDocumentNumber"] == short_key(f"{key}-EUR") != short_key(f"{key}-USD")
    assert eur["totalAmountIncludingTax"] == Decimal("100.00")
    assert target.post(posting) == posted and len(bc.invoices) == 2  # a retry finds both


def test_retailhub_erp_push_business_central_from_the_command_line(
    db_url: str, bc: FakeBusinessCentral, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = sold_and_shipped(db_url)
    total = pending(shop)
    bc.clock = SystemClock()  # the CLI runs on real time and really sleeps: allow a fast pace
    bc.rate_limit = 60_000
    monkeypatch.setenv("BC_TEST_SECRET", bc.client_secret)
    accounts = "\n".join(f'"{k}" = "{v}"' for k, v in ACCOUNTS.items())
    config = tmp_path / "retailhub.toml"
    config.write_text(
        config_text(SECRET)
        + f'\n[erp.business_central]\nbase_url = "{bc.url}"\ntoken_url = "{bc.token_url}"\n'
        f'tenant = "{bc.tenant}"\nenvironment = "{bc.environment}"\n'
        f'company_id = "{bc.company_id}"\njournal_id = "{bc.journal_id}"\n'
        f'client_id = "{bc.client_id}"\nclient_secret_env = "BC_TEST_SECRET"\n'
        "requests_per_minute = 60000\n"
        f"\n[erp.business_central.accounts]\n{accounts}\n"
    )
    cli, base = CliRunner(), ["--db", db_url, "--config", str(config)]
    run = cli.invoke(app, [*base, "erp", "push", "business_central", "--json"])
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout)["posted"] == total == len(bc.documents())
    status = cli.invoke(app, [*base, "erp", "status", "business_central", "--json"])
    counts = json.loads(status.stdout)["business_central"]
    assert counts == {"posted": total, "rejected": 0, "pending": 0}


class MemoryTokens:
    def __init__(self) -> None:
        self.token: StoredToken | None = None

    def load(self) -> StoredToken | None:
        return self.token

    def save(self, token: StoredToken, at: datetime) -> None:
        self.token = token


def test_the_registry_builds_business_central_and_reads_odata_error_bodies(
    bc: FakeBusinessCentral,
) -> None:
    tokens: Any = MemoryTokens()
    target = build_target("business_central", options(bc), tokens, FakeClock().now)
    assert isinstance(target, BusinessCentralTarget) and target.name == "business_central"
    body = (FIXTURES / "error-dialog.json").read_text()
    code, message = error_details(body)
    assert code == "Application_DialogException" and message and message.startswith("Document No.")
    assert error_details("not json") == (None, None)
    assert len(short_key(idempotency_key("business_central", "order:1:revenue"))) == 20
