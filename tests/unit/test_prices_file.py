"""Price list files: every row read exactly or refused with its line, nothing taken on faith.

Fixtures: tests/fixtures/prices/ (see the README there for what each line holds).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from retailhub.adapters.files.prices import (
    PriceRow,
    eligibility,
    parse_eligibility,
    read_prices,
)
from retailhub.domain.money import Money
from retailhub.domain.pricing import PriceEntry, PriceList

FIXTURES = Path(__file__).parents[1] / "fixtures" / "prices"
HEADER = "sku,channel,location,price,currency,effective_from,effective_to\n"


def read(name: str, currency: str = "USD") -> tuple[list[PriceRow], list[str]]:
    rows, errors = read_prices(FIXTURES / name, currency)
    return rows, [str(e) for e in errors]


def write(tmp_path: Path, text: str, name: str = "prices.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- good files -------------------------------------------------------------------------------


def test_the_demo_price_list_reads_into_exact_entries_by_line():
    rows, errors = read("demo-prices.csv")
    assert errors == []
    assert [r.line for r in rows] == [2, 3, 4, 5, 6, 7, 8, 9]
    markdown = rows[1].entry
    assert markdown == PriceEntry(
        "TEE-BLK-M", "web", Money(2200, "USD"), date(2025, 3, 20), date(2025, 3, 31)
    )
    airport = rows[4].entry
    assert (airport.channel, airport.location, airport.price) == (
        "pos",
        "AIR01",
        Money(2800, "USD"),
    )
    cap = rows[5].entry  # currency left empty: the company currency
    assert (cap.price, cap.effective_to, cap.location) == (Money(1999, "USD"), None, None)


def test_the_file_becomes_a_price_list_that_answers_by_day_and_store():
    rows, _ = read("demo-prices.csv")
    prices = PriceList(r.entry for r in rows)
    assert prices.price_for("TEE-BLK-M", "web", None, date(2025, 3, 25)) == Money(2200, "USD")
    assert prices.price_for("TEE-BLK-M", "web", None, date(2025, 4, 1)) == Money(2700, "USD")
    assert prices.price_for("TEE-BLK-M", "pos", "AIR01", date(2025, 4, 1)) == Money(2800, "USD")
    assert prices.price_for("MUG-WHT-12", "web", None, date(2025, 7, 1)) is None


def test_json_and_csv_of_the_same_list_give_the_same_entries():
    csv_rows, csv_errors = read("demo-prices.csv")
    json_rows, json_errors = read("demo-prices.json")
    assert csv_errors == json_errors == []
    assert [r.entry for r in json_rows] == [r.entry for r in csv_rows]
    assert [r.line for r in json_rows] == list(range(1, 9))  # JSON: position in the list


def test_json_numbers_are_read_from_their_text_never_through_float(tmp_path):
    # 90071992547409.93 has more digits than a float holds: through float it becomes …9.94.
    body = (
        '[{"sku": "A", "channel": "web", "price": 1.10, "effective_from": "2025-01-01"},'
        ' {"sku": "B", "channel": "web", "price": 90071992547409.93,'
        ' "effective_from": "2025-01-01"},'
        ' {"sku": "C", "channel": "web", "price": 8.675, "currency": "KWD",'
        ' "effective_from": "2025-01-01"}]'
    )
    rows, errors = read_prices(write(tmp_path, body, "p.json"), "USD")
    assert errors == []
    assert [r.entry.price for r in rows] == [
        Money(110, "USD"),
        Money(9007199254740993, "USD"),
        Money(8675, "KWD"),
    ]


def test_a_zero_decimal_currency_takes_whole_yen_only(tmp_path):
    path = write(
        tmp_path,
        HEADER + "TEE,web-jp,,1500,JPY,2025-01-01,\nCAP,web-jp,,1500.50,JPY,2025-01-01,\n",
    )
    rows, errors = read_prices(path, "USD")
    assert [r.entry.price for r in rows] == [Money(1500, "JPY")]
    assert [str(e) for e in errors] == [
        "line 3: CAP: price 1500.50 has more decimals than JPY allows (0)"
    ]


def test_trailing_zeros_are_exact_and_accepted(tmp_path):
    rows, errors = read_prices(write(tmp_path, HEADER + "TEE,web,,19.990,USD,2025-01-01,\n"), "USD")
    assert errors == []
    assert rows[0].entry.price == Money(1999, "USD")


# -- bad files: every fault, by line ----------------------------------------------------------


def test_every_bad_row_is_reported_with_its_line_and_what_is_wrong():
    rows, errors = read("bad-rows.csv")
    assert errors == [
        "line 3: TEE-BLK-M: price '1,299.00' is not a decimal amount (e.g. 19.99)",
        "line 4: TEE-BLK-M: price 22.999 has more decimals than USD allows (2)",
        "line 5: CAP-RED-OS: effective_from '03/01/2025' is not a date (YYYY-MM-DD)",
        "line 6: CAP-RED-OS: effective_from '2025-02-30' is not a calendar date",
        "line 8: MUG-WHT-12 on web 2025-06-01..2025-06-07 overlaps line 7 "
        "(MUG-WHT-12 on web 2025-01-01..2025-06-30) on 2025-06-01: line 7 is a bounded price "
        "still running then; end it on 2025-05-31 or start this one after it",
        "line 9: MUG-WHT-12: price -1.00 is negative",
        "line 10: sku is missing",
        "line 11: CAP-RED-OS: currency: not an ISO-4217 currency code: 'EURO'",
        "line 12: CAP-RED-OS: effective_to 2025-04-01 is before effective_from 2025-05-01",
        "line 13: TEE-BLK-M on web 2025-01-01..open-ended overlaps line 2 "
        "(TEE-BLK-M on web 2025-01-01..open-ended) on 2025-01-01: both start that day; "
        "keep one of them",
    ]
    # The good rows are still parsed (so one run reports everything), but a caller that
    # imports only when ``errors`` is empty imports nothing from this file.
    assert [r.line for r in rows] == [2, 7, 8, 13]


def test_a_misspelt_column_refuses_the_whole_file(tmp_path):
    rows, errors = read("bad-header.csv")
    assert rows == []
    assert errors == [
        "line 1: header: unknown column(s) 'efective_to' (expected sku, channel, location, "
        "price, currency, effective_from, effective_to)"
    ]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("sku,channel,location,currency,effective_from", "missing column(s) price"),
        ("sku,price,price,channel,effective_from", "column(s) price appear more than once"),
        ("SKU,channel,price,effective_from", "missing column(s) sku; unknown column(s) 'SKU'"),
    ],
)
def test_wrong_columns_are_named(tmp_path, header, message):
    rows, errors = read_prices(write(tmp_path, header + "\nTEE,web,1.00,2025-01-01\n"), "USD")
    assert rows == []
    assert len(errors) == 1
    assert errors[0].line == 1
    assert message in errors[0].message


def test_an_empty_file_has_no_header(tmp_path):
    _, errors = read_prices(write(tmp_path, ""), "USD")
    assert [str(e) for e in errors] == [
        "line 1: no header row; expected the columns sku, channel, location, price, currency, "
        "effective_from, effective_to"
    ]


def test_a_row_with_more_cells_than_the_header_is_refused(tmp_path):
    path = write(tmp_path, HEADER + "TEE,web,,19.99,USD,2025-01-01,,oops\n")
    rows, errors = read_prices(path, "USD")
    assert rows == []
    assert [str(e) for e in errors] == [
        "line 2: 1 more cell(s) than the header has columns: ['oops']"
    ]


def test_missing_required_values_are_named(tmp_path):
    path = write(tmp_path, HEADER + "TEE,,,19.99,USD,2025-01-01,\nTEE,web,,,USD,2025-01-01,\n"
                 "TEE,web,,19.99,USD,,\n")  # fmt: skip
    _, errors = read_prices(path, "USD")
    assert [str(e) for e in errors] == [
        "line 2: TEE: channel is missing",
        "line 3: TEE: price is missing",
        "line 4: TEE: effective_from is missing",
    ]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ('{"sku": "A", "channel": "web", "price": "1.00", "effective_from": "2025-01-01",'
         ' "efective_to": "2025-02-01"}', "$[1]: unknown key(s) 'efective_to'"),
        ('{"sku": "A", "channel": "web", "price": true, "effective_from": "2025-01-01"}',
         "$[1]: A: price True is not a decimal amount"),
        ('{"sku": "A", "channel": "web", "price": null, "effective_from": "2025-01-01"}',
         "$[1]: A: price is missing"),
        ('{"sku": "A", "channel": "web", "price": "1.00", "effective_from": 20250101}',
         "$[1]: A: effective_from '20250101' is not a date (YYYY-MM-DD)"),
    ],
)  # fmt: skip
def test_json_rows_say_which_object_and_field(tmp_path, record, message):
    good = '{"sku": "B", "channel": "web", "price": "2.00", "effective_from": "2025-01-01"}'
    rows, errors = read_prices(write(tmp_path, f"[{good}, {record}]", "p.json"), "USD")
    assert [r.line for r in rows] == [1]
    assert [(e.line, e.message) for e in errors] == [(2, message)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"sku": "A"}', "expected a list of price objects"),
        ('["A"]', "$[0]: is not an object"),
        ('[{"sku": "A",', "not a readable json price file"),
    ],
)
def test_an_unreadable_json_file_is_one_error(tmp_path, body, message):
    rows, errors = read_prices(write(tmp_path, body, "p.json"), "USD")
    assert rows == []
    assert len(errors) == 1
    assert errors[0].line == 0
    assert message in errors[0].message


# -- channel eligibility text -----------------------------------------------------------------


def test_channels_cell_lists_only_channels_or_excluded_ones():
    assert parse_eligibility("TEE-LTD", "web") == (frozenset({"web"}), frozenset())
    assert parse_eligibility("TEE", " web ; pos ") == (frozenset({"web", "pos"}), frozenset())
    assert parse_eligibility("MUG", "-amazon;-ebay") == (frozenset(), frozenset({"amazon", "ebay"}))
    assert parse_eligibility("CAP", "") == (frozenset(), frozenset())
    assert parse_eligibility("CAP", ["web", "pos"]) == (frozenset({"web", "pos"}), frozenset())


def test_a_channels_cell_mixing_both_forms_is_refused():
    with pytest.raises(ValueError, match="TEE: channels 'web;-amazon' mixes"):
        parse_eligibility("TEE", "web;-amazon")
    with pytest.raises(ValueError, match="'-' with no channel"):
        parse_eligibility("TEE", "-")


def test_eligibility_from_an_item_files_cells():
    rules = eligibility([("TEE-LTD", "web"), ("MUG", "-amazon"), ("CAP", None)])
    assert rules.eligible("TEE-LTD", "web") and not rules.eligible("TEE-LTD", "pos")
    assert not rules.eligible("MUG", "amazon") and rules.eligible("MUG", "pos")
    assert rules.eligible("CAP", "amazon")
