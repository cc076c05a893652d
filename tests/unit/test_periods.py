"""Closed periods: an entry dated in one is posted on the first open day after it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retailhub.domain.periods import ClosedPeriod, ClosedPeriods, late_note

OCT, NOV, JAN = (ClosedPeriod.month(m) for m in ("2026-10", "2026-11", "2027-01"))


def test_a_month_runs_from_its_first_to_its_last_day() -> None:
    assert (NOV.period, NOV.start, NOV.end) == ("2026-11", date(2026, 11, 1), date(2026, 11, 30))
    dec = ClosedPeriod.month("2026-12")
    assert (dec.start, dec.end) == (date(2026, 12, 1), date(2026, 12, 31))
    assert ClosedPeriod.month("2028-2").end == date(2028, 2, 29)  # a leap year
    assert ClosedPeriod.month("2028-2").period == "2028-02"
    for bad in ("2026", "2026-13", "2026-00", "2026-11-20", "Nov 2026", ""):
        with pytest.raises(ValueError):
            ClosedPeriod.month(bad)


def test_a_period_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValueError):
        ClosedPeriod("odd", date(2026, 11, 30), date(2026, 11, 1))


def test_an_open_day_stays_where_it_is() -> None:
    closed = ClosedPeriods([NOV])
    assert closed.open_date(date(2026, 12, 2)) == date(2026, 12, 2)
    assert closed.open_date(date(2026, 10, 31)) == date(2026, 10, 31)  # the day before
    assert closed.redate(date(2026, 12, 2)) is None
    assert not closed.is_closed(date(2026, 12, 1))


def test_a_day_in_a_closed_month_goes_to_the_first_day_after_it() -> None:
    closed = ClosedPeriods([NOV])
    for day in (date(2026, 11, 1), date(2026, 11, 28), date(2026, 11, 30)):
        assert closed.open_date(day) == date(2026, 12, 1)
    late = closed.redate(date(2026, 11, 28))
    assert late is not None
    assert (late.original, late.posted_on, late.period) == (
        date(2026, 11, 28),
        date(2026, 12, 1),
        NOV,
    )
    assert late.memo("Refund #1001") == (
        "Refund #1001 (belongs to closed period 2026-11; posted in the open period)"
    )


def test_adjacent_closed_months_are_walked_through() -> None:
    """October and November closed: an October date lands on 1 December, not 1 November."""
    closed = ClosedPeriods([NOV, OCT])  # in any order
    assert closed.open_date(date(2026, 10, 12)) == date(2026, 12, 1)
    late = closed.redate(date(2026, 10, 12))
    assert late is not None and late.period == OCT  # it belongs to October, where it happened


def test_a_gap_between_closed_months_is_open() -> None:
    closed = ClosedPeriods([NOV, JAN])  # December still open
    assert closed.open_date(date(2026, 11, 15)) == date(2026, 12, 1)
    assert closed.open_date(date(2027, 1, 15)) == date(2027, 2, 1)
    assert closed.open_date(date(2026, 12, 31)) == date(2026, 12, 31)


def test_overlapping_ranges_are_walked_through_too() -> None:
    year = ClosedPeriod("2026", date(2026, 1, 1), date(2026, 12, 31))
    closed = ClosedPeriods([year, NOV, ClosedPeriod("2027-01", JAN.start, JAN.end)])
    assert closed.open_date(date(2026, 11, 20)) == date(2027, 2, 1)
    assert closed.containing(date(2026, 11, 20)) == year  # the earliest-starting one


def test_nothing_closed() -> None:
    closed = ClosedPeriods()
    assert not closed and len(closed) == 0
    assert closed.open_date(date(2026, 11, 20)) == date(2026, 11, 20)


def test_the_note_names_the_period() -> None:
    assert late_note("2026-11") == "(belongs to closed period 2026-11; posted in the open period)"


_months = st.builds(
    lambda y, m: ClosedPeriod.month(f"{y}-{m:02d}"),
    st.integers(2025, 2027),
    st.integers(1, 12),
)


@given(st.lists(_months, max_size=12), st.dates(date(2024, 12, 1), date(2028, 1, 31)))
def test_the_open_date_is_the_first_open_day_on_or_after_the_date(
    months: list[ClosedPeriod], day: date
) -> None:
    closed = ClosedPeriods(months)
    landed = closed.open_date(day)
    assert landed >= day
    assert not closed.is_closed(landed)
    # every day skipped is closed: nothing open is jumped over
    skipped = day
    while skipped < landed:
        assert closed.is_closed(skipped)
        skipped += timedelta(days=1)
    assert (closed.redate(day) is None) == (landed == day)
