"""Item master files, CSV or JSON, into canonical items — every row checked, errors by line.

CSV columns (a header row; only ``sku``, ``title`` and ``unit_cost`` are required):

    sku, title, unit_cost, currency, barcode, style, options, uom, conversions, tax_class,
    tracks_inventory, shopify_variant_id, shopify_inventory_item_id, square_catalog_object_id,
    channels

``options`` is ``Colour=Navy;Size=M``; ``conversions`` is ``CASE=12;PACK=6`` (base units per
unit); ``unit_cost`` is a decimal in major units (``22.00``); ``tracks_inventory`` is
true/false; ``channels`` is where the item may be sold: ``web;pos`` (only there) or
``-amazon`` (everywhere but there), empty for everywhere. A JSON file is a list of objects with
the same keys (``options`` and ``conversions`` may also be objects).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from retailhub.domain.catalog import Item, UnitConversion, channel_eligibility
from retailhub.domain.money import Money, MoneyError

# column -> identity kind; "system:kind" for systems other than the import's default (Shopify)
IDENTITY_COLUMNS = {
    "shopify_variant_id": "variant",
    "shopify_inventory_item_id": "inventory_item",
    "square_catalog_object_id": "square:variant",  # a Square ITEM_VARIATION id
}
_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n", ""}


@dataclass(frozen=True, slots=True)
class ItemRow:
    line: int  # the file's line (CSV) or the list position + 1 (JSON)
    item: Item
    identities: dict[str, str]  # kind (or "system:kind") -> the other system's id


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def read_items(
    path: Path, default_currency: str, file_format: str | None = None
) -> tuple[list[ItemRow], list[RowError]]:
    """Every row of the file, parsed; rows that fail are reported, never half-taken."""
    kind = file_format or ("json" if path.suffix.lower() == ".json" else "csv")
    raw = path.read_bytes()
    try:
        records = list(_json_records(raw) if kind == "json" else _csv_records(raw))
    except (ValueError, csv.Error) as exc:
        return [], [RowError(0, f"{path}: not a readable {kind} file: {exc}")]
    rows: list[ItemRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for line, record in records:
        try:
            row = _row(line, record, default_currency)
        except ValueError as exc:
            errors.append(RowError(line, str(exc)))
            continue
        if row.item.sku in seen:
            errors.append(
                RowError(line, f"SKU {row.item.sku!r} already on line {seen[row.item.sku]}")
            )
            continue
        seen[row.item.sku] = line
        rows.append(row)
    return rows, errors


def _csv_records(raw: bytes) -> Iterator[tuple[int, Mapping[str, Any]]]:
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
    for record in reader:
        yield reader.line_num, record


def _json_records(raw: bytes) -> Iterator[tuple[int, Mapping[str, Any]]]:
    data = orjson.loads(raw)
    if not isinstance(data, list):
        raise ValueError("expected a list of item objects")
    for i, record in enumerate(data, 1):
        if not isinstance(record, dict):
            raise ValueError(f"item {i} is not an object")
        yield i, record


def _text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _pairs(value: Any, what: str) -> list[tuple[str, str]]:
    if value in (None, ""):
        return []
    if isinstance(value, Mapping):
        return [(str(k), str(v)) for k, v in value.items()]
    pairs = []
    for part in str(value).split(";"):
        if not part.strip():
            continue
        name, sep, val = part.partition("=")
        if not sep or not name.strip() or not val.strip():
            raise ValueError(f"{what}: {part.strip()!r} is not NAME=VALUE")
        pairs.append((name.strip(), val.strip()))
    return pairs


def _row(line: int, record: Mapping[str, Any], default_currency: str) -> ItemRow:
    sku, title = _text(record, "sku"), _text(record, "title")
    if not sku:
        raise ValueError("sku is missing")
    if not title:
        raise ValueError(f"{sku}: title is missing")
    cost = _text(record, "unit_cost")
    if cost is None:
        raise ValueError(f"{sku}: unit_cost is missing")
    currency = _text(record, "currency") or default_currency
    try:
        unit_cost = Money.of(cost, currency)
    except MoneyError as exc:
        raise ValueError(f"{sku}: unit_cost {cost!r}: {exc}") from exc
    if unit_cost.amount < 0:
        raise ValueError(f"{sku}: unit_cost cannot be negative")
    conversions = []
    for uom, factor in _pairs(record.get("conversions"), f"{sku}: conversions"):
        if not factor.isdigit() or int(factor) < 1:
            raise ValueError(f"{sku}: conversion {uom}={factor} needs a whole number of units")
        conversions.append(UnitConversion(uom, int(factor)))
    tracks = str(record.get("tracks_inventory", "true")).strip().lower()
    if tracks not in _TRUE | _FALSE:
        raise ValueError(f"{sku}: tracks_inventory must be true or false, not {tracks!r}")
    identities = {
        kind: text for column, kind in IDENTITY_COLUMNS.items() if (text := _text(record, column))
    }
    only, excluded = parse_eligibility(sku, record.get("channels") or None)
    item = Item(
        sku=sku,
        title=title,
        unit_cost=unit_cost,
        tax_class=_text(record, "tax_class") or "standard",
        barcode=_text(record, "barcode"),
        style=_text(record, "style"),
        options=tuple(_pairs(record.get("options"), f"{sku}: options")),
        uom=_text(record, "uom") or "EA",
        conversions=tuple(conversions),
        tracks_inventory=tracks in _TRUE or tracks == "",
        only_channels=only,
        excluded_channels=excluded,
    )
    return ItemRow(line, item, identities)


def parse_eligibility(sku: str, value: Any) -> tuple[frozenset[str], frozenset[str]]:
    """(only, excluded) channels from ``web;pos`` or ``-amazon;-ebay`` (or a JSON list of them).

    Empty means no restriction. Mixing the two forms in one cell is refused: "only web, but
    not amazon" says the same as "only web", and a reader would wonder what was meant.
    """
    if value is None:
        return frozenset(), frozenset()
    text = ";".join(str(p) for p in value) if isinstance(value, list) else str(value)
    only, excluded = channel_eligibility(text)
    if only and excluded:
        raise ValueError(
            f"{sku}: channels {value!r} mixes only-channels and -excluded ones; use one form"
        )
    if "" in excluded:
        raise ValueError(f"{sku}: channels {value!r} has a '-' with no channel name")
    return only, excluded
