"""The hub's books posted to NetSuite, through the real pipeline and a faithful fake NetSuite.

A shop sells, ships and refunds through Shopify deliveries on a real database; ``push_entries``
sends every journal entry to ``FakeNetSuite`` (a real HTTP server: OAuth 2.0 M2M tokens from a
signed JWT, concurrency governance, upsert by external id, validation with NetSuite's error
bodies). Time is a ``FakeClock`` shared by the fake and the connector, so a 60-minute token or a
storm of throttling passes in milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from erp_support import push, sold_and_shipped
from fakes_channels import FakeClock
from fakes_netsuite import FakeNetSuite, SystemClock, key_pair, scheduled
from retail_shop import SECRET, T0, Shop, open_shop
from retailhub.adapters.connectors.erp import build_target
from retailhub.adapters.connectors.erp.netsuite import NetSuiteTarget, from_options
from retailhub.adapters.connectors.erp.netsuite.target import error_details
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

FIXTURES = Path(__file__).parents[1] / "fixtures/erp/netsuite"
CLIENT_ID = "5d3c0ffee0ddf00d5d3c0ffee0ddf00d5d3c0ffee0ddf00d5d3c0ffee0ddf00d"
CERTIFICATE_ID = "Jq0mX4VJdGm0Vf8ZQx3c1o2p"
ACCOUNTS = {
    "Assets:Inventory": "122",
    "Assets:Clearing": "110",
    "Equity:Opening-Balances": "301",
    "Liabilities:Customer-Deposits": "240",
    "Liabilities:Sales-Tax": "220",
    "Income:Sales": "400",
    "Income:Shipping": "410",
    "Income:Discounts": "420",
    "Income:Refund-Adjustments": "430",
    "Expenses:COGS": "500",
}
LOCATIONS = {"WH": "1", "STORE-1": "2", "STORE-2": "3"}
CLASSES = {"web": "7", "pos": "8"}


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return key_pair("PS256")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def netsuite(clock: FakeClock, keys: tuple[str, str]) -> Iterator[FakeNetSuite]:
    fake = FakeNetSuite(
        clock=clock,
        accounts=set(ACCOUNTS.values()),
        customers={"88"},
        items={"31", "32", "33"},
        locations=set(LOCATIONS.values()),
        classes=set(CLASSES.values()),
    )
    fake.map_certificate(CERTIFICATE_ID, CLIENT_ID, keys[1])
    with fake:
        yield fake


def options(fake: FakeNetSuite, private_key: str, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": fake.url,
        "client_id": CLIENT_ID,
        "certificate_id": CERTIFICATE_ID,
        "private_key": private_key,
        "subsidiary": "1",
        "accounts": dict(ACCOUNTS),
        "locations": LOCATIONS,
        "classes": CLASSES,
        **extra,
    }


def connect(
    shop: Shop, fake: FakeNetSuite, clock: FakeClock, keys: tuple[str, str], **extra: Any
) -> NetSuiteTarget:
    tokens = SqlTokenStore(shop.hub.engine, "netsuite")
    return from_options(options(fake, keys[0], **extra), tokens, clock.now, sleep=clock.sleep)


def entry_count(shop: Shop) -> int:
    with shop.hub.uow() as uow:
        return len(SqlErpPostingRepository(uow.conn).pending("netsuite", None, True))


def posted_rows(shop: Shop) -> list[dict[str, Any]]:
    with shop.hub.uow() as uow:
        return [dict(r) for r in SqlErpPostingRepository(uow.conn).posted("netsuite")]


def journals(fake: FakeNetSuite) -> dict[str, dict[str, Any]]:
    return {eid: fake.records[t][i] for (t, eid), i in fake.by_eid.items() if t == "journalEntry"}


def test_every_entry_lands_once_with_the_right_accounts_and_a_rerun_sends_nothing(
    db_url: str, netsuite: FakeNetSuite, clock: FakeClock, keys: tuple[str, str]
) -> None:
    shop = sold_and_shipped(db_url)
    total = entry_count(shop)
    summary = push(shop, connect(shop, netsuite, clock, keys))
    assert summary.posted == total > 0 and summary.rejected == summary.unavailable == 0
    assert summary.documents == {"journalEntry": total}

    rows = posted_rows(shop)
    stored = journals(netsuite)
    assert len(stored) == total == len(rows)
    for row in rows:  # each record is upserted under the entry's own key, and we kept its id
        key = idempotency_key("netsuite", row["entry_key"])
        assert row["idempotency_key"] == key and stored[key]["id"] == row["target_id"]

    # Hand-checked: one SHIRT-M at 59.95 with NY State 4% (2.40) and NYC 4.5% (2.70), shipped
    # from WH: revenue out of customer deposits, on the fulfilment date, class "web", location WH.
    (revenue,) = [r for r in rows if r["entry_key"].endswith(":revenue")]
    record = stored[revenue["idempotency_key"]]
    assert record["tranDate"] == T0.date().isoformat() and record["subsidiary"] == {"id": "1"}
    lines = {
        (item["account"]["id"], item.get("debit"), item.get("credit"))
        for item in record["line"]["items"]
    }
    assert lines == {
        ("240", Decimal("65.05"), None),
        ("400", None, Decimal("59.95")),
        ("220", None, Decimal("2.40")),
        ("220", None, Decimal("2.70")),
    }
    assert all(
        i["location"] == {"id": "1"} and i["class"] == {"id": "7"} for i in record["line"]["items"]
    )
    assert revenue["entry_key"] in record["memo"]

    # The JSON NetSuite received carried the amounts as exact decimal numbers.
    puts = [c for c in netsuite.calls if c.method == "PUT"]
    assert all("?replace=line" in c.path for c in puts)
    sent = next(c.body for c in puts if revenue["idempotency_key"] in c.path)
    assert sent == {k: v for k, v in record.items() if k not in ("id", "externalId")}

    calls = len(netsuite.calls)
    again = push(shop, connect(shop, netsuite, clock, keys))
    assert again.posted == 0 and len(netsuite.calls) == calls
    assert netsuite.token_grants == 1  # the second push reused the stored token


class CrashAfterAccepting:
    """The process dies after NetSuite answered and before the hub recorded the answer."""

    name = "netsuite"

    def __init__(self, target: NetSuiteTarget) -> None:
        self.target = target

    def post(self, posting: OutboundPosting) -> Posted:
        self.target.post(posting)
        raise SystemExit("killed between NetSuite's answer and our record")


def test_a_crash_or_a_lost_answer_after_netsuite_committed_duplicates_nothing(
    db_url: str, netsuite: FakeNetSuite, clock: FakeClock, keys: tuple[str, str]
) -> None:
    shop = sold_and_shipped(db_url)
    total = entry_count(shop)
    target = connect(shop, netsuite, clock, keys)
    with pytest.raises(SystemExit):
        push(shop, CrashAfterAccepting(target))
    (first_key,) = netsuite.upserts  # NetSuite has it; the hub has no record of it

    # The rerun resends that entry first, with the same external id; on top of that NetSuite's
    # answers are lost three times in a row after it committed (the kit retries the PUT).
    netsuite.drop_responses(3)
    summary = push(shop, target)
    assert summary.posted == total == len(journals(netsuite))  # one record per entry
    assert netsuite.upserts[first_key] == 1 + 4
    assert [eid for eid, n in netsuite.upserts.items() if n > 1] == [first_key]
    # Every upsert replaced the lines of the record it found instead of adding to them.
    assert len(netsuite.journal(first_key)["line"]["items"]) == 2
    rows = {r["idempotency_key"]: r["target_id"] for r in posted_rows(shop)}
    assert rows[first_key] == netsuite.journal(first_key)["id"]


def test_a_concurrency_storm_is_waited_out_and_everything_posts_once(
    db_url: str, netsuite: FakeNetSuite, clock: FakeClock, keys: tuple[str, str]
) -> None:
    shop = sold_and_shipped(db_url, orders=8)
    total = entry_count(shop)
    # Other integrations fill the account's slots for 3 s in every 10, for the next minute;
    # each of our requests takes half a second.
    netsuite.request_seconds, netsuite.retry_after = 0.5, 2
    netsuite.busy_windows = scheduled(
        clock.monotonic, period=10, busy=3, until=clock.monotonic() + 60
    )
    summary = push(shop, connect(shop, netsuite, clock, keys))

    throttled = netsuite.statuses("PUT").count(429)
    assert summary.posted == total == len(journals(netsuite)) and summary.unavailable == 0
    assert throttled >= 4  # several windows were hit, each answered 429 and honoured
    assert len([s for s in clock.sleeps if s >= 2]) >= throttled  # Retry-After was the floor
    assert not [e for e in shop.exceptions() if e["type"] == "connector_error"]


def test_a_storm_that_outlasts_the_retries_leaves_the_entries_pending(
    db_url: str, netsuite: FakeNetSuite, clock: FakeClock, keys: tuple[str, str]
) -> None:
    shop = sold_and_shipped(db_url)
    total = entry_count(shop)
    netsuite.busy(10_000)
    summary = push(shop, connect(shop, netsuite, clock, keys))
    assert summary.posted == 0 and summary.unavailable == total
    assert netsuite.statuses("PUT") == [429] * 6  # max_attempts, then give up
    (problem,) = [e for e in shop.exceptions() if e["type"] == "connector_error"]
    assert "429" in problem["reason"] and not journals(netsuite)

    netsuite.busy_windows.clear()
    assert push(shop, connect(shop, netsuite, clock, keys)).posted == total


def test_tokens_are_renewed_when_they_expire_and_a_refused_grant_stops_the_push(
    db_url: str, netsuite: FakeNetSuite, clock: FakeClock, keys: tuple[str, str]
) -> None:
    shop = sold_and_shipped(db_url)
    target = connect(shop, netsuite, clock, keys)
    assert push(shop, target, limit=2).posted == 2 and netsuite.token_grants == 1

    clock.advance(3600)  # the hour is up: the connector asks for a new token before sending
    assert push(shop, target, limit=2).posted == 2 and netsuite.token_grants == 2
    assert 401 not in netsuite.statuses()

    netsuite.expire_tokens()  # NetSuite ends it early: a 401, one new token, the same request
    assert push(shop, target, limit=2).posted == 2 and netsuite.token_grants == 3
    assert netsuite.statuses("PUT").count(401) == 1
    stored = SqlTokenStore(shop.hub.engine, "netsuite").load()
    assert stored is not None and stored.access_token in netsuite.tokens  # kept for the next run

    pending = entry_count(shop)
    netsuite.revoke(CERTIFICATE_ID)  # someone revoked the M2M certificate mapping
    netsuite.expire_tokens()
    summary = push(shop, target)
    assert summary.posted == 0 and summary.unavailable == pending == entry_count(shop)
    (problem,) = [e for e in shop.exceptions() if e["type"] == "connector_auth_failure"]
    assert "invalid_client" in problem["reason"] and CLIENT_ID in problem["reason"]


def test_refusals_carry_netsuites_message_and_go_again_once_fixed(
    db_url: str, netsuite: FakeNetSuite, clock: FakeClock, keys: tuple[str, str]
) -> None:
    shop = sold_and_shipped(db_url)
    total = entry_count(shop)
    netsuite.close_period(T0.date() - timedelta(days=1))  # the opening stock's day is closed
    mapping = {k: v for k, v in ACCOUNTS.items() if k != "Assets:Clearing"}  # not mapped at all
    mapping["Expenses:COGS"] = "999"  # an internal id this NetSuite account does not have
    summary = push(shop, connect(shop, netsuite, clock, keys, accounts=mapping))
    assert summary.rejected == 12 + 1 + 1 and summary.posted == total - 14

    with shop.hub.uow() as uow:
        rows = [
            r
            for r in SqlErpPostingRepository(uow.conn).posted("netsuite")
            if r["status"] == "rejected"
        ]
    why = {r["entry_key"]: r["message"] for r in rows}
    closed = [m for k, m in why.items() if k.startswith("receipt:")]
    assert len(closed) == 12 and all("not within an open accounting period" in m for m in closed)
    (cogs,) = [m for k, m in why.items() if k.endswith(":cogs")]
    assert "Invalid Field Value 999 for the following field: account" in cogs
    capture = next(r for r in rows if ":capture:" in r["entry_key"])
    assert "[erp.netsuite.accounts]" in capture["message"]
    assert capture["idempotency_key"] not in netsuite.upserts  # refused before it was sent
    problems = [e for e in shop.exceptions() if e["type"] == "posting_rejected"]
    assert len(problems) == 14 and {p["owner"] for p in problems} == {"finance"}

    netsuite.closed_through = None  # the period reopened and the map fixed: the same keys again
    fixed = push(shop, connect(shop, netsuite, clock, keys), retry_rejected=True)
    assert fixed.posted == 14 and len(journals(netsuite)) == total


def test_with_documents_revenue_is_a_cash_sale_and_a_refund_a_cash_refund(
    db_url: str, netsuite: FakeNetSuite, clock: FakeClock, keys: tuple[str, str]
) -> None:
    shop = open_shop(db_url)
    shirt = shop.line("SHIRT-M")
    order = shop.order([shirt])
    shop.deliver("orders/create", order)
    shop.deliver("fulfillments/create", shop.fulfilment(order, "WH", [(shirt.line_id, 1)], T0))
    shop.deliver("refunds/create", shop.refund(order, [(shirt.line_id, 1, "return", 70001)], T0))
    shop.process()
    total = entry_count(shop)
    items = {"Income:Sales": "31", "Liabilities:Sales-Tax": "32", "Income:Shipping": "33"}
    target = connect(
        shop, netsuite, clock, keys, documents=True, customers={"web": "88"}, items=items
    )
    summary = push(shop, target)
    assert summary.documents == {"cashSale": 1, "cashRefund": 1, "journalEntry": total - 2}

    ((_, sale),) = netsuite.records["cashSale"].items()
    assert sale["entity"] == {"id": "88"} and sale["account"] == {"id": "240"}
    assert sale["undepFunds"] is False and sale["tranDate"] == T0.date().isoformat()
    assert sorted((i["item"]["id"], i["amount"]) for i in sale["item"]["items"]) == [
        ("31", Decimal("59.95")),
        ("32", Decimal("2.40")),
        ("32", Decimal("2.70")),
    ]
    ((_, refund),) = netsuite.records["cashRefund"].items()
    assert refund["account"] == {"id": "110"}  # paid back from the Shopify Payments clearing
    assert sum(i["amount"] for i in refund["item"]["items"]) == Decimal("65.05")
    assert all("?replace=item" in c.path for c in netsuite.calls if "/cash" in c.path)


def test_an_entry_in_two_currencies_becomes_one_balanced_journal_per_currency(
    db_url: str, netsuite: FakeNetSuite, clock: FakeClock, keys: tuple[str, str]
) -> None:
    shop = open_shop(db_url)
    netsuite.currencies = {"1", "4"}
    entry = JournalEntry(
        date(2026, 11, 20),
        "Marketplace payout converted at the bank",
        SourceRef("settlement", "AMZ-EU-77"),
        (
            JournalLine("Assets:Clearing:Amazon", 10000, "EUR"),
            JournalLine("Income:Sales", -10000, "EUR"),
            JournalLine("Assets:Clearing:Amazon", 10850, "USD"),
            JournalLine("Income:Sales", -10850, "USD"),
        ),
        "payout",
    )
    key = idempotency_key("netsuite", entry.key)
    posting = OutboundPosting(1, entry, key, "USD")
    target = connect(shop, netsuite, clock, keys)
    with pytest.raises(PostingRejected, match=r"\[erp.netsuite.currencies\] EUR"):
        target.post(posting)
    assert not netsuite.upserts  # refused whole, before either half was sent

    target = connect(shop, netsuite, clock, keys, currencies={"USD": "1", "EUR": "4"})
    posted = target.post(posting)
    eur, usd = netsuite.journal(f"{key}-EUR"), netsuite.journal(f"{key}-USD")
    assert posted == Posted("journalEntry", f"{eur['id']},{usd['id']}")
    assert len(f"{key}-EUR") <= 50
    assert eur["currency"] == {"id": "4"} and usd["currency"] == {"id": "1"}
    assert [i.get("debit") for i in eur["line"]["items"]] == [Decimal("100.00"), None]
    assert target.post(posting) == posted and len(journals(netsuite)) == 2  # a retry: same two


def test_retailhub_erp_push_netsuite_from_the_command_line(
    db_url: str,
    netsuite: FakeNetSuite,
    keys: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shop = sold_and_shipped(db_url)
    total = entry_count(shop)
    netsuite.clock = SystemClock()  # the CLI runs on real time
    monkeypatch.setenv("NETSUITE_TEST_KEY", keys[0])
    accounts = "\n".join(f'"{k}" = "{v}"' for k, v in ACCOUNTS.items())
    config = tmp_path / "retailhub.toml"
    config.write_text(
        config_text(SECRET)
        + f'\n[erp.netsuite]\nbase_url = "{netsuite.url}"\nclient_id = "{CLIENT_ID}"\n'
        f'certificate_id = "{CERTIFICATE_ID}"\nprivate_key_env = "NETSUITE_TEST_KEY"\n'
        f'subsidiary = "1"\n\n[erp.netsuite.accounts]\n{accounts}\n'
    )
    cli, base = CliRunner(), ["--db", db_url, "--config", str(config)]
    run = cli.invoke(app, [*base, "erp", "push", "netsuite", "--json"])
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout)["posted"] == total == len(journals(netsuite))
    status = cli.invoke(app, [*base, "erp", "status", "netsuite", "--json"])
    assert json.loads(status.stdout)["netsuite"] == {"posted": total, "rejected": 0, "pending": 0}


class MemoryTokens:
    def __init__(self) -> None:
        self.token: StoredToken | None = None

    def load(self) -> StoredToken | None:
        return self.token

    def save(self, token: StoredToken, at: datetime) -> None:
        self.token = token


def test_the_registry_builds_netsuite_and_reads_netsuites_error_bodies(
    netsuite: FakeNetSuite, keys: tuple[str, str]
) -> None:
    tokens: Any = MemoryTokens()
    target = build_target("netsuite", options(netsuite, keys[0]), tokens, FakeClock().now)
    assert isinstance(target, NetSuiteTarget) and target.name == "netsuite"
    # Bodies in the shape of the examples in "Error Handling in REST Web Services".
    login = (FIXTURES / "error-invalid-login.json").read_text()
    body = (FIXTURES / "error-invalid-content.json").read_text()
    assert error_details(login)[1] == "INVALID_LOGIN"
    assert error_details(body) == (
        "Error while accessing resource: You have entered an Invalid Field Value 777 for the "
        "following field: account",
        "INVALID_CONTENT",
    )
