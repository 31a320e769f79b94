"""The interest engine: day counts, the coupon schedule, and interest to any date. Pure: no database.

DESIGN §4. Interest on a holding for a period is principal x rate x the
day-count fraction of the period, computed exactly (as a Fraction: no float
and no intermediate rounding) and rounded half-even to the penny once, by
`bondplatform.money.round_to_pence`. A run's total is the sum of the
holdings' rounded amounts, so every statement adds up exactly.

Day counts (start included, end excluded):
- `act_365f`: actual days / 365, leap year or not;
- `30_360`, the Bond Basis of ISDA 2006 §4.16(f): 360 x (Y2 - Y1) + 30 x
  (M2 - M1) + (D2 - D1), over 360, where D1 = 31 becomes 30, and D2 = 31
  becomes 30 only when D1 (so adjusted) is 30 or 31.

The schedule: coupon dates fall every 12, 6 or 3 months from the allotment
date (each counted from the allotment date, clamped to the month's end, so
31 January gives 30 April, 31 July, 31 October, not a date that drifts to
the 28th); the last period ends at maturity, allotment plus the term.
`at_maturity` is one period from allotment to maturity.

Accrual within a period is measured from the period's start, so splitting a
period (an early redemption) never gains a holder more than a penny per
split, even under 30/360, where Jan 15 → Jan 31 → Feb 15 would otherwise
count 16 + 15 days for a month of 30.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from bondplatform.money import round_to_pence

ACT_365F = "act_365f"
THIRTY_360 = "30_360"
DAY_COUNTS = (ACT_365F, THIRTY_360)

MONTHS_BETWEEN_COUPONS = {"annual": 12, "semi_annual": 6, "quarterly": 3}
AT_MATURITY = "at_maturity"
FREQUENCIES = (*MONTHS_BETWEEN_COUPONS, AT_MATURITY)


def add_months(start: dt.date, months: int) -> dt.date:
    """`months` calendar months after `start`, clamped to the end of a shorter month."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def days_30_360(start: dt.date, end: dt.date) -> int:
    """Days from start to end under the 30/360 Bond Basis (ISDA 2006 §4.16(f))."""
    d1 = 30 if start.day == 31 else start.day
    d2 = 30 if end.day == 31 and d1 in (30, 31) else end.day
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)


def day_count_fraction(start: dt.date, end: dt.date, day_count: str) -> Fraction:
    """The fraction of a year from `start` (included) to `end` (excluded)."""
    if end < start:
        raise ValueError(f"The period ends ({end}) before it starts ({start}).")
    if day_count == ACT_365F:
        return Fraction((end - start).days, 365)
    if day_count == THIRTY_360:
        return Fraction(days_30_360(start, end), 360)
    raise ValueError(f"Unknown day count {day_count!r}; expected one of {', '.join(DAY_COUNTS)}.")


def _interest_exact(principal_pence: int, rate_percent: Decimal, fraction: Fraction) -> Fraction:
    if principal_pence < 0 or rate_percent < 0:
        raise ValueError("Principal and rate must not be negative.")
    return principal_pence * Fraction(rate_percent) / 100 * fraction


def interest_pence(
    *, principal_pence: int, rate_percent: Decimal, start: dt.date, end: dt.date, day_count: str
) -> int:
    """Interest on a principal from `start` (included) to `end` (excluded), rounded half-even once."""
    return round_to_pence(
        _interest_exact(principal_pence, rate_percent, day_count_fraction(start, end, day_count))
    )


@dataclass(frozen=True)
class CouponPeriod:
    start: dt.date
    end: dt.date  # the coupon date (excluded from the period; the next one starts here)

    def contains(self, day: dt.date) -> bool:
        """Whether interest accrues on `day` in this period, or it is this period's coupon date."""
        return self.start <= day <= self.end


def maturity_date(*, allotted_on: dt.date, term_months: int) -> dt.date:
    return add_months(allotted_on, term_months)


def coupon_schedule(*, allotted_on: dt.date, term_months: int, frequency: str) -> list[CouponPeriod]:
    """The issue's interest periods from allotment to maturity, in order."""
    if term_months < 1:
        raise ValueError("The term is at least one month.")
    maturity = maturity_date(allotted_on=allotted_on, term_months=term_months)
    if frequency == AT_MATURITY:
        return [CouponPeriod(allotted_on, maturity)]
    step = MONTHS_BETWEEN_COUPONS.get(frequency)
    if step is None:
        raise ValueError(f"Unknown frequency {frequency!r}; expected one of {', '.join(FREQUENCIES)}.")
    ends = [add_months(allotted_on, k * step) for k in range(1, -(-term_months // step) + 1)]
    ends = [end for end in ends if end < maturity] + [maturity]
    starts = [allotted_on, *ends[:-1]]
    return [CouponPeriod(start, end) for start, end in zip(starts, ends, strict=True)]


def coupon_dates(*, allotted_on: dt.date, term_months: int, frequency: str) -> list[dt.date]:
    return [
        p.end for p in coupon_schedule(allotted_on=allotted_on, term_months=term_months, frequency=frequency)
    ]


def period_ending(periods: Sequence[CouponPeriod], coupon_date: dt.date) -> CouponPeriod | None:
    """The period whose coupon date is `coupon_date`, or None if it is not a coupon date."""
    return next((p for p in periods if p.end == coupon_date), None)


def period_containing(periods: Sequence[CouponPeriod], day: dt.date) -> CouponPeriod | None:
    """The period in which `day` accrues (its start ≤ day < its end), or None outside the schedule."""
    return next((p for p in periods if p.start <= day < p.end), None)


def accrued_pence(
    *,
    principal_pence: int,
    rate_percent: Decimal,
    period: CouponPeriod,
    held_from: dt.date,
    to: dt.date,
    day_count: str,
) -> int:
    """Interest accrued in `period` from the later of its start and `held_from`, up to `to`
    (excluded, and at most the period's end), measured from the period's start."""
    start = max(period.start, held_from)
    to = min(max(to, start), period.end)
    fraction = day_count_fraction(period.start, to, day_count) - day_count_fraction(
        period.start, start, day_count
    )
    return round_to_pence(_interest_exact(principal_pence, rate_percent, fraction))


def coupon_pence(
    *, principal_pence: int, rate_percent: Decimal, period: CouponPeriod, held_from: dt.date, day_count: str
) -> int:
    """The whole period's interest for a holding held from `held_from`."""
    return accrued_pence(
        principal_pence=principal_pence,
        rate_percent=rate_percent,
        period=period,
        held_from=held_from,
        to=period.end,
        day_count=day_count,
    )


def split_pence(
    *,
    principal_pence: int,
    rate_percent: Decimal,
    period: CouponPeriod,
    cuts: Sequence[dt.date],
    day_count: str,
) -> list[int]:
    """A period's interest in pieces between the `cuts` (dates inside it, in order), each rounded once.

    Each piece is measured from the period's start, so the pieces add up to
    the whole period's interest within a penny per cut."""
    bounds = [period.start, *cuts, period.end]
    if any(b < a for a, b in itertools.pairwise(bounds)):
        raise ValueError("Cuts must lie inside the period, in order.")
    return [
        accrued_pence(
            principal_pence=principal_pence,
            rate_percent=rate_percent,
            period=period,
            held_from=a,
            to=b,
            day_count=day_count,
        )
        for a, b in itertools.pairwise(bounds)
    ]
