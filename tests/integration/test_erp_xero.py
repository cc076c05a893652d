"""The shop's books posted to Xero, against a fake Xero that keeps Xero's rules (tests/fakes_xero.py).

Every test runs the real pipeline (Shopify deliveries through intake and the processor, on
SQLite and PostgreSQL) and pushes with the real posting service; only Xero is made up. Time is
simulated (``FakeClock``) wherever limits or token lifetimes matter, so a storm of minutes runs
in milliseconds while the connector keeps Xero's real limits.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient as XeroSdkClient
from xero_python.api_client import Configuration
from xero_python.api_client.deserializer import deserialize
from xero_python.api_client.serializer import serialize

from fakes_channels import FakeClock
from fakes_xero import CLIENT_ID, CLIENT_SECRET, FIRST_REFRESH_TOKEN, TENANT_ID, FakeXero, Write
from retail_shop import SECRET, T0, Shop, after, open_shop
from retailhub.adapters.connectors.erp.xero import XeroTarget, from_options
from retailhub.adapters.connectors.erp.xero.errors import translate
from retailhub.adapters.connectors.kit import FatalError
from retailhub.adapters.storage.erp_repo import SqlErpPostingRepository, SqlTokenStore, StoredToken
from retailhub.demo.retailer import config_text
from retailhub.domain.ledger import JournalEntry, JournalLine, SourceRef
from retailhub.entrypoints.cli.main import app
from retailhub.services.erp_posting import (
    OutboundPosting,
    Posted,
    PostingRejected,
    PushSummary,
    TargetAuthFailed,
    idempotency_key,
    push_entries,
)

SECRET_VAR = "RETAILHUB_TEST_XERO_SECRET"
FIXTURES = Path(__file__).parents[1] / "fixtures"
AMAZON = FIXTURES / "settlements/amazon/v2-us-fba-refund-reserve.txt"
ACCOUNTS = {
    "Assets:Bank": "090",
    "Assets:Clearing": "120",
    "Assets:Inventory": "130",
    "Assets:Gateway-Reserves": "140",
    "Income:Sales": "200",
    "Income:Shipping": "210",
    "Income:Discounts": "220",
    "Income:Refund-Adjustments": "230",
    "Expenses:COGS": "310",
    "Expenses:Payment-Fees": "404",
    "Expenses:Marketplace-Commissions": "405",
    "Expenses:Settlement-Adjustments": "406",
    "Liabilities:Sales-Tax": "820",
    "Liabilities:Customer-Deposits": "825",
    "Liabilities:Gift-Cards": "830",
    "Equity:Opening-Balances": "970",
}
OPENING_ENTRIES = 12  # four SKUs received at three locations before trading starts


def _config(xero: FakeXero, extra: str = "", accounts: dict[str, str] = ACCOUNTS) -> str:
    mapped = "\n".join(f'"{hub}" = "{code}"' for hub, code in accounts.items())
    return f"""
[erp.xero]
base_url = "{xero.url}"
token_url = "{xero.token_url}"
tenant_id = "{TENANT_ID}"
client_id = "{CLIENT_ID}"
client_secret_env = "{SECRET_VAR}"
refresh_token = "{FIRST_REFRESH_TOKEN}"
{extra}

[erp.xero.accounts]
{mapped}

[erp.xero.tracking]
location = "Location"
channel = "Channel"

