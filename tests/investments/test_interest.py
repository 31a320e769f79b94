"""The interest engine, worked by hand (in pounds) and by property.

Golden cases: each comment shows the sum done on paper.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from investments.interest import (
    CouponPeriod,
    coupon_dates,
    coupon_pence,
    coupon_schedule,
    day_count_fraction,
    days_30_360,
    interest_pence,
    period_containing,
    split_pence,
)

d = dt.date


def test_a_thousand_pounds_at_5_percent_act_365f_for_2025_is_fifty_pounds():
    # 1,000 x 5 % x 365/365 = 50.00
    assert (
        interest_pence(
            principal_pence=1_000_00,
            rate_percent=Decimal("5"),
            start=d(2025, 1, 1),
            end=d(2026, 1, 1),
            day_count="act_365f",
        )
        == 50_00
    )


def test_2500_at_4_percent_30_360_semi_annual_is_fifty_pounds_a_coupon():
    # 2,500 x 4 % x 180/360 = 50.00, every coupon of a five-year bond allotted on the 15th
    periods = coupon_schedule(allotted_on=d(2025, 1, 15), term_months=60, frequency="semi_annual")
    assert len(periods) == 10
    for period in periods:
        assert days_30_360(period.start, period.end) == 180
        amount = coupon_pence(
            principal_pence=2_500_00,
            rate_percent=Decimal("4"),
            period=period,
            held_from=period.start,
            day_count="30_360",
        )
        assert amount == 50_00


def test_a_period_across_29_february_2028():
    # 1 Dec 2027 to 1 Mar 2028: 31 + 31 + 29 = 91 actual days.
    # act_365f: 1,000 x 5 % x 91/365 = 12.4657... -> 12.47
    # 30/360: 360 x 1 + 30 x (3 - 12) + (1 - 1) = 90 days; 1,000 x 5 % x 90/360 = 12.50
    start, end = d(2027, 12, 1), d(2028, 3, 1)
    assert (end - start).days == 91
    common = {"principal_pence": 1_000_00, "rate_percent": Decimal("5"), "start": start, "end": end}
    assert interest_pence(**common, day_count="act_365f") == 12_47
    assert interest_pence(**common, day_count="30_360") == 12_50


def test_31_january_to_28_february_under_both_conventions():
    # act_365f: 28 days; 1,000 x 5 % x 28/365 = 3.8356... -> 3.84
    # 30/360: D1 31 -> 30, D2 28 stays; 30 x 1 + (28 - 30) = 28 days; 1,000 x 5 % x 28/360 = 3.888... -> 3.89
    common = {
        "principal_pence": 1_000_00,
        "rate_percent": Decimal("5"),
        "start": d(2025, 1, 31),
        "end": d(2025, 2, 28),
    }
    assert interest_pence(**common, day_count="act_365f") == 3_84
    assert interest_pence(**common, day_count="30_360") == 3_89


def test_three_holders_of_333_33_at_3_3_percent():
    # Each: 333.33 x 3.3 % = 10.99989 -> 11.00; the run pays 33.00,
    # the sum of the rounded amounts (999.99 x 3.3 % would be 32.99967 -> 33.00 too,
    # but the statements add up only because the total is the sum of what each was paid).
    amounts = [
        interest_pence(
            principal_pence=333_33,
            rate_percent=Decimal("3.3"),
            start=d(2025, 1, 1),
            end=d(2026, 1, 1),
            day_count="act_365f",
        )
        for _ in range(3)
    ]
    assert amounts == [11_00, 11_00, 11_00]
    assert sum(amounts) == 33_00


@pytest.mark.parametrize(("principal_pence", "expected"), [(10, 0), (30, 2), (50, 2), (70, 4)])
def test_rounding_is_half_even_once(principal_pence, expected):
    # 5 % of 10p is exactly 0.5p -> 0 (even); of 30p 1.5p -> 2; of 50p 2.5p -> 2; of 70p 3.5p -> 4
    assert (
        interest_pence(
            principal_pence=principal_pence,
            rate_percent=Decimal("5"),
            start=d(2025, 1, 1),
            end=d(2026, 1, 1),
            day_count="act_365f",
        )
        == expected
    )


def test_a_zero_coupon_accrues_nothing():
    periods = coupon_schedule(allotted_on=d(2026, 1, 1), term_months=60, frequency="at_maturity")
    assert periods == [CouponPeriod(d(2026, 1, 1), d(2031, 1, 1))]
    assert (
        coupon_pence(
            principal_pence=5_000_00,
            rate_percent=Decimal("0"),
            period=periods[0],
            held_from=d(2026, 1, 1),
            day_count="act_365f",
        )
        == 0
    )


def test_coupon_dates_clamp_to_the_month_end_without_drifting():
    # From 31 January: 30 April, 31 July, 31 October, 31 January (not the 28th ever after)
    assert coupon_dates(allotted_on=d(2025, 1, 31), term_months=12, frequency="quarterly") == [
        d(2025, 4, 30),
        d(2025, 7, 31),
        d(2025, 10, 31),
        d(2026, 1, 31),
    ]


def test_the_last_period_ends_at_maturity():
    # 14 months, annual: a full year, then a two-month stub to maturity
    assert coupon_dates(allotted_on=d(2025, 3, 15), term_months=14, frequency="annual") == [
        d(2026, 3, 15),
        d(2026, 5, 15),
    ]


def test_the_holding_accrues_from_the_later_of_allotment_and_the_period_start():
    period = CouponPeriod(d(2025, 1, 1), d(2026, 1, 1))
    # Held from 2 July: 183 days of 365; 1,000 x 5 % x 183/365 = 25.0684... -> 25.07
    assert (
        coupon_pence(
            principal_pence=1_000_00,
            rate_percent=Decimal("5"),
            period=period,
            held_from=d(2025, 7, 2),
            day_count="act_365f",
        )
        == 25_07
    )


def test_bad_input_is_refused_not_guessed():
    with pytest.raises(ValueError, match="day count"):
        day_count_fraction(d(2025, 1, 1), d(2025, 2, 1), "act_360")
    with pytest.raises(ValueError, match="before it starts"):
        day_count_fraction(d(2025, 2, 1), d(2025, 1, 1), "act_365f")
    with pytest.raises(ValueError, match="frequency"):
        coupon_schedule(allotted_on=d(2025, 1, 1), term_months=12, frequency="monthly")


dates = st.dates(min_value=d(2000, 1, 1), max_value=d(2080, 12, 31))
rates = st.decimals(min_value=0, max_value=20, places=2)
principals = st.integers(min_value=1, max_value=10_000_000_00)


@given(start=dates, year=st.integers(2000, 2080), month=st.sampled_from([1, 3, 5, 7, 8, 10, 12]))
def test_30_360_never_counts_a_31st(start, year, month):
    """The 30th to the 1st of the next month is two actual days; 30/360 counts one: the 31st is not a day."""
    thirtieth = d(year, month, 30)
    if start > thirtieth:
        return
    first = d(year + month // 12, month % 12 + 1, 1)
    assert days_30_360(start, first) - days_30_360(start, thirtieth) == 1
    assert days_30_360(start, d(year, month, 31)) <= days_30_360(start, first)


@given(year=st.integers(2000, 2080), month=st.integers(1, 12), day=st.integers(1, 28))
def test_30_360_counts_every_whole_month_as_thirty_days(year, month, day):
    start = d(year, month, day)
    end = d(year + month // 12, month % 12 + 1, day)
    assert days_30_360(start, end) == 30


@given(
    principal=principals,
    rate=rates,
    allotted_on=dates,
    frequency=st.sampled_from(["annual", "semi_annual", "quarterly", "at_maturity"]),
    day_count=st.sampled_from(["act_365f", "30_360"]),
    cut_offsets=st.lists(st.integers(min_value=0, max_value=400), max_size=6),
)
def test_splitting_a_period_never_gains_more_than_a_penny_per_split(
    principal, rate, allotted_on, frequency, day_count, cut_offsets
):
    period = coupon_schedule(allotted_on=allotted_on, term_months=12, frequency=frequency)[0]
    length = (period.end - period.start).days
    cuts = sorted(period.start + dt.timedelta(days=offset % (length + 1)) for offset in cut_offsets)
    whole = coupon_pence(
        principal_pence=principal,
        rate_percent=rate,
        period=period,
        held_from=period.start,
        day_count=day_count,
    )
    pieces = split_pence(
        principal_pence=principal, rate_percent=rate, period=period, cuts=cuts, day_count=day_count
    )
    assert all(piece >= 0 for piece in pieces)
    assert abs(sum(pieces) - whole) <= len(cuts)


@given(
    principal_list=st.lists(principals, min_size=1, max_size=30),
    rate=rates,
    start=dates,
    days=st.integers(1, 400),
    day_count=st.sampled_from(["act_365f", "30_360"]),
)
def test_a_runs_total_is_the_sum_of_the_holdings_rounded_amounts(
    principal_list, rate, start, days, day_count
):
    end = start + dt.timedelta(days=days)
    amounts = [
        interest_pence(principal_pence=p, rate_percent=rate, start=start, end=end, day_count=day_count)
        for p in principal_list
    ]
    exact = sum(p * Fraction(rate) / 100 for p in principal_list) * day_count_fraction(start, end, day_count)
    # Each holding is rounded once (never more than half a penny away), so the sum of the
    # rounded amounts is within half a penny per holding of the exact total.
    assert abs(sum(amounts) - exact) <= Fraction(len(principal_list), 2)
    assert all(isinstance(amount, int) for amount in amounts)


@given(
    allotted_on=dates,
    term=st.integers(1, 120),
    frequency=st.sampled_from(["annual", "semi_annual", "quarterly", "at_maturity"]),
)
def test_the_schedule_tiles_the_term(allotted_on, term, frequency):
    periods = coupon_schedule(allotted_on=allotted_on, term_months=term, frequency=frequency)
    assert periods[0].start == allotted_on
    for before, after in itertools.pairwise(periods):
        assert before.end == after.start
        assert before.start < before.end
    for period in periods:
        assert period_containing(periods, period.start) == period
