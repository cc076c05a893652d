"""The store POS batch feed: one Springfield store day read from JSON lines and from CSV.

Register R1 uploaded on time; R2 was offline all day and its batch comes after R1's in the
file, with UTC timestamps where R1's carry the store's offset. The fixtures and their
hand-checked figures are described in tests/fixtures/pos/README.md.
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakes import FakeCatalogRepository, FakeUnitOfWork
from retailhub import config
from retailhub.adapters.connectors.pos import (
    EXCHANGE_GATEWAY,
    PosFeedSource,
    RecordError,
    canonical_body,
    parse_record,
)
from retailhub.adapters.files.pos_feed import (
    CSV_COLUMNS,
    PosFeedError,
    PosRecord,
    parse_pos_feed,
    read_pos_feed,
)
from retailhub.demo.retailer import config_text
from retailhub.domain.catalog import Item
from retailhub.domain.events import (
    CashMovementReported,
    DrawerCounted,
    EventsReported,
    OrderReported,
    RefundReported,
    ReturnedItem,
    SaleVoided,
    UnlinkedReturnReported,
)
from retailhub.domain.money import Money
from retailhub.domain.orders import (
    DeliveryMethod,
    DiscountAllocation,
    ExternalRef,
    FulfilmentKind,
    FulfilmentLine,
    PaymentStatus,
    TaxLine,
)
from retailhub.domain.payments import Tender, TenderMethod
from retailhub.domain.problems import Problem, ProblemType
from retailhub.domain.registers import SequenceIssue, check_sequences, order_for_apply
from retailhub.domain.returns import Disposition, RefundLine, RefundMethod, RefundTender
from retailhub.services.commands import receive_stock
from retailhub.services.intake import admit
from retailhub.services.processing import Processor

FIXTURES = Path(__file__).parents[1] / "fixtures" / "pos"
JSONL = FIXTURES / "spr01-2025-03-15.jsonl"
CSV = FIXTURES / "spr01-2025-03-15.csv"
STORE = ExternalRef("pos", "SPR01")
CENTRAL = timezone(timedelta(hours=-5))
SOURCE = PosFeedSource(card_gateway="adyen")


def state(amount: str, county: str) -> tuple[TaxLine, TaxLine]:
    return (
        TaxLine("IL State", Decimal("0.0625"), int(Decimal(amount) * 100)),
        TaxLine("Sangamon County", Decimal("0.0175"), int(Decimal(county) * 100)),
    )


@pytest.fixture(scope="module")
def day() -> list[PosRecord]:
    return read_pos_feed(JSONL)


def by_id(records: list[PosRecord], event_id: str) -> PosRecord:
    return next(r for r in records if r.event_id == event_id)


def translated(records: list[PosRecord], event_id: str, source: PosFeedSource = SOURCE) -> Any:
    record = by_id(records, event_id)
    return source.translate(record.type, record.body)


# -- one day, two formats -------------------------------------------------------------------


def test_both_formats_give_the_same_records_and_bodies(day: list[PosRecord]) -> None:
    """The CSV spells some amounts the way a spreadsheet saves them ("12", "20"); the records,
    down to the stored bytes, are the same as from JSON lines."""
    from_csv = read_pos_feed(CSV)

    assert from_csv == day
    assert [r.body for r in from_csv] == [r.body for r in day]
    assert [r.event_id for r in day] == [f"SPR01:R1:{n}" for n in range(1, 9)] + [
        f"SPR01:R2:{n}" for n in range(1, 7)
    ]
    assert [r.type for r in day] == [
        "sale", "sale", "sale", "void", "return", "paid_out", "exchange", "end_of_day",
        "sale", "return", "sale", "exchange", "paid_in", "end_of_day",
    ]  # fmt: skip
    assert [r.line for r in day] == list(range(1, 15))
    # Each CSV record starts on the row after the previous record's last one.
    assert [r.line for r in from_csv] == [2, 8, 12, 15, 16, 19, 20, 25, 26, 31, 34, 38, 43, 44]
    assert [SOURCE.translate(r.type, r.body) for r in from_csv] == [
        SOURCE.translate(r.type, r.body) for r in day
    ]


def test_a_record_keeps_the_registers_own_time_and_normalised_values(
    day: list[PosRecord],
) -> None:
    late = by_id(day, "SPR01:R2:5")
    assert late.timestamp == datetime(2025, 3, 15, 21, 10, tzinfo=UTC)
    assert by_id(day, "SPR01:R1:1").timestamp.utcoffset() == timedelta(hours=-5)
    body = orjson.loads(late.body)
    assert body == {
        "type": "paid_in", "store": "SPR01", "register": "R2", "seq": 5,
        "timestamp": "2025-03-15T21:10:00+00:00", "currency": "USD", "amount": "20.00",
        "reason": "float top-up from safe",
    }  # fmt: skip
    assert list(body) == sorted(body)  # canonical: sorted keys
    assert late.fingerprint == by_id(read_pos_feed(CSV), "SPR01:R2:5").fingerprint


def test_format_is_detected_from_the_content_when_the_name_does_not_say(tmp_path: Path) -> None:
    (tmp_path / "r1.txt").write_bytes(JSONL.read_bytes())
    (tmp_path / "r1.export").write_bytes(CSV.read_bytes())
    assert read_pos_feed(tmp_path / "r1.txt") == read_pos_feed(tmp_path / "r1.export")


# -- translation: exact values --------------------------------------------------------------


def test_a_split_tender_sale_becomes_a_paid_carried_out_store_order(day: list[PosRecord]) -> None:
    event = translated(day, "SPR01:R1:1")
    assert isinstance(event, OrderReported)
    order = event.order
    at = datetime(2025, 3, 15, 9, 5, 12, tzinfo=CENTRAL)
    assert (order.channel, order.order_id, order.name, order.source) == (
        "pos", "SPR01:1001", "1001", "pos",
    )  # fmt: skip
    assert (order.created_at, order.updated_at) == (at, at)
    assert order.payment_status is PaymentStatus.PAID
    assert order.delivery is DeliveryMethod.IN_STORE
    assert (order.location, order.register) == (STORE, "R1")
    assert order.total_price == 6804  # 48.00 + 15.00 + tax 5.04
    tee, cap = order.lines
    assert (tee.line_id, tee.sku, tee.quantity, tee.unit_price) == ("1", "TEE-BLK-M", 2, 2400)
    assert tee.tax_lines == state("3.00", "0.84")
    assert cap.discounts == (DiscountAllocation(300, "register discount"),)
    assert cap.tax_lines == state("0.94", "0.26")
    assert order.tenders == (
        Tender(TenderMethod.CARD, "adyen", 5000, "pi_3R1A0001"),
        Tender(TenderMethod.CASH, "cash", 1804),
    )
    assert order.gateway == "adyen"  # the first tender that is not cash
    (carry_out,) = event.fulfilments
    assert carry_out.fulfilment_id == "SPR01:1001:carry-out"
    assert (carry_out.kind, carry_out.location, carry_out.occurred_at) == (
        FulfilmentKind.SHIPMENT, STORE, at,
    )  # fmt: skip
    assert carry_out.lines == (FulfilmentLine("1", 2), FulfilmentLine("2", 1))


def test_a_gift_card_redemption_is_a_tender_naming_the_card(day: list[PosRecord]) -> None:
    order = translated(day, "SPR01:R1:2").order
    assert order.tenders == (
        Tender(TenderMethod.GIFT_CARD, "gift_card", 2500, gift_card="GC-4417"),
        Tender(TenderMethod.CARD, "adyen", 1388, "pi_3R1A0002"),
    )
    assert sum(t.amount for t in order.tenders) == order.total_price == 3888


def test_tender_gateways_default_by_method_unless_the_record_names_one(
    day: list[PosRecord],
) -> None:
    order = translated(day, "SPR01:R2:3", PosFeedSource()).order
    assert [(t.method, t.gateway, t.amount) for t in order.tenders] == [
        (TenderMethod.STORE_CREDIT, "store_credit", 1000),
        (TenderMethod.WALLET, "stripe", 1592),  # named in the record
    ]
    cash_only = translated(day, "SPR01:R2:1").order
    assert cash_only.gateway == "cash"


def test_a_linked_return_refunds_the_original_sales_line(day: list[PosRecord]) -> None:
    event = translated(day, "SPR01:R1:5")
    assert isinstance(event, RefundReported)
    assert event.channel_system == "pos"
    refund = event.refund
    assert (refund.refund_id, refund.order_id, refund.register) == (
        "SPR01:1004", "SPR01:1001", "R1",
    )  # fmt: skip
    assert refund.occurred_at == datetime(2025, 3, 15, 11, 30, tzinfo=CENTRAL)
    assert refund.lines == (RefundLine("1", 1, Disposition.RESTOCK, STORE, 2400, 192),)
    assert refund.tenders == (
        RefundTender("re_3R1A0005", "adyen", 2592, RefundMethod.ORIGINAL_TENDER),
    )


def test_a_return_without_its_receipt_is_reported_as_unlinked(day: list[PosRecord]) -> None:
    event = translated(day, "SPR01:R2:2")
    assert event == UnlinkedReturnReported(
        channel="pos",
        return_id="SPR01:2002",
        location=STORE,
        register="R2",
        currency="USD",
        occurred_at=datetime(2025, 3, 15, 15, 45, tzinfo=UTC),
        items=(ReturnedItem("MUG-WHT-12", 2, 1050, state("1.31", "0.37"), Disposition.QUARANTINE),),
        tenders=(RefundTender("SPR01:2002:1", "cash", 2268, RefundMethod.CASH),),
    )


def test_an_unlinked_return_is_a_blocking_problem_when_the_feed_refuses_them(
    day: list[PosRecord],
) -> None:
    strict = PosFeedSource(accept_unlinked_returns=False)
    problem = translated(day, "SPR01:R2:2", strict)
    assert isinstance(problem, Problem)
    assert (problem.type, problem.blocking, problem.amount) == (
        ProblemType.UNLINKED_RETURN, True, 2268,
    )  # fmt: skip
    assert problem.subject == "return:pos:SPR01:2002"
    assert "return 2002 at store SPR01 (register R2, seq 2)" in problem.reason
    # Linked returns are unaffected.
    assert isinstance(translated(day, "SPR01:R1:5", strict), RefundReported)


def test_an_unlinked_return_line_that_does_not_divide_by_its_units_splits_exactly() -> None:
    """Three mugs returned for 10.00 with 0.80 tax: two at 3.33 and one at 3.34."""
    record = parse_record(
        base("return", receipt="77", lines=[{
            "sku": "MUG-WHT-12", "quantity": 3, "amount": "10.00", "disposition": "restock",
            "taxes": [{"jurisdiction": "IL State", "rate": "0.08", "amount": "0.80"}],
        }], tenders=[{"method": "cash", "amount": "10.80"}])
    )  # fmt: skip
    event = SOURCE.translate("return", canonical_body(record))
    assert isinstance(event, UnlinkedReturnReported)
    rate = Decimal("0.08")
    assert [(i.quantity, i.unit_price, i.tax_lines) for i in event.items] == [
        (2, 333, (TaxLine("IL State", rate, 53),)),
        (1, 334, (TaxLine("IL State", rate, 27),)),
    ]


def test_an_exchange_paid_up_returns_to_store_credit_that_pays_the_new_sale(
    day: list[PosRecord],
) -> None:
    """The cap (15.00 + 1.20 tax) comes back damaged; a tee (25.92) goes out; Apple Pay 9.72."""
    event = translated(day, "SPR01:R1:7")
    assert isinstance(event, EventsReported)
    returned, sold = event.events
    assert isinstance(returned, RefundReported) and isinstance(sold, OrderReported)
    refund = returned.refund
    assert (refund.refund_id, refund.order_id, refund.note) == (
        "SPR01:1005:return", "SPR01:1001", "exchange",
    )  # fmt: skip
    assert refund.lines == (RefundLine("2", 1, Disposition.DAMAGED, STORE, 1500, 120),)
    assert refund.tenders == (
        RefundTender("SPR01:1005:exchange", EXCHANGE_GATEWAY, 1620, RefundMethod.STORE_CREDIT),
    )
    order = sold.order
    assert (order.order_id, order.exchanged_from, order.total_price) == (
        "SPR01:1005", "SPR01:1005:return", 2592,
    )  # fmt: skip
    assert order.tenders == (
        Tender(TenderMethod.STORE_CREDIT, EXCHANGE_GATEWAY, 1620, "SPR01:1005:exchange"),
        Tender(TenderMethod.WALLET, "adyen", 972, "pi_3R1A0007"),
    )


def test_an_exchange_for_less_refunds_the_difference_on_the_return_part(
    day: list[PosRecord],
) -> None:
    """One of two tees bought at the Downtown store (25.92 with tax) for a cap (19.45): 6.47
    cash back."""
    returned, sold = translated(day, "SPR01:R2:4").events
    refund = returned.refund
    assert (refund.order_id, refund.register) == ("DTN01:5120", "R2")
    assert refund.lines == (RefundLine("2", 1, Disposition.RESTOCK, STORE, 2400, 192),)
    assert refund.tenders == (
        RefundTender("SPR01:2004:exchange", EXCHANGE_GATEWAY, 1945, RefundMethod.STORE_CREDIT),
        RefundTender("SPR01:2004:1", "cash", 647, RefundMethod.CASH),
    )
    assert sold.order.tenders == (
        Tender(TenderMethod.STORE_CREDIT, EXCHANGE_GATEWAY, 1945, "SPR01:2004:exchange"),
    )
    # The exchange gateway takes in exactly what it pays out.
    assert sum(t.amount for t in refund.tenders if t.gateway == EXCHANGE_GATEWAY) == sum(
        t.amount for t in sold.order.tenders if t.gateway == EXCHANGE_GATEWAY
    )


def test_register_events_void_cash_and_counts(day: list[PosRecord]) -> None:
    assert translated(day, "SPR01:R1:4") == SaleVoided(
        "pos", "SPR01:1003", "SPR01:R1:4", datetime(2025, 3, 15, 10, 3, 55, tzinfo=CENTRAL)
    )
    paid_out = translated(day, "SPR01:R1:6")
    assert paid_out == CashMovementReported(
        STORE, "R1", "SPR01:R1:6", -1500, "USD", "window cleaning",
        datetime(2025, 3, 15, 12, 10, tzinfo=CENTRAL),
    )  # fmt: skip
    assert translated(day, "SPR01:R2:5").amount == 2000
    assert translated(day, "SPR01:R1:8") == DrawerCounted(
        STORE, "R1", "SPR01:R1:8", 15254, 15000, "USD", date(2025, 3, 15),
        datetime(2025, 3, 15, 18, 2, tzinfo=CENTRAL),
    )  # fmt: skip


def test_the_source_names_deliveries_by_register_and_number(day: list[PosRecord]) -> None:
    record = by_id(day, "SPR01:R1:7")
    assert SOURCE.name == "pos"
    assert SOURCE.verify({}, record.body) is True
    assert SOURCE.event_id({}, record.body) == "SPR01:R1:7" == record.event_id
    assert SOURCE.topic({}, record.body) == "exchange"


def test_a_bad_stored_body_is_an_invalid_payload_problem_never_an_exception() -> None:
    garbage = b'{"type": "sale", "store": "SPR01"'
    assert SOURCE.event_id({}, garbage).startswith("sha256:")
    assert SOURCE.topic({}, garbage) == ""
    problem = SOURCE.translate("sale", garbage)
    assert isinstance(problem, Problem) and problem.type is ProblemType.INVALID_PAYLOAD
    edited = orjson.dumps(base("paid_in", amount="-5.00", reason="x"))
    problem = SOURCE.translate("paid_in", edited)
    assert isinstance(problem, Problem) and problem.type is ProblemType.INVALID_PAYLOAD
    assert "-5.00 cannot be negative (at `$.amount`)" in problem.reason


def test_a_body_stored_under_another_topic_is_refused(day: list[PosRecord]) -> None:
    record = by_id(day, "SPR01:R1:4")
    problem = SOURCE.translate("sale", record.body)
    assert isinstance(problem, Problem) and problem.type is ProblemType.INVALID_PAYLOAD
    assert "SPR01:R1:4 is a void" in problem.reason


# -- sequence checks ------------------------------------------------------------------------


def keys(records: list[PosRecord]) -> list[tuple[str, str, int, str]]:
    return [(r.store, r.register, r.seq, r.fingerprint) for r in records]


def test_a_clean_day_after_yesterday_has_no_sequence_issues(day: list[PosRecord]) -> None:
    assert check_sequences(keys(day), {("SPR01", "R1"): 0, ("SPR01", "R2"): 0}) == []


def test_a_gap_inside_the_batch_names_the_missing_numbers(day: list[PosRecord]) -> None:
    without = [r for r in day if r.event_id not in ("SPR01:R1:3", "SPR01:R1:4")]
    (gap,) = check_sequences(keys(without), {})
    assert (gap.store, gap.register, gap.kind) == ("SPR01", "R1", "gap")
    assert (gap.first_missing, gap.last_missing, gap.missing) == (3, 4, 2)
    assert (
        gap.message == "store SPR01 register R1: 2 records missing, seq 3 to 4 (after 2, before 5)"
    )


def test_a_gap_against_the_last_number_held(day: list[PosRecord]) -> None:
    """The hub holds R1's first sale only; a batch from seq 4 on lacks 2 and 3. For R2 it
    holds up to 38, and a batch starting at 41 lacks 39 and 40."""
    r1 = [k for k in keys(day) if k[1] == "R1"]
    (gap,) = check_sequences(r1[3:], {("SPR01", "R1"): 1})
    assert (gap.first_missing, gap.last_missing) == (2, 3)
    assert gap.message.endswith("seq 2 to 3 (after 1, before 4)")
    issues = check_sequences([("SPR01", "R2", 41, "f41")], {("SPR01", "R2"): 38})
    assert issues == [
        SequenceIssue(
            store="SPR01", register="R2", kind="gap", first_missing=39, last_missing=40,
            message="store SPR01 register R2: 2 records missing, seq 39 to 40 (after 38, before 41)",
        )
    ]  # fmt: skip


def test_a_register_new_to_the_hub_starts_where_its_first_batch_does() -> None:
    assert check_sequences([("DTN01", "R9", 500, "a"), ("DTN01", "R9", 501, "b")], {}) == []
    (gap,) = check_sequences([("DTN01", "R9", 3, "a")], {("DTN01", "R9"): 0})
    assert (gap.first_missing, gap.last_missing) == (1, 2)


def test_a_record_sent_again_alike_is_a_repeat_and_different_is_a_conflict(
    day: list[PosRecord],
) -> None:
    stored = {(r.store, r.register, r.seq): r.fingerprint for r in day}
    resent = by_id(day, "SPR01:R1:2")
    altered = by_id(day, "SPR01:R1:3")
    batch = [
        (resent.store, resent.register, resent.seq, resent.fingerprint),
        (altered.store, altered.register, altered.seq, "a different sale"),
        ("SPR01", "R1", 9, "new"),
    ]
    issues = check_sequences(batch, {("SPR01", "R1"): 8}, stored)
    assert [(i.kind, i.seq) for i in issues] == [("repeat", 2), ("conflict", 3)]
    assert "arrived again with different content" in issues[1].message


def test_inside_one_batch_a_doubled_number_is_a_repeat_or_a_conflict() -> None:
    batch = [("S", "R", 1, "a"), ("S", "R", 1, "a"), ("S", "R", 2, "b"), ("S", "R", 2, "c")]
    issues = check_sequences(batch, {("S", "R"): 0})
    assert [(i.kind, i.seq) for i in issues] == [("repeat", 1), ("conflict", 2)]


def test_a_late_record_that_fills_an_earlier_gap_is_no_issue() -> None:
    stored = {("S", "R", n): f"f{n}" for n in (1, 2, 4, 5)}
    assert check_sequences([("S", "R", 3, "f3")], {("S", "R"): 5}, stored) == []
    # Without fingerprints nothing can be compared: at or below the last number is a repeat.
    (issue,) = check_sequences([("S", "R", 3, "f3")], {("S", "R"): 5})
    assert (issue.kind, issue.seq) == ("repeat", 3)


@given(st.sets(st.integers(min_value=1, max_value=60), min_size=1), st.integers(0, 30))
def test_gaps_name_exactly_the_numbers_missing_after_the_last_held(
    numbers: set[int], last: int
) -> None:
    issues = check_sequences([("S", "R", n, f"f{n}") for n in numbers], {("S", "R"): last})
    missing = {
        n
        for i in issues
        if i.kind == "gap"
        for n in range(i.first_missing or 0, (i.last_missing or 0) + 1)
    }
    new = {n for n in numbers if n > last}
    expected = set(range(last + 1, max(new) + 1)) - new if new else set()
    assert missing == expected
    assert {i.seq for i in issues if i.kind == "repeat"} == {n for n in numbers if n <= last}


def test_late_batches_apply_in_event_time(day: list[PosRecord]) -> None:
    """R2's day sits after R1's in the file; applied, the two registers interleave by time."""
    ordered = order_for_apply(day)
    assert [r.event_id for r in ordered] == [
        "SPR01:R1:1",  # 09:05 local (14:05Z)
        "SPR01:R2:1",  # 14:20Z
        "SPR01:R1:2", "SPR01:R1:3", "SPR01:R1:4",  # 14:40Z .. 15:03Z
        "SPR01:R2:2",  # 15:45Z
        "SPR01:R1:5", "SPR01:R1:6",  # 16:30Z, 17:10Z
        "SPR01:R2:3",  # 18:05Z
        "SPR01:R1:7",  # 19:00Z
        "SPR01:R2:4",  # 20:30Z
        "SPR01:R2:5",  # 21:10Z
        "SPR01:R1:8",  # 23:02Z
        "SPR01:R2:6",  # 23:05Z
    ]  # fmt: skip


def test_a_registers_own_order_survives_its_clock_stepping_back(day: list[PosRecord]) -> None:
    r1 = [r for r in day if r.register == "R1"][:3]
    # The third sale is stamped 09:05 again, before the second (09:40); a plain sort by time
    # would apply it before the sale it follows.
    stepped = [r1[0], r1[1], replace(r1[2], timestamp=r1[0].timestamp)]
    assert [r.seq for r in order_for_apply(reversed(stepped))] == [1, 2, 3]


# -- bad input: the whole file is refused, at the right line ---------------------------------


def jsonl_with(tmp_path: Path, line: int, text: str) -> Path:
    lines = JSONL.read_text().splitlines()
    lines[line - 1] = text
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def csv_with(tmp_path: Path, line: int, column: str, value: str, header: str | None = None) -> Path:
    rows = CSV.read_text().splitlines()
    if header is not None:
        rows[0] = header
    cells = rows[line - 1].split(",")
    cells[CSV_COLUMNS.index(column)] = value
    rows[line - 1] = ",".join(cells)
    path = tmp_path / "feed.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def refused(path: Path) -> PosFeedError:
    with pytest.raises(PosFeedError) as caught:
        read_pos_feed(path)
    return caught.value


def test_a_truncated_json_line_refuses_the_file(tmp_path: Path) -> None:
    cut = JSONL.read_text().splitlines()[4][:120]
    error = refused(jsonl_with(tmp_path, 5, cut))
    assert error.line == 5
    assert (
        str(error)
        == "feed.jsonl, line 5: the JSON record is cut off before its end (truncated line)"
    )


def test_a_csv_with_the_wrong_columns_is_refused_at_its_header(tmp_path: Path) -> None:
    header = ",".join(CSV_COLUMNS).replace("tender_gateway", "gateway")
    error = refused(csv_with(tmp_path, 2, "type", "sale", header=header))
    assert error.line == 1
    assert "missing tender_gateway; unknown 'gateway'" in error.message


def test_a_naive_timestamp_is_refused(tmp_path: Path) -> None:
    line = JSONL.read_text().splitlines()[2].replace("10:02:10-05:00", "10:02:10")
    error = refused(jsonl_with(tmp_path, 3, line))
    assert error.line == 3
    assert error.message.startswith(
        "record SPR01:R1:3: timestamp '2025-03-15T10:02:10' has no UTC offset"
    )
    assert error.message.endswith("(at `$.timestamp`)")
    # In CSV the record's columns repeat on every row, so the first row is where it is wrong.
    rows = CSV.read_text().replace("10:02:10-05:00", "10:02:10")
    (tmp_path / "feed.csv").write_text(rows)
    error = refused(tmp_path / "feed.csv")
    assert (error.line, error.message.endswith("(column timestamp)")) == (12, True)


def test_tenders_that_do_not_add_up_are_refused(tmp_path: Path) -> None:
    line = JSONL.read_text().splitlines()[0].replace('"18.04"', '"18.40"')
    error = refused(jsonl_with(tmp_path, 1, line))
    assert error.line == 1
    assert error.message == (
        "record SPR01:R1:1: tenders add up to 68.40 but the sale total is 68.04 (at `$.tenders`)"
    )
    error = refused(csv_with(tmp_path, 42, "tender_amount", "-6.74"))  # exchange 2004's cash
    assert error.line == 38  # the record's first row
    assert "tenders add up to -6.74 but the difference (sold − returned) is -6.47" in str(error)


def test_an_unknown_record_type_is_refused(tmp_path: Path) -> None:
    line = JSONL.read_text().splitlines()[5].replace('"paid_out"', '"payout"')
    error = refused(jsonl_with(tmp_path, 6, line))
    assert error.line == 6
    assert "unknown record type 'payout'; expected one of sale, return, exchange" in error.message


def test_a_negative_quantity_is_refused_at_its_row(tmp_path: Path) -> None:
    line = JSONL.read_text().splitlines()[8].replace('"quantity": 1', '"quantity": -1', 1)
    error = refused(jsonl_with(tmp_path, 9, line))
    assert error.line == 9
    assert error.message == (
        "record SPR01:R2:1: quantity -1 must be a whole number of at least 1 "
        "(at `$.lines[0].quantity`)"
    )
    error = refused(csv_with(tmp_path, 28, "quantity", "-1"))  # the cap, second line of 2001
    assert error.line == 28
    assert error.message.endswith(
        "quantity -1 must be a whole number of at least 1 (column quantity)"
    )


def test_amounts_must_be_exact_decimal_strings(tmp_path: Path) -> None:
    line = JSONL.read_text().splitlines()[5].replace('"15.00"', '"15.005"')
    assert "15.005 has more decimals than USD allows (2)" in str(
        refused(jsonl_with(tmp_path, 6, line))
    )
    line = JSONL.read_text().splitlines()[5].replace('"15.00"', "15.00")
    error = refused(jsonl_with(tmp_path, 6, line))
    assert 'Expected `str`, got `float` (amounts are decimal strings such as "12.50")' in str(error)


def test_a_misspelt_field_is_refused_not_ignored(tmp_path: Path) -> None:
    line = JSONL.read_text().splitlines()[0].replace('"discount"', '"dicount"')
    error = refused(jsonl_with(tmp_path, 1, line))
    assert "Object contains unknown field `dicount` (at `$.lines[1]`)" in error.message


def test_a_receipt_number_used_twice_at_a_store_is_refused(tmp_path: Path) -> None:
    line = JSONL.read_text().splitlines()[10].replace('"2003"', '"1002"')
    error = refused(jsonl_with(tmp_path, 11, line))
    assert error.line == 11
    assert "receipt 1002 at store SPR01 is already used by record SPR01:R1:2 on line 2" in str(
        error
    )


def test_csv_rows_of_one_record_must_agree_on_its_columns(tmp_path: Path) -> None:
    error = refused(csv_with(tmp_path, 4, "currency", "CAD"))
    assert error.line == 4
    assert error.message.startswith("column currency is 'CAD' here but 'USD' on line 2")


def test_an_exchange_line_row_must_say_which_part_it_is(tmp_path: Path) -> None:
    error = refused(csv_with(tmp_path, 22, "part", ""))
    assert error.line == 22
    assert "an exchange's line rows say part returned or sold" in error.message


def test_the_file_is_all_or_nothing(tmp_path: Path) -> None:
    """One bad record at the end refuses the thirteen good ones before it."""
    line = JSONL.read_text().splitlines()[13].replace('"2025-03-15",', '"2025-02-30",')
    error = refused(jsonl_with(tmp_path, 14, line))
    assert (error.line, error.message.split(": ", 1)[1]) == (
        14, "business_day '2025-02-30' is not a calendar date (at `$.business_day`)",
    )  # fmt: skip


def test_parse_pos_feed_reads_bytes_without_a_file() -> None:
    assert parse_pos_feed(JSONL.read_bytes(), "jsonl") == read_pos_feed(JSONL)
    assert parse_pos_feed(b"", "jsonl") == []
    with pytest.raises(PosFeedError) as caught:
        parse_pos_feed(b"", "csv")
    assert caught.value.line == 1


def test_record_errors_carry_their_json_path() -> None:
    with pytest.raises(RecordError) as caught:
        parse_record(base("sale", receipt="1", lines=[], tenders=[]))
    assert (caught.value.path, caught.value.message) == ("$.lines", "at least one line is needed")


# -- the day through the hub ----------------------------------------------------------------


def test_the_store_day_applies_through_the_handlers(day: list[PosRecord]) -> None:
    """Admitted in event time and processed on fakes: R1's drawer is 0.50 short (153.04
    expected: float 150.00 + cash 18.04 + 19.45 − the void's 19.45 − paid out 15.00), R2's
    balances (float 100.00 + 32.41 − 22.68 − 6.47 + 20.00 = 123.26), the exchange gateway
    nets to zero, the mug came back without its sale."""
    settings = config.parse(tomllib.loads(config_text("unused-secret")))
    rules = settings.rules()
    costs = {"TEE-BLK-M": "8.10", "CAP-RED-OS": "6.00", "MUG-WHT-12": "4.20"}
    catalog = FakeCatalogRepository(
        items={sku: Item(sku, sku, Money.of(cost, "USD")) for sku, cost in costs.items()},
        locations={("pos", "SPR01"): "STORE-1", ("pos", "DTN01"): "STORE-2"},
    )
    uow = FakeUnitOfWork(catalog)
    now = datetime(2025, 3, 16, 9, 0, tzinfo=UTC)
    downtown = parse_record(
        base("sale", store="DTN01", receipt="5120", timestamp="2025-03-14T16:00:00-05:00",
             lines=[{"line": "2", "sku": "TEE-BLK-M", "quantity": 2, "unit_price": "24.00",
                     "taxes": [{"jurisdiction": "IL State", "rate": "0.0625", "amount": "3.00"},
                               {"jurisdiction": "Sangamon County", "rate": "0.0175",
                                "amount": "0.84"}]}],
             tenders=[{"method": "card", "amount": "51.84"}])
    )  # fmt: skip
    ids = itertools.count()
    with uow:
        for sku in costs:
            for location in ("STORE-1", "STORE-2"):
                receive_stock(
                    uow,
                    rules,
                    sku,
                    location,
                    10,
                    now - timedelta(days=3),
                    f"opening:{sku}:{location}",
                )
        for body in [canonical_body(downtown), *(r.body for r in order_for_apply(day))]:
            headers: dict[str, str] = {}
            assert admit(uow, SOURCE, headers, body, now, str(next(ids))).status == "accepted"
        uow.commit()

    stats = Processor(lambda: uow, {"pos": SOURCE}, rules, lambda: now).run_until_idle()

    assert (stats.applied, stats.failed, stats.waiting) == (15, 0, 0)
    day_ = date(2025, 3, 15)
    assert uow.registers.cash[("STORE-1", "R1", day_)] == 1804 + 1945 - 1945 - 1500
    assert uow.registers.cash[("STORE-1", "R2", day_)] == 3241 - 2268 - 647 + 2000
    open_problems = [uow.exceptions.rows[i] for i in uow.exceptions.open_ids()]
    kinds = sorted((str(p["type"]), str(p["subject"])) for p in open_problems)
    assert kinds == [
        ("cash_over_short", "drawer:STORE-1:R1:2025-03-15"),
        ("unlinked_return", "return:pos:SPR01:2002"),
    ]
    balances = {acct: amount for (acct, _), amount in uow.ledger.trial_balance().items()}
    exchange_lines = [
        line.amount
        for entry in uow.ledger.entries.values()
        for line in entry.lines
        if line.account == "Assets:Clearing:Exchange"
    ]
    assert sorted(exchange_lines) == [-1945, -1620, 1620, 1945]
    assert balances["Assets:Clearing:Exchange"] == 0
    assert balances["Expenses:Cash-Over-Short"] == 50
    # Every return refunded what the original sale charged for the units: nothing to adjust.
    assert balances.get("Income:Refund-Adjustments", 0) == 0
    assert sum(balances.values()) == 0
    # Sold, returned to the shelf (restock), written off (damaged) or held (quarantine).
    on_hand = {sku: uow.inventory.position(sku, "STORE-1").on_hand for sku in costs}
    assert on_hand == {"TEE-BLK-M": 10 - 2 + 1 - 1 - 1 + 1, "CAP-RED-OS": 10 - 1 - 1 + 1 - 1 - 1,
                       "MUG-WHT-12": 10 - 3 - 1}  # fmt: skip
    assert uow.inventory.position("TEE-BLK-M", "STORE-2").on_hand == 10 - 2


def base(kind: str, **fields: Any) -> dict[str, Any]:
    record = {"type": kind, "store": "SPR01", "register": "R3", "seq": 1,
              "timestamp": "2025-03-15T12:00:00-05:00", "currency": "USD"}  # fmt: skip
    return {**record, **fields}
