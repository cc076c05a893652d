"""Bad input on the money side: a clear error, nothing lost, nothing half-applied.

Signed webhooks that fail verification (a wrong secret, a replayed Stripe timestamp, a Square
body signed for another URL) are refused but kept, with their raw body, as signature-failure
exceptions. Files (every settlement format, bank statements, POS batches) that are truncated
or have the wrong columns are refused whole, naming the line, and leave the database as it was.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from retail_shop import SECRET, open_shop
from retailhub.adapters.connectors.square.signature import sign
from retailhub.adapters.connectors.square.webhook import SquareWebhooks
from retailhub.adapters.connectors.stripe.signature import signature_header
from retailhub.adapters.connectors.stripe.webhook import StripeWebhooks
from retailhub.adapters.storage.tables import (
    bank_lines,
    inbox,
    journal_entries,
    settlement_lines,
    settlements,
)
from retailhub.bootstrap import Hub
from retailhub.demo.retailer import config_text
from retailhub.entrypoints.cli.main import app
from retailhub.services.intake import receive

FIXTURES = Path(__file__).parents[1] / "fixtures"
SETTLEMENT_FILES = {
    "amazon-v2": "settlements/amazon/v2-us-fba-refund-reserve.txt",
    "adyen": "settlements/adyen/settlement_detail_report_batch_118.csv",
    "paypal-stl": "settlements/paypal/STL-20240820.01.009.CSV",
    "stripe": "settlements/stripe/payout_reconciliation_itemized_5.csv",
    "shopify-payments": "settlements/shopify_payments/payment_transactions_export.csv",
}
WHSEC = "whsec_bad_input"
SQUARE_KEY = "square-signature-key"
SQUARE_URL = "https://hub.example.com/webhooks/square"


def test_refused_signatures_are_kept_not_applied(db_url: str) -> None:
    shop = open_shop(db_url)
    stripe = StripeWebhooks([WHSEC])
    square = SquareWebhooks([SQUARE_KEY], SQUARE_URL)
    body = (FIXTURES / "stripe/charge.succeeded.json").read_bytes()
    square_body = (FIXTURES / "square/payment-created-card.json").read_bytes()
    now = int(time.time())
    attempts = [
        (stripe, {"Stripe-Signature": signature_header("whsec_wrong", body, now)}, body),
        (stripe, {"Stripe-Signature": signature_header(WHSEC, body, now - 400)}, body),  # replay
        (stripe, {"Stripe-Signature": "t=abc,v1=zz"}, body),  # malformed
        (square, {"x-square-hmacsha256-signature": sign(SQUARE_KEY, SQUARE_URL + "x",
                                                        square_body)}, square_body),  # another URL
        (square, {"x-square-hmacsha256-signature": sign(SQUARE_KEY, SQUARE_URL, square_body)},
         square_body[:-5] + b"    }"),  # tampered after signing
    ]
    with shop.hub.uow() as uow:
        receipts = [receive(uow, source, headers, raw, shop.hub.clock())
                    for source, headers, raw in attempts]
        uow.commit()
    assert [r.status for r in receipts] == ["rejected"] * len(attempts)
    kept = [e for e in shop.exceptions() if e["type"] == "signature_failure"]
    assert len(kept) == len(attempts)  # each kept, owned by IT, to fix the secret and retry
    assert {e["owner"] for e in kept} == {"it"}
    assert shop.inbox().get("pending", 0) == 0  # nothing admitted

    # The same deliveries signed properly are admitted once each.
    good = [
        (stripe, {"Stripe-Signature": signature_header(WHSEC, body, now)}, body),
        (stripe, {"Stripe-Signature": signature_header(WHSEC, body, now + 1)}, body),  # redelivery
        (square, {"x-square-hmacsha256-signature": sign(SQUARE_KEY, SQUARE_URL, square_body)},
         square_body),
    ]
    with shop.hub.uow() as uow:
        statuses = [receive(uow, s, h, raw, shop.hub.clock()).status for s, h, raw in good]
        uow.commit()
    assert statuses == ["accepted", "duplicate", "accepted"]


def _cli(tmp: Path, db_url: str) -> tuple[CliRunner, list[str]]:
    path = tmp / "retailhub.toml"
    path.write_text(config_text(SECRET))
    return CliRunner(), ["--db", db_url, "--config", str(path)]


def _counts(hub: Hub) -> dict[str, int]:
    with hub.uow() as uow:
        return {t.name: uow.conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (settlements, settlement_lines, bank_lines, inbox, journal_entries)}


@pytest.mark.parametrize("fmt", list(SETTLEMENT_FILES))
def test_a_damaged_settlement_file_imports_nothing(
    fmt: str, db_url: str, tmp_path: Path
) -> None:
    shop = open_shop(db_url)
    before = _counts(shop.hub)
    cli, base = _cli(tmp_path, db_url)
    text = (FIXTURES / SETTLEMENT_FILES[fmt]).read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    damaged = {
        "truncated": "\n".join(lines[: max(3, len(lines) * 2 // 3)])[:-7],
        "wrong-columns": "\n".join(["when,what,how much", *lines[1:]]),
    }
    for name, content in damaged.items():
        path = tmp_path / f"{fmt}-{name}.txt"
        path.write_text(content)
        run = cli.invoke(app, [*base, "settlements", "import", str(path), "--format", fmt,
                               "--json"])
        assert run.exit_code == 1, (name, run.output)
        error = json.loads(run.stdout)
        assert error["imported"] == [] and error["line"] >= 1, (name, error)
        assert _counts(shop.hub) == before, name


def test_damaged_bank_statements_and_pos_batches_import_nothing(
    db_url: str, tmp_path: Path
) -> None:
    shop = open_shop(db_url)
    before = _counts(shop.hub)
    cli, base = _cli(tmp_path, db_url)
    camt = (FIXTURES / "bank/statement.camt053.xml").read_text()
    cut = tmp_path / "cut.xml"
    cut.write_text(camt[: len(camt) // 2])
    run = cli.invoke(app, [*base, "bank", "import", str(cut), "--json"])
    assert run.exit_code == 1 and "error" in json.loads(run.stdout)
    csv = tmp_path / "statement.csv"
    csv.write_text("date,amount,currency,reference,account\n2026-10-05,12.3.4,USD,x,Ops\n")
    run = cli.invoke(app, [*base, "bank", "import", str(csv), "--json"])
    assert run.exit_code == 1 and json.loads(run.stdout)["line"] == 2

    batch = (FIXTURES / "pos/spr01-2025-03-15.jsonl").read_text().splitlines()
    broken = tmp_path / "day.jsonl"
    broken.write_text("\n".join([*batch[:4], batch[4][:-30], *batch[5:]]) + "\n")
    run = cli.invoke(app, [*base, "pos", "import", str(broken), "--json"])
    assert run.exit_code == 1 and json.loads(run.stdout)["line"] == 5
    assert _counts(shop.hub) == before  # not one line of either file was kept
