"""Store POS batch files, JSON lines or CSV, read into records ready for the inbox.

A register that was offline uploads its day later as a file (format: ``docs/pos-feed.md``).
The file is all or nothing: one bad record refuses the whole file, with the file line and what
is wrong, because a batch applied in part leaves a register's day half in the books and its
sequence full of holes. Each record comes back with its canonical body (the bytes the inbox
stores and ``PosFeedSource`` translates) and its first file line.

JSON lines: one record object per line; blank lines are skipped.
CSV: a header row with exactly ``CSV_COLUMNS`` (any order), then one row per line item or
tender. A record's rows are adjacent and repeat the record's own columns; a run of rows with
one (store, register, seq) is one record. A line taxed in a second jurisdiction takes a further
row right below it with only the tax columns (and the record's columns) filled.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from retailhub.adapters.connectors.pos import (
    RecordError,
    canonical_body,
    parse_record,
    record_type,
)

__all__ = ["CSV_COLUMNS", "PosFeedError", "PosRecord", "parse_pos_feed", "read_pos_feed"]

# The record's own columns, repeated on each of its rows.
RECORD_COLUMNS: tuple[str, ...] = (
    "type", "store", "register", "seq", "timestamp", "currency", "receipt", "original",
    "taxes_included", "voids", "amount", "reason", "business_day", "counted_cash",
    "opening_float",
)  # fmt: skip
LINE_COLUMNS: tuple[str, ...] = (
    "part", "line", "sku", "quantity", "unit_price", "discount", "line_amount", "disposition",
)  # fmt: skip
TAX_COLUMNS: tuple[str, ...] = ("tax_jurisdiction", "tax_rate", "tax_amount")
TENDER_COLUMNS: tuple[str, ...] = (
    "tender_method", "tender_amount", "tender_gateway", "tender_transaction_id", "gift_card",
)  # fmt: skip
CSV_COLUMNS: tuple[str, ...] = RECORD_COLUMNS + LINE_COLUMNS + TAX_COLUMNS + TENDER_COLUMNS

_WHOLE = re.compile(r"-?[0-9]+")
_RECEIPTED = frozenset({"sale", "return", "exchange"})


class PosFeedError(ValueError):
    """The file is refused: ``line`` is the 1-based file line, ``message`` says what is wrong."""

    def __init__(self, line: int, message: str, file: str | None = None) -> None:
        self.line = line
        self.message = message
        self.file = file
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.file else f"line {self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class PosRecord:
    """One record of a batch. ``line`` (where it was read) does not take part in equality."""

    store: str
    register: str
    seq: int
    type: str
    timestamp: datetime  # aware, the original time at the register
    receipt: str | None
    line: int = field(compare=False)
    body: bytes  # canonical JSON: what the inbox stores and the translator reads

    @property
    def event_id(self) -> str:
        return f"{self.store}:{self.register}:{self.seq}"

    @property
    def fingerprint(self) -> str:
        """A hash of the canonical body: equal for equal records, whatever file they came in."""
        return hashlib.sha256(self.body).hexdigest()


def read_pos_feed(path: Path, fmt: str | None = None) -> list[PosRecord]:
    """Every record in the file, in file order; ``PosFeedError`` if any record is bad."""
    raw = path.read_bytes()
    return parse_pos_feed(raw, fmt or _detect(path, raw), path.name)


def parse_pos_feed(raw: bytes, fmt: str, name: str | None = None) -> list[PosRecord]:
    """The records in ``raw`` (a whole file's bytes) in format ``"jsonl"`` or ``"csv"``."""
    if fmt not in ("jsonl", "csv"):
        raise ValueError(f"unknown POS feed format {fmt!r}; expected 'jsonl' or 'csv'")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PosFeedError(line, f"not UTF-8 text (byte {exc.start})", name) from None
    records: list[PosRecord] = []
    receipts: dict[tuple[str, str], PosRecord] = {}
    try:
        found = _jsonl(text) if fmt == "jsonl" else _csv(text)
        for line, data, locate in found:
            record = _record(line, data, locate)
            _check_receipt(record, receipts)
            records.append(record)
    except PosFeedError as exc:
        raise PosFeedError(exc.line, exc.message, name) from None
    return records


def _detect(path: Path, raw: bytes) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    return "jsonl" if raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") else "csv"


# A locator turns a record's JSON path into the file line, and the words that say where.
Locator = Callable[[str], tuple[int, str]]


def _record(line: int, data: dict[str, Any], locate: Locator) -> PosRecord:
    try:
        record = parse_record(data)
    except RecordError as exc:
        at, where = locate(exc.path)
        who = _who(data)
        raise PosFeedError(at, f"{who}{exc.message} ({where})") from None
    return PosRecord(
        store=record.store,
        register=record.register,
        seq=record.seq,
        type=record_type(record),
        timestamp=datetime.fromisoformat(record.timestamp),
        receipt=record.receipt,
        line=line,
        body=canonical_body(record),
    )


def _who(data: Mapping[str, Any]) -> str:
    parts = [data.get(k) for k in ("store", "register", "seq")]
    if any(p in (None, "") for p in parts):
        return ""
    return f"record {':'.join(str(p) for p in parts)}: "


def _check_receipt(record: PosRecord, receipts: dict[tuple[str, str], PosRecord]) -> None:
    """Receipt numbers are unique per store; two records on one receipt would share an order id.

    A record sent twice (same register and number) is a repeat for the sequence checks, not
    a clash here.
    """
    if record.type not in _RECEIPTED or record.receipt is None:
        return
    key = (record.store, record.receipt)
    earlier = receipts.setdefault(key, record)
    if earlier.event_id != record.event_id:
        raise PosFeedError(
            record.line,
            f"receipt {record.receipt} at store {record.store} is already used by record "
            f"{earlier.event_id} on line {earlier.line}; receipt numbers are unique per store",
        )


# -- JSON lines -----------------------------------------------------------------------------


def _jsonl(text: str) -> Iterator[tuple[int, dict[str, Any], Locator]]:
    for number, content in enumerate(text.split("\n"), 1):
        if not content.strip():
            continue
        try:
            data = msgspec.json.decode(content.encode())
        except msgspec.DecodeError as exc:
            if "truncated" in str(exc):
                message = "the JSON record is cut off before its end (truncated line)"
            else:
                message = f"not valid JSON: {exc}, counting from the start of the line"
            raise PosFeedError(number, message) from None
        if not isinstance(data, dict):
            raise PosFeedError(number, f"expected a record object, not {type(data).__name__}")

        def locate(path: str, number: int = number) -> tuple[int, str]:
            return number, f"at `{path}`"

        yield number, data, locate


# -- CSV ------------------------------------------------------------------------------------

Row = tuple[int, dict[str, str]]  # (file line, column → stripped cell)


def _csv(text: str) -> Iterator[tuple[int, dict[str, Any], Locator]]:
    group: list[Row] = []
    for row in _csv_rows(text):
        if group and _key(row) != _key(group[0]):
            yield _csv_record(group)
            group = []
        group.append(row)
    if group:
        yield _csv_record(group)


def _csv_rows(text: str) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise PosFeedError(1, "the file is empty; a CSV feed starts with its header row") from None
    _check_header(header)
    start = reader.line_num + 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise PosFeedError(
                    line, f"the row has {len(cells)} cells but the header has {len(header)}"
                )
            yield line, {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
    except csv.Error as exc:
        raise PosFeedError(reader.line_num, f"not readable as CSV: {exc}") from None


def _check_header(header: list[str]) -> None:
    problems = []
    missing = [c for c in CSV_COLUMNS if c not in header]
    unknown = [c for c in header if c not in CSV_COLUMNS]
    doubled = sorted({c for c in header if header.count(c) > 1})
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown {', '.join(repr(c) for c in unknown)}")
    if doubled:
        problems.append(f"repeated {', '.join(doubled)}")
    if problems:
        raise PosFeedError(
            1,
            f"the header's columns are wrong ({'; '.join(problems)}); a POS CSV feed has "
            f"exactly these columns, in any order: {','.join(CSV_COLUMNS)}",
        )


def _key(row: Row) -> tuple[str, str, str]:
    cells = row[1]
    return cells["store"], cells["register"], cells["seq"]


def _csv_record(rows: list[Row]) -> tuple[int, dict[str, Any], Locator]:
    first_line, first = rows[0]
    for line, cells in rows[1:]:
        for column in RECORD_COLUMNS:
            if cells[column] != first[column]:
                raise PosFeedError(
                    line,
                    f"column {column} is {cells[column]!r} here but {first[column]!r} on line "
                    f"{first_line}; a record's own columns repeat, alike, on each of its rows",
                )
    data: dict[str, Any] = {
        c: first[c] for c in RECORD_COLUMNS if first[c] and c not in ("seq", "taxes_included")
    }
    if first["seq"]:
        data["seq"] = _whole(first["seq"], "seq", first_line)
    if first["taxes_included"]:
        data["taxes_included"] = _flag(first["taxes_included"], first_line)
    lines: dict[str, list[dict[str, Any]]] = {}
    tenders: list[dict[str, Any]] = []
    located: dict[str, int] = {}
    above: dict[str, Any] | None = None  # the line row a tax-only row adds to
    above_path = ""
    for line, cells in rows:
        has_line = any(cells[c] for c in LINE_COLUMNS)
        has_tax = any(cells[c] for c in TAX_COLUMNS)
        if any(cells[c] for c in TENDER_COLUMNS):
            if has_line or has_tax:
                raise PosFeedError(line, "a row holds a line or a tender, not both")
            located[f"$.tenders[{len(tenders)}]"] = line
            tenders.append(_tender(cells))
            above = None
        elif has_line:
            part = _part(str(data.get("type", "")), cells["part"], line)
            items = lines.setdefault(part, [])
            above_path = f"$.{part}[{len(items)}]"
            located[above_path] = line
            sold = part == "sold" or data.get("type") == "sale"
            above = _sale_line(cells, line) if sold else _return_line(cells, line)
            above["taxes"] = []
            items.append(above)
            if has_tax:
                located[f"{above_path}.taxes[0]"] = line
                above["taxes"].append(_tax(cells))
        elif has_tax:
            if above is None:
                raise PosFeedError(
                    line, "a row with only tax columns adds a tax to the line row right above it, "
                    "but there is none",
                )  # fmt: skip
            located[f"{above_path}.taxes[{len(above['taxes'])}]"] = line
            above["taxes"].append(_tax(cells))
        elif data.get("type") in _RECEIPTED:
            raise PosFeedError(line, "the row holds neither a line, a tax nor a tender")
        elif line != first_line:
            raise PosFeedError(
                line,
                f"a {data.get('type', 'record')} is a single row, but this row repeats the "
                f"store, register and seq of line {first_line}",
            )
    for part, items in lines.items():
        for item in items:
            if not item["taxes"]:
                del item["taxes"]
        data[part] = items
    if tenders:
        data["tenders"] = tenders

    def locate(path: str) -> tuple[int, str]:
        prefixes = [p for p in located if path == p or path.startswith((p + ".", p + "["))]
        at = located[max(prefixes, key=len)] if prefixes else first_line
        return at, f"column {_column(path)}" if _column(path) else f"at `{path}`"

    return first_line, data, locate


def _part(kind: str, part: str, line: int) -> str:
    """Which list of the record a line row belongs to."""
    if kind == "exchange":
        if part not in ("returned", "sold"):
            raise PosFeedError(
                line, f"an exchange's line rows say part returned or sold, not {part!r}"
            )
        return part
    if part:
        raise PosFeedError(line, f"column part is only for exchanges, not a {kind or 'record'}")
    if kind in ("sale", "return"):
        return "lines"
    raise PosFeedError(line, f"a {kind or 'record'} has no lines; leave the line columns empty")


def _sale_line(cells: Mapping[str, str], line: int) -> dict[str, Any]:
    for column in ("line_amount", "disposition"):
        if cells[column]:
            raise PosFeedError(line, f"column {column} is for returned lines, not lines sold")
    return _filled(
        {
            "line": cells["line"],
            "sku": cells["sku"],
            "quantity": _whole(cells["quantity"], "quantity", line) if cells["quantity"] else "",
            "unit_price": cells["unit_price"],
            "discount": cells["discount"],
        }
    )


def _return_line(cells: Mapping[str, str], line: int) -> dict[str, Any]:
    for column in ("unit_price", "discount"):
        if cells[column]:
            raise PosFeedError(line, f"column {column} is for lines sold, not returned lines")
    return _filled(
        {
            "line": cells["line"],
            "sku": cells["sku"],
            "quantity": _whole(cells["quantity"], "quantity", line) if cells["quantity"] else "",
            "amount": cells["line_amount"],
            "disposition": cells["disposition"],
        }
    )


def _tax(cells: Mapping[str, str]) -> dict[str, Any]:
    return _filled(
        {
            "jurisdiction": cells["tax_jurisdiction"],
            "rate": cells["tax_rate"],
            "amount": cells["tax_amount"],
        }
    )


def _tender(cells: Mapping[str, str]) -> dict[str, Any]:
    return _filled(
        {
            "method": cells["tender_method"],
            "amount": cells["tender_amount"],
            "gateway": cells["tender_gateway"],
            "transaction_id": cells["tender_transaction_id"],
            "gift_card": cells["gift_card"],
        }
    )


def _filled(values: dict[str, Any]) -> dict[str, Any]:
    """An empty cell is an absent field, so the record checks name what is missing."""
    return {k: v for k, v in values.items() if v != ""}


def _whole(text: str, column: str, line: int) -> int:
    if not _WHOLE.fullmatch(text):
        raise PosFeedError(line, f"column {column}: {text!r} is not a whole number")
    return int(text)


def _flag(text: str, line: int) -> bool:
    value = text.lower()
    if value not in ("true", "false"):
        raise PosFeedError(line, f"column taxes_included: {text!r} is not true or false")
    return value == "true"


def _column(path: str) -> str | None:
    """The CSV column a record path is about: ``$.tenders[0].amount`` → ``tender_amount``."""
    segments: list[str] = re.findall(r"\.([a-z_]+)", path)
    if not segments:
        return None
    name = segments[-1]
    if "taxes" in segments[:-1]:
        return f"tax_{name}"
    if segments[0] == "tenders" and len(segments) > 1:
        return name if name == "gift_card" else f"tender_{name}"
    if segments[0] in ("lines", "returned", "sold") and len(segments) > 1:
        return "line_amount" if name == "amount" and segments[0] != "sold" else name
    if name in CSV_COLUMNS:
        return name
    return None
