"""The participation audit: who put money into an issuer, aggregated so that no one can be picked out.

The seed's point is that ownership stays broad and local; this shows it,
publicly, without showing anyone. The rule: every figure published counts a
group of at least `MIN_GROUP` (5) investors, or none.

- Investors by postcode district (the outward code, "S1" of "S1 2AB"):
  districts with fewer than 5 investors are merged into "other"; if "other"
  would then hold 1 to 4, the smallest districts shown join it until it holds
  at least 5. Fewer than 5 investors in all: no districts at all.
- The size of each investor's money in the issuer (all their subscriptions
  to its issues together: people, not payments): quartiles and median, and
  the share under £500, only when there are at least 5 investors, and the
  share only when both those under £500 and the rest are 0 or at least 5.
- First-time investors (whose first subscription through the service was to
  this issuer): shown when they and the rest are each 0 or at least 5.
- The share of the money that came from the issuer's area (the eligible
  postcode prefixes of its issues, together; an issue open to anyone still
  counts its investors as from inside the area or not): shown when the local
  investors and the others are each 0 or at least 5. None for an issuer that
  has never named an area.
Complements count as groups too: with the total public, a figure for 17 of
20 would show the other 3.

Money counted is money that came in and stayed: paid and allotted
subscriptions, in pounds sterling. Quartiles interpolate linearly between
ranks ("inclusive", as `statistics.quantiles(method="inclusive")`), exactly,
and are rounded half-even to the penny (`bondplatform.money`).

The summary is pure (`participation_summarise`), so that the rule can be
tested over any crowd of investors; `selectors_accountability` gathers the facts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from bondplatform.money import round_to_pence
from people.postcodes import normalise_postcode

MIN_GROUP = 5
OTHER = "other"
SMALL_INVESTMENT_PENCE = 500_00


@dataclass(frozen=True)
class InvestorFacts:
    """One investor's part in an issuer: never their name, only what the figures need."""

    postcode: str
    total_pence: int
    first_time: bool
    # Whether they live in the issuer's area; None when it has named none.
    local: bool | None = None


def postcode_district(postcode: str) -> str | None:
    normalised = normalise_postcode(postcode or "")
    return normalised.partition(" ")[0] if normalised else None


def districts_grouped(postcodes: Iterable[str], *, minimum: int = MIN_GROUP) -> list[tuple[str, int]]:
    """[(district, investors)], by district, "other" last; every count at least `minimum`."""
    counts = Counter(postcode_district(p) for p in postcodes)
    total = sum(counts.values())
    if total < minimum:
        return []
    shown = {district: n for district, n in counts.items() if district is not None and n >= minimum}
    other = total - sum(shown.values())
    while 0 < other < minimum:
        smallest = min(shown, key=lambda d: (shown[d], d))
        other += shown.pop(smallest)
    grouped = sorted(shown.items())
    return [*grouped, (OTHER, other)] if other else grouped


def _publishable(count: int, total: int, minimum: int) -> bool:
    """A count may be shown when it, and what the total leaves, are each none or a group."""
    rest = total - count
    return (count == 0 or count >= minimum) and (rest == 0 or rest >= minimum)


def quartiles(values: Sequence[int]) -> tuple[int, int, int]:
    """(lower quartile, median, upper quartile) of pence amounts, interpolated exactly, rounded to the penny."""
    ordered = sorted(values)
    last = len(ordered) - 1

    def at(fraction: Fraction) -> int:
        position = fraction * last
        below = int(position)
        above = min(below + 1, last)
        return round_to_pence(ordered[below] + (ordered[above] - ordered[below]) * (position - below))

    return at(Fraction(1, 4)), at(Fraction(1, 2)), at(Fraction(3, 4))


def participation_summarise(
    investors: Sequence[InvestorFacts], *, minimum: int = MIN_GROUP
) -> dict[str, Any]:
    total = len(investors)
    enough = total >= minimum
    sizes: dict[str, Any] = {
        "lower_quartile_pence": None,
        "median_pence": None,
        "upper_quartile_pence": None,
        "share_under_500": None,
    }
    if enough:
        lower, median, upper = quartiles([i.total_pence for i in investors])
        sizes.update(lower_quartile_pence=lower, median_pence=median, upper_quartile_pence=upper)
        small = sum(1 for i in investors if i.total_pence < SMALL_INVESTMENT_PENCE)
        if _publishable(small, total, minimum):
            sizes["share_under_500"] = Fraction(small, total)
    first_time = sum(1 for i in investors if i.first_time)
    with_area = [i for i in investors if i.local is not None]
    local = sum(1 for i in with_area if i.local)
    money = sum(i.total_pence for i in with_area)
    local_share = None
    if money and _publishable(local, len(with_area), minimum):
        local_share = Fraction(sum(i.total_pence for i in with_area if i.local), money)
    return {
        "minimum_group": minimum,
        "investor_count": total if total == 0 or enough else None,
        "districts": districts_grouped((i.postcode for i in investors), minimum=minimum),
        "subscription_sizes": sizes,
        # (Publishable only if the total is 0 or at least `minimum`: with 1 to 4 one side is too small.)
        "first_time_investors": first_time if _publishable(first_time, total, minimum) else None,
        "local_share": local_share,
    }
