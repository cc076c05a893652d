"""Settlement file readers: ``read_settlements(path, fmt)`` for every supported format.

Each reader turns the whole file into ``Settlement`` values or raises ``SettlementFileError``
naming the line at fault; nothing is returned for a file that is partly bad, so an import is
all or nothing.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from retailhub.adapters.files.settlements.common import Progress, SettlementFileError
from retailhub.domain.settlements import Settlement

# format name (as on the command line) -> module in this package exposing
# ``parse(data: bytes, on_progress: Progress | None) -> list[Settlement]``
FORMATS: dict[str, str] = {
    "amazon-v2": "amazon_v2",
    "adyen": "adyen",
    "paypal-stl": "paypal_stl",
    "stripe": "stripe_report",
    "shopify-payments": "shopify_payments",
}


def read_settlements(path: Path, fmt: str, on_progress: Progress | None = None) -> list[Settlement]:
    if fmt not in FORMATS:
        raise SettlementFileError(0, f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    module = importlib.import_module(f"{__name__}.{FORMATS[fmt]}")
    data = path.read_bytes()
    settlements: list[Settlement] = module.parse(data, on_progress)
    if not settlements:
        raise SettlementFileError(1, f"no settlement found in this {fmt} file")
    for s in settlements:
        if s.unexplained:
            raise SettlementFileError(
                s.lines[0].line_no if s.lines else 1,
                f"settlement {s.settlement_id}: lines add up to {s.total - s.unexplained} "
                f"minor units but the stated total is {s.total}",
            )
    return settlements


def count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for _ in fh)


__all__ = ["FORMATS", "Progress", "SettlementFileError", "count_lines", "read_settlements"]
