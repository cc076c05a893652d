"""An Amazon settlement with commissions, FBA fees and a reserve, imported and reconciled.

The hub knows three of the four Amazon orders in the settlement and the partial refund (as the
marketplace order feed reports them). Importing the settlement posts it: the marketplace's
clearing account is relieved of what it paid out, commissions and fees go to expense, the
reserve Amazon released and withheld moves through the reserve account, and the bank gets the
net deposit. Reconciliation matches the known orders by their Amazon order id (principal, tax
and promotion rows summed) and queues the order the hub never saw, with its amount, for
finance. A truncated file is refused with its line number and nothing is imported.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from retail_shop import open_shop
from retailhub.domain.events import PaymentReported
from retailhub.domain.payments import ExpectedReceipt, PaymentKind
from retailhub.entrypoints.cli.main import app
from retailhub.services.handlers import ApplyContext, apply_event

FIXTURE = Path(__file__).parents[1] / "fixtures/settlements/amazon/v2-us-fba-refund-reserve.txt"

# What the hub knows of the Amazon orders: captures (principal + tax − promotion) and a refund.
KNOWN = [
    ("111-4827305-1938462", PaymentKind.CAPTURE, 3818, datetime(2023, 1, 3, 9, tzinfo=UTC)),
    ("111-9051174-6620318", PaymentKind.CAPTURE, 3346, datetime(2023, 1, 5, 9, tzinfo=UTC)),
    ("111-3370428-5149206", PaymentKind.CAPTURE, 1998, datetime(2023, 1, 8, 9, tzinfo=UTC)),
    ("111-4827305-1938462", PaymentKind.REFUND, -1909, datetime(2023, 1, 10, 9, tzinfo=UTC)),
]
UNKNOWN_ORDER = "111-7714620-2286153"  # 19.99 + 1.60 tax: never reported to the hub


def test_amazon_settlement_posts_and_reconciles(db_url: str, tmp_path: Path) -> None:
    shop = open_shop(db_url)
    config = tmp_path / "retailhub.toml"
    config.write_text(_config_text(shop))
    with shop.hub.uow() as uow:
        ctx = ApplyContext(uow, shop.hub.settings.rules(), None, "amazon-orders:feed",
                           shop.hub.clock())
        for order, kind, amount, at in KNOWN:
            receipt = ExpectedReceipt("amazon", kind, amount, "USD", at, None, order,
                                      f"amazon:{order}:{kind.value}")
            apply_event(PaymentReported(receipt, None, at), ctx)
        uow.commit()
    cli = CliRunner()
    base = ["--db", db_url, "--config", str(config)]

    # A truncated download is refused whole, naming the line.
    truncated = tmp_path / "truncated.txt"
    truncated.write_text("\n".join(FIXTURE.read_text().splitlines()[:12])[:-40])
    refused = cli.invoke(app, [*base, "settlements", "import", str(truncated),
                               "--format", "amazon-v2", "--json"])
    assert refused.exit_code == 1, refused.output
    assert json.loads(refused.stdout)["line"] == 12
    assert shop.movement_balances() == {}  # nothing half-imported

    copy = tmp_path / "settlement.txt"
    shutil.copy(FIXTURE, copy)
    done = cli.invoke(app, [*base, "settlements", "import", str(copy), "--format", "amazon-v2",
                            "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["imported"] == ["amazon:12345678901"]
    again = cli.invoke(app, [*base, "settlements", "import", str(copy), "--format", "amazon-v2",
                             "--json"])
    assert json.loads(again.stdout)["duplicates"] == ["amazon:12345678901"]  # once only

    books = shop.movement_balances()
    assert books["Assets:Bank"] == 2891  # the deposit
    assert books["Assets:Clearing:Amazon"] == -(11321 - 1909)  # charges less the refund
    assert books["Expenses:Marketplace-Commissions:Amazon"] == 3057
    assert books["Expenses:Payment-Fees:Amazon"] == 4311  # subscription + storage fees
    assert books["Assets:Gateway-Reserves:Amazon"] == -700  # 45.00 released, 38.00 withheld
    assert books["Expenses:Settlement-Adjustments:Amazon"] == -147  # tax withheld, reimbursed
    assert sum(books.values()) == 0

    result = cli.invoke(app, [*base, "reconcile", "--gateway", "amazon", "--json"])
    assert result.exit_code == 1  # something is unmatched
    report = json.loads(result.stdout)
    assert report["counts"]["matched"] == 4
    assert report["counts"]["unknown_in_settlement"] == 1, json.dumps(report["unmatched"], indent=1)
    (unknown,) = report["unmatched"]
    assert unknown["outcome"] == "unknown_in_settlement"
    assert {ln["order_ref"] for ln in unknown["lines"]} == {UNKNOWN_ORDER}
    assert unknown["settled"] == 2159
    queued = [e for e in shop.exceptions() if e["type"] == "unknown_in_settlement"]
    assert len(queued) == 1 and queued[0]["owner"] == "finance"
    assert queued[0]["amount"] == 2159 and UNKNOWN_ORDER in queued[0]["reason"]

    # Running it again refreshes the same exception rather than opening a second.
    cli.invoke(app, [*base, "reconcile", "--gateway", "amazon", "--json"])
    assert len([e for e in shop.exceptions() if e["type"] == "unknown_in_settlement"]) == 1


def _config_text(shop: object) -> str:
    from retail_shop import SECRET
    from retailhub.demo.retailer import config_text

    return config_text(SECRET)