[erp.xero.tracking_options.location]
WH = "Warehouse"
"""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))


@pytest.fixture
def xero(clock: FakeClock) -> Iterator[FakeXero]:
    with FakeXero(clock=clock.monotonic) as fake:
        yield fake


@pytest.fixture
def targets() -> Iterator[list[XeroTarget]]:
    made: list[XeroTarget] = []
    yield made
    for target in made:
        target.close()


def _open(db_url: str, xero: FakeXero, monkeypatch: pytest.MonkeyPatch, extra: str = "") -> Shop:
    monkeypatch.setenv(SECRET_VAR, CLIENT_SECRET)
    return open_shop(db_url, extra_config=_config(xero, extra))


def _trade(shop: Shop, orders: int = 1) -> None:
    """``orders`` web orders of a shirt and two chinos, each shipped from the warehouse."""
    for _ in range(orders):
        shirt, chinos = shop.line("SHIRT-M"), shop.line("CHINO-32", 2)
        order = shop.order([shirt, chinos])
        shop.deliver("orders/create", order)
        lines = [(shirt.line_id, 1), (chinos.line_id, 2)]
        shop.deliver("fulfillments/create", shop.fulfilment(order, "WH", lines, T0))
    shop.process()


def _target(shop: Shop, clock: FakeClock, made: list[XeroTarget], **overrides: Any) -> XeroTarget:
    """A fresh target (as each ``retailhub erp push`` builds one), on simulated time."""
    options = {**shop.hub.settings.erp["xero"], **overrides}
    tokens = SqlTokenStore(shop.hub.engine, "xero")
    target = from_options(options, tokens, clock.now, sleep=clock.sleep, monotonic=clock.monotonic)
    made.append(target)
    return target


def _push(shop: Shop, target: Any, **kw: Any) -> PushSummary:
    return push_entries(shop.hub.uow, target, "USD", shop.hub.clock, **kw)


def _entries(shop: Shop) -> int:
    with shop.hub.uow() as uow:
        counts = SqlErpPostingRepository(uow.conn).status("xero")["xero"]
    return sum(counts.values())


def _recorded(shop: Shop) -> list[dict[str, Any]]:
    with shop.hub.uow() as uow:
        return [dict(r) for r in SqlErpPostingRepository(uow.conn).posted("xero")]


def _narrations(xero: FakeXero) -> list[str]:
    return [j["Narration"] for j in xero.documents["ManualJournal"]]


def _sdk_round_trip(write: Write) -> Any:
    """The body as xero-python's models read it; asserts they keep every field we sent.

    The SDK's serializer adds its own defaults (``HasAttachments: false`` …), so what we sent
    must be contained in what it would send, value for value.
    """
    sent = json.loads(write.raw)
    finder = AccountingApi(XeroSdkClient(Configuration(), pool_threads=1)).get_model_finder()
    model = deserialize(write.endpoint, sent, finder)
    _contained(sent, serialize(model), write.endpoint)
    return model


def _cents(value: Any) -> Decimal:
    # The SDK reads a JSON number into Decimal(float): the binary value, rounded back here.
    return Decimal(value).quantize(Decimal("0.01"))


def _contained(ours: Any, sdk: Any, path: str) -> None:
    if isinstance(ours, dict):
        assert isinstance(sdk, dict), path
        for key, value in ours.items():
            assert key in sdk, f"{path}.{key} is not a field of Xero's model"
            _contained(value, sdk[key], f"{path}.{key}")
    elif isinstance(ours, list):
        assert isinstance(sdk, list) and len(ours) == len(sdk), path
        for n, (a, b) in enumerate(zip(ours, sdk, strict=True)):
            _contained(a, b, f"{path}[{n}]")
    else:
        assert ours == sdk, f"{path}: we sent {ours!r}, the SDK would send {sdk!r}"


# -- posting ---------------------------------------------------------------------------------


def test_journals_land_on_the_mapped_accounts_once_and_a_rerun_sends_nothing(
    db_url: str, xero: FakeXero, clock: FakeClock, targets: list[XeroTarget],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    shop = _open(db_url, xero, monkeypatch)
    _trade(shop)
    summary = _push(shop, _target(shop, clock, targets))

    total = _entries(shop)
    assert summary.posted == total == OPENING_ENTRIES + 3 and summary.rejected == 0
    assert summary.documents == {"ManualJournal": total}
    created = xero.created("ManualJournals")
    assert len(created) == total == len(set(_narrations(xero)))
    # The first posting of a run looks for itself before sending (a crashed run's survivor).
    assert len(xero.lookups) == 1

    # Hand-checked: revenue for one shirt and two chinos shipped from the warehouse in New York.
    (revenue,) = [j for j in xero.documents["ManualJournal"]
                  if j["Narration"].startswith("Revenue recognised")]  # fmt: skip
    assert revenue["Narration"].endswith(":revenue]")
    assert revenue["Status"] == "POSTED" and revenue["LineAmountTypes"] == "NoTax"
    assert revenue["DateString"] == "2026-11-20T00:00:00"
    where = [{"Name": "Location", "Option": "Warehouse"}, {"Name": "Channel", "Option": "web"}]
    assert revenue["JournalLines"] == [
        {"LineAmount": Decimal("-217.95"), "AccountCode": "200", "Description": "Income:Sales",
         "Tracking": where},
        {"LineAmount": Decimal("-8.72"), "AccountCode": "820",
         "Description": "Liabilities:Sales-Tax:NY-State-Tax", "Tracking": where},
        {"LineAmount": Decimal("-9.81"), "AccountCode": "820",
         "Description": "Liabilities:Sales-Tax:New-York-City-Tax", "Tracking": where},
        {"LineAmount": Decimal("236.48"), "AccountCode": "825",
         "Description": "Liabilities:Customer-Deposits", "Tracking": where},
    ]  # fmt: skip

    # Each write carried the entry's own key, and we recorded the journal Xero made for it.
    recorded = _recorded(shop)
    by_key = {w.key: w for w in created}
    stored = {j["Narration"]: j["ManualJournalID"] for j in xero.documents["ManualJournal"]}
    for row in recorded:
        assert row["idempotency_key"] == idempotency_key("xero", row["entry_key"])
        write = by_key[row["idempotency_key"]]
        assert row["target_id"] == stored[write.body["ManualJournals"][0]["Narration"]]
        # What Xero's own SDK reads back is what we meant: lines, amounts, accounts.
        model = _sdk_round_trip(write).manual_journals[0]
        sent = write.body["ManualJournals"][0]["JournalLines"]
        assert [(line.account_code, _cents(line.line_amount)) for line in model.journal_lines
                ] == [(line["AccountCode"], line["LineAmount"]) for line in sent]  # fmt: skip

    calls = len(xero.answered)
    again = _push(shop, _target(shop, clock, targets))
    assert again.posted == 0 and len(xero.answered) == calls


# -- exactly once across crashes ---------------------------------------------------------------


class KilledAfterXeroAnswers:
    """The process dies between Xero's answer and our record of it."""

    name = "xero"

    def __init__(self, target: XeroTarget) -> None:
        self.target = target

    def post(self, posting: OutboundPosting) -> Posted:
        self.target.post(posting)
        raise SystemExit("killed after Xero accepted, before the hub recorded it")


