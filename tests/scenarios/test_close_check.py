"""Close readiness: before finance locks a month, what is still in the way?

January 2023's Amazon settlement is imported but not reconciled: the month is not ready.
After reconciliation one settlement line is still unknown (and queued for finance): still not
ready, and the report says which settlement and why. December 2022, with nothing in it, is.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from retail_shop import SECRET, open_shop
from retailhub.demo.retailer import config_text
from retailhub.entrypoints.cli.main import app

FIXTURE = Path(__file__).parents[1] / "fixtures/settlements/amazon/v2-us-fba-refund-reserve.txt"


def test_a_month_with_an_unreconciled_settlement_is_not_ready(db_url: str, tmp_path: Path) -> None:
    open_shop(db_url)
    config = tmp_path / "retailhub.toml"
    config.write_text(config_text(SECRET))
    cli, base = CliRunner(), ["--db", db_url, "--config", str(config)]

    def check(period: str) -> tuple[int, dict[str, object]]:
        run = cli.invoke(app, [*base, "close", "check", period, "--json"])
        return run.exit_code, json.loads(run.stdout)

    assert cli.invoke(app, [*base, "settlements", "import", str(FIXTURE), "--format",
                            "amazon-v2"]).exit_code == 0
    code, report = check("2023-01")
    assert code == 1 and report["ready"] is False
    assert report["unreconciled_settlements"] == ["amazon:12345678901: never reconciled"]

    cli.invoke(app, [*base, "reconcile"])
    code, report = check("2023-01")
    assert code == 1 and report["every_settlement_reconciled"] is False
    (why,) = report["unreconciled_settlements"]  # type: ignore[misc]
    assert "not matched" in why  # the hub knows none of these Amazon orders
    assert report["open_exceptions_by_owner"]["finance"] >= 1  # type: ignore[index]

    code, quiet = check("2022-12")
    assert quiet["every_day_posted"] and quiet["every_settlement_reconciled"]
    assert quiet["unposted_deliveries"] == {}
    assert cli.invoke(app, [*base, "close", "check", "2023-13"]).exit_code == 2