def test_a_crash_after_xero_accepted_resends_the_same_key_and_xero_replays(
    db_url: str, xero: FakeXero, clock: FakeClock, targets: list[XeroTarget],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    shop = _open(db_url, xero, monkeypatch)
    _trade(shop)
    with pytest.raises(SystemExit):
        _push(shop, KilledAfterXeroAnswers(_target(shop, clock, targets)))
    assert len(xero.created("ManualJournals")) == 1 and _recorded(shop) == []
    (first,) = xero.created("ManualJournals")

    # Restarted within Xero's six minutes, without looking first: the key alone protects.
    clock.advance(120)
    summary = _push(shop, _target(shop, clock, targets, look_before_resending=False))
    assert summary.posted == _entries(shop)
    (replay,) = xero.replays
    assert replay.key == first.key and replay.raw == first.raw  # same key, same body
    assert len(xero.created("ManualJournals")) == _entries(shop)  # no second journal
    assert len(set(_narrations(xero))) == len(_narrations(xero))
    recorded = {r["idempotency_key"]: r["target_id"] for r in _recorded(shop)}
    assert recorded[first.key] == xero.documents["ManualJournal"][0]["ManualJournalID"]


def test_a_rerun_after_xero_forgot_the_key_finds_the_journal_instead_of_duplicating(
    db_url: str, xero: FakeXero, clock: FakeClock, targets: list[XeroTarget],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    shop = _open(db_url, xero, monkeypatch)
    _trade(shop)
    with pytest.raises(SystemExit):
        _push(shop, KilledAfterXeroAnswers(_target(shop, clock, targets)))
    clock.advance(3600)  # the worker comes back an hour later: Xero kept the key six minutes

    summary = _push(shop, _target(shop, clock, targets))
    assert summary.posted == _entries(shop)
    assert len(_narrations(xero)) == len(set(_narrations(xero))) == _entries(shop)
    assert xero.replays == [] and len(xero.lookups) == 2  # one per run, before its first send
    first = xero.documents["ManualJournal"][0]
    (row,) = [r for r in _recorded(shop) if r["target_id"] == first["ManualJournalID"]]
    assert first["Narration"].endswith(f"[{row['entry_key']}]")


def test_a_connection_lost_after_xero_stored_the_journal_is_retried_with_the_same_key(
    db_url: str, xero: FakeXero, clock: FakeClock, targets: list[XeroTarget],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    shop = _open(db_url, xero, monkeypatch)
    xero.drop_after_commit = 1
    summary = _push(shop, _target(shop, clock, targets), limit=3)
    assert summary.posted == 3
    (replay,) = xero.replays
    assert len(xero.created("ManualJournals")) == 3
    assert replay.key == xero.created("ManualJournals")[0].key


# -- limits ------------------------------------------------------------------------------------


def test_a_rate_limit_storm_is_waited_out_and_everything_posts_once(
    db_url: str, xero: FakeXero, clock: FakeClock, targets: list[XeroTarget],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    shop = _open(db_url, xero, monkeypatch)
    _trade(shop, orders=6)
    xero.minute_limit = 10  # a stricter organisation than the connector assumes (60)
    started = clock.monotonic()
    summary = _push(shop, _target(shop, clock, targets))

    total = _entries(shop)
    assert summary.posted == total == OPENING_ENTRIES + 18 and summary.unavailable == 0
    assert len(xero.created("ManualJournals")) == total == len(set(_narrations(xero)))
    storms = [t for t in xero.throttled if t.problem == "minute"]
    assert storms, "the storm never reached the connector"
    # Each 429 was honoured: nothing came back before its Retry-After was over.
    for t in storms:
        later = [at for at, _, _ in xero.answered if at > t.at]
        assert later and min(later) >= t.at + t.retry_after
    # The connector paced itself from X-MinLimit-Remaining: 429s are the exception, not the rule.
    assert len(storms) <= total // xero.minute_limit + 1
    assert clock.monotonic() - started >= 60 * (total // 10 - 1)


def test_a_storm_outlasting_the_retries_leaves_the_entries_pending(
    db_url: str, xero: FakeXero, clock: FakeClock, targets: list[XeroTarget],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    shop = _open(db_url, xero, monkeypatch)
    xero.hog = "minute"  # another app of the organisation keeps the minute spent
    summary = _push(shop, _target(shop, clock, targets))
    assert summary.posted == 0 and summary.unavailable == _entries(shop) == OPENING_ENTRIES
    assert len(xero.throttled) == 5  # the kit's five attempts, each after Retry-After (30 s)
    assert sum(1 for s in clock.sleeps if s >= 30) >= 4
    assert any(e["type"] == "connector_error" for e in shop.exceptions())
    assert xero.created("ManualJournals") == []

    xero.hog = None
    assert _push(shop, _target(shop, clock, targets)).posted == OPENING_ENTRIES
    assert len(xero.created("ManualJournals")) == OPENING_ENTRIES


def test_the_daily_limit_stops_the_push_at_once_and_the_rest_posts_the_next_day(
    db_url: str, xero: FakeXero, clock: FakeClock, targets: list[XeroTarget],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    shop = _open(db_url, xero, monkeypatch)
    _trade(shop, orders=2)
    xero.day_limit = 10  # scaled down from 5,000
    summary = _push(shop, _target(shop, clock, targets))
    total = _entries(shop)
    assert summary.posted == 9  # one look before the first send, nine journals
    assert summary.unavailable == total - 9
    assert [t.problem for t in xero.throttled] == ["day"]  # stopped at the first day 429
    assert all(s < 60 for s in clock.sleeps)  # did not sleep on a Retry-After of hours
    (problem,) = [e for e in shop.exceptions() if e["type"] == "connector_error"]
    assert "daily limit" in problem["reason"]

    clock.advance(86_400)
    assert _push(shop, _target(shop, clock, targets)).posted == total - 9
    assert len(xero.created("ManualJournals")) == total == len(set(_narrations(xero)))


# -- auth --------------------------------------------------------------------------------------


def test_tokens_refresh_rotate_and_persist_and_a_refused_refresh_is_an_auth_failure(
    db_url: str, xero: FakeXero, clock: FakeClock, targets: list[XeroTarget],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    shop = _open(db_url, xero, monkeypatch)
    store = SqlTokenStore(shop.hub.engine, "xero")

    # First connection: the configured refresh token is exchanged, the new pair kept at once.
    assert _push(shop, _target(shop, clock, targets), limit=2).posted == 2
    assert xero.grants == 1
    saved = store.load()
    assert saved is not None and saved.refresh_token == xero.refresh_token != FIRST_REFRESH_TOKEN
    assert saved.expires_at == clock.now() + timedelta(seconds=1800)

    # Xero no longer takes the access token we hold: 401, refresh, replay, posted.
    xero.expire_access_tokens()
    assert _push(shop, _target(shop, clock, targets), limit=2).posted == 2
    assert xero.grants == 2 and [s for _, _, s in xero.answered].count(401) == 1
    rotated = store.load()
    assert rotated is not None and rotated.refresh_token == xero.refresh_token
    assert rotated.expires_at == clock.now() + timedelta(seconds=1800)

    # Half an hour later the token is known to be stale: refreshed before any call.
    clock.advance(31 * 60)
    assert _push(shop, _target(shop, clock, targets), limit=2).posted == 2
    assert xero.grants == 3 and [s for _, _, s in xero.answered].count(401) == 1

    # The connection was removed in Xero: no refresh works; a person must reconnect.
    xero.revoke_refresh_tokens()
    pending = _entries(shop) - 6
    summary = _push(shop, _target(shop, clock, targets))
    assert summary.posted == 0 and summary.unavailable == pending
    (problem,) = [e for e in shop.exceptions() if e["type"] == "connector_auth_failure"]
    assert "invalid_grant" in problem["reason"]


# -- refusals ----------------------------------------------------------------------------------


def test_refusals_carry_xeros_own_messages_and_post_after_the_fix(
    db_url: str, xero: FakeXero, clock: FakeClock, targets: list[XeroTarget],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    shop = _open(db_url, xero, monkeypatch)
    _trade(shop)
    xero.lock_date = date(2026, 11, 19)  # the month-end close locked the opening stock's day
    broken = {k: v for k, v in ACCOUNTS.items() if k != "Liabilities:Sales-Tax"}
    broken["Expenses:COGS"] = "999"  # not in the organisation's chart
    summary = _push(shop, _target(shop, clock, targets, accounts=broken))

    assert summary.posted == 1 and summary.rejected == OPENING_ENTRIES + 2
    reasons = [e["reason"] for e in shop.exceptions() if e["type"] == "posting_rejected"]
    locked = [r for r in reasons if "Stock received" in r]
    assert len(locked) == OPENING_ENTRIES
    assert all("The document date cannot be before the period lock date, currently set at "
               "19-Nov-2026" in r for r in locked)  # fmt: skip
    assert any("Cost of goods sold" in r and "Account code '999' is not a valid code for this "
               "document." in r for r in reasons)  # fmt: skip
    assert any("Revenue recognised" in r and "has no xero account" in r for r in reasons)
    # Our own refusal (unmapped) never reached Xero; Xero's refusals created nothing.
    assert len(xero.writes) == OPENING_ENTRIES + 2
    assert len(xero.created("ManualJournals")) == 1

    xero.lock_date = None
    fixed = _push(shop, _target(shop, clock, targets), retry_rejected=True)
    assert fixed.posted == OPENING_ENTRIES + 2 and fixed.rejected == 0
    assert len(xero.created("ManualJournals")) == _entries(shop)


# -- documents and the CLI ---------------------------------------------------------------------


def test_documents_mode_posts_invoices_payments_and_bank_transactions_through_the_cli(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_VAR, CLIENT_SECRET)
    with FakeXero(clock=time.monotonic) as xero:  # the CLI runs on real time
        extra = 'documents = true\ncontact = "Shopify Customers"'
        shop = open_shop(db_url, extra_config=_config(xero, extra))
        shirt, chinos = shop.line("SHIRT-M"), shop.line("CHINO-32", 2)
        order = shop.order([shirt, chinos])
        shop.deliver("orders/create", order)
        shipped = shop.fulfilment(order, "WH", [(shirt.line_id, 1), (chinos.line_id, 2)], T0)
        shop.deliver("fulfillments/create", shipped)
        returned = after(order, [shipped])
        shop.deliver("refunds/create", shop.refund(returned, [(chinos.line_id, 1, "return", None)],
                                                   T0 + timedelta(days=1)))  # fmt: skip
        shop.process()
        config = tmp_path / "retailhub.toml"
        config.write_text(config_text(SECRET) + "\n" + _config(xero, extra))
        cli = CliRunner()
        base = ["--db", db_url, "--config", str(config)]
        settlement = tmp_path / "settlement.txt"
        shutil.copy(AMAZON, settlement)
        imported = cli.invoke(app, [*base, "settlements", "import", str(settlement),
                                    "--format", "amazon-v2", "--json"])  # fmt: skip
        assert imported.exit_code == 0, imported.output

        pushed = cli.invoke(app, [*base, "erp", "push", "xero", "--json"])
        assert pushed.exit_code == 0, pushed.output
        result = json.loads(pushed.stdout)
        total = _entries(shop)
        assert result["posted"] == total
        journals = total - 2
        assert result["documents"] == {
            "Invoice": 1,
            "BankTransaction": 1,
            "ManualJournal": journals,
        }
        assert len(xero.created("ManualJournals")) == journals
        assert any(n.startswith("Refund ") for n in _narrations(xero))  # refunds stay journals

        # Revenue: an ACCREC invoice for what was shipped, paid out of customer deposits.
        (invoice,) = xero.documents["Invoice"]
        assert invoice["Type"] == "ACCREC" and invoice["Contact"]["Name"] == "Shopify Customers"
        assert [(i["AccountCode"], i["UnitAmount"]) for i in invoice["LineItems"]] == [
            ("200", Decimal("217.95")),
            ("820", Decimal("8.72")),
            ("820", Decimal("9.81")),
        ]
        (payment,) = xero.documents["Payment"]
        assert payment["Invoice"]["InvoiceID"] == invoice["InvoiceID"]
        assert payment["Account"] == {"Code": "825"} and payment["Amount"] == Decimal("236.48")
        assert invoice["Status"] == "PAID" and invoice["AmountDue"] == 0

        # The Amazon payout: received (clearing, reserve released) less spent (fees…) = deposit.
        received, spent = xero.documents["BankTransaction"]
        assert (received["Type"], spent["Type"]) == ("RECEIVE", "SPEND")
        assert received["BankAccount"] == spent["BankAccount"] == {"Code": "090"}
        assert received["Total"] - spent["Total"] == Decimal("28.91")
        assert {i["AccountCode"] for i in spent["LineItems"]} >= {"404", "405"}

        # Every body is one Xero's own SDK models read and would send the same way.
        for write in [w for w in xero.writes if w.status == 200 and not w.replayed]:
            _sdk_round_trip(write)
        (sdk_invoice,) = _sdk_round_trip(xero.created("Invoices")[0]).invoices
        assert [(li.account_code, _cents(li.unit_amount)) for li in sdk_invoice.line_items] == [
            ("200", Decimal("217.95")),
            ("820", Decimal("8.72")),
            ("820", Decimal("9.81")),
        ]
        assert sdk_invoice.type == "ACCREC" and sdk_invoice.date == date(2026, 11, 20)
    with shop.hub.uow() as uow:
        status = SqlErpPostingRepository(uow.conn).status("xero")["xero"]
    assert status == {"posted": total, "rejected": 0, "pending": 0}


# -- currencies (no database: hand-built entries straight to the target) ------------------------


class MemoryTokens:
    def __init__(self) -> None:
        self.token: StoredToken | None = None

    def load(self) -> StoredToken | None:
        return self.token

    def save(self, token: StoredToken, at: datetime) -> None:
        self.token = token


def test_each_currency_of_an_entry_is_its_own_document_with_its_own_key(
    xero: FakeXero, clock: FakeClock
) -> None:
    xero.currencies = {"USD", "EUR"}
    payout = JournalEntry(
        date(2026, 11, 23), "Settlement stripe po_1", SourceRef("settlement", "stripe:po_1"),
        (JournalLine("Assets:Clearing:Stripe", -10_000, "USD"),
         JournalLine("Expenses:Payment-Fees:Stripe", 320, "USD"),
         JournalLine("Assets:Bank", 9_680, "USD"),
         JournalLine("Assets:Clearing:Stripe", -5_000, "EUR"),
         JournalLine("Assets:Bank:EUR", 5_000, "EUR")),
        "settlement",
    )  # fmt: skip
    key = idempotency_key("xero", payout.key)
    posting = OutboundPosting(1, payout, key, "USD")
    options = {
        "base_url": xero.url, "token_url": xero.token_url, "tenant_id": TENANT_ID,
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "refresh_token": FIRST_REFRESH_TOKEN, "documents": True,
        "accounts": {**ACCOUNTS, "Assets:Bank:EUR": "091"},
    }  # fmt: skip
    target = from_options(options, MemoryTokens(), clock.now, sleep=clock.sleep,
                          monotonic=clock.monotonic)  # fmt: skip
    try:
        posted = target.post(posting)
    finally:
        target.close()
    stored = xero.documents["BankTransaction"]
    assert [(d["CurrencyCode"], d["Type"], d["Total"]) for d in stored] == [
        ("USD", "RECEIVE", Decimal("100.00")), ("USD", "SPEND", Decimal("3.20")),
        ("EUR", "RECEIVE", Decimal("50.00"))]  # fmt: skip
    assert [w.key for w in xero.created("BankTransactions")] == [
        f"{key}-USD",
        f"{key}-USD-spend",
        f"{key}-EUR",
    ]
    assert posted == Posted(
        "BankTransaction", f"{stored[0]['BankTransactionID']},{stored[2]['BankTransactionID']}"
    )

    # As journals it cannot go: Xero's manual journals have no currency. Refused before sending.
    journals = from_options({**options, "documents": False}, MemoryTokens(), clock.now,
                            sleep=clock.sleep, monotonic=clock.monotonic)  # fmt: skip
    writes = len(xero.writes)
    try:
        with pytest.raises(PostingRejected, match="base currency") as refused:
            journals.post(posting)
    finally:
        journals.close()
    assert refused.value.code == "currency_not_base" and len(xero.writes) == writes
    with pytest.raises(ValueError, match="tenant_id"):
        from_options({**options, "tenant_id": ""}, MemoryTokens(), clock.now)

    # Another organisation's tenant id: Xero says 403, someone must fix the connection.
    elsewhere = from_options({**options, "tenant_id": "not-this-one"}, MemoryTokens(), clock.now,
                             sleep=clock.sleep, monotonic=clock.monotonic)  # fmt: skip
    try:
        with pytest.raises(TargetAuthFailed, match="403"):
            elsewhere.post(posting)
    finally:
        elsewhere.close()


def test_xeros_validation_body_becomes_the_message_finance_reads() -> None:
    """Xero's generic "A validation exception occurred" says nothing; the element messages do."""
    body = (FIXTURES / "erp/xero/validation-exception-lock-date.json").read_text()
    refused = translate(FatalError("PUT Invoices -> 400", status=400, body=body), "Invoice")
    assert isinstance(refused, PostingRejected)
    assert refused.document == "Invoice" and refused.code == "10"
    assert refused.message == (
        "The document date cannot be before the period lock date, currently set at 30-Nov-2018; "
        "The document date cannot be before the end of year lock date, currently set at "
        "30-Nov-2018"
    )
