"""Subscription caps and eligibility: the one place that says yes or no.

Pure functions over numbers that the caller gathered (under the locks it
holds), so each rule can be tested at its boundary without a database.
Each refusal names the limit and what is left, in the API's codes.

Sources (DESIGN.md section 3):
- per-investor minimum and maximum per issue: the issue's terms;
- per-member cap for societies: Co-operative and Community Benefit Societies
  Act 2014 s.24: at most £100,000 of withdrawable capital per member across
  the society's instruments (not for members that are themselves societies);
- capacity: pending + paid never above `max_raise`;
- eligibility: age 18 or over on the subscription date; local offers name
  postcode prefixes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bondplatform.errors import RuleViolation
from bondplatform.money import display_pounds, format_pence
from people.postcodes import postcode_matches_prefix

SOCIETY_MEMBER_CAP_PENCE = 100_000_00
ADULT_AGE = 18


@dataclass(frozen=True)
class SubscriptionFacts:
    amount_pence: int
    min_subscription_pence: int
    max_subscription_pence: int
    # The investor's pending + paid subscriptions to this issue, before this one.
    investor_issue_total_pence: int
    # Whether the society member cap applies, and the investor's capital with
    # this issuer (live subscriptions and held principal) before this one.
    society_cap_applies: bool
    investor_issuer_total_pence: int


def age_on(date_of_birth: dt.date, on: dt.date) -> int:
    years = on.year - date_of_birth.year
    if (on.month, on.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


def check_eligibility(
    *, date_of_birth: dt.date, postcode: str, eligible_prefixes: list[str], on: dt.date
) -> None:
    age = age_on(date_of_birth, on)
    if age < ADULT_AGE:
        raise RuleViolation(
            f"You must be {ADULT_AGE} or over to subscribe.",
            code="not_eligible",
            extra={"rule": "minimum_age"},
        )
    if eligible_prefixes and not any(postcode_matches_prefix(postcode, p) for p in eligible_prefixes):
        raise RuleViolation(
            "This is a local offer, open to residents of " + ", ".join(eligible_prefixes) + " postcodes.",
            code="not_eligible",
            extra={"rule": "postcode", "eligible_postcode_prefixes": list(eligible_prefixes)},
        )


def check_subscription_caps(facts: SubscriptionFacts) -> None:
    """Raise RuleViolation for the first cap the subscription would break."""
    if facts.amount_pence < facts.min_subscription_pence:
        raise RuleViolation(
            f"The minimum subscription is {display_pounds(facts.min_subscription_pence)}.",
            code="below_minimum",
            extra={"minimum": format_pence(facts.min_subscription_pence)},
        )
    room = facts.max_subscription_pence - facts.investor_issue_total_pence
    if facts.amount_pence > room:
        raise RuleViolation(
            f"Each person may put at most {display_pounds(facts.max_subscription_pence)} into this issue: "
            f"you can subscribe at most {display_pounds(max(room, 0))} more.",
            code="cap_exceeded_per_investor",
            extra={
                "limit": format_pence(facts.max_subscription_pence),
                "remaining": format_pence(max(room, 0)),
            },
        )
    if facts.society_cap_applies:
        room = SOCIETY_MEMBER_CAP_PENCE - facts.investor_issuer_total_pence
        if facts.amount_pence > room:
            raise RuleViolation(
                f"A society's member may hold at most {display_pounds(SOCIETY_MEMBER_CAP_PENCE)} with it "
                f"(CCBSA 2014 s.24): you can subscribe at most {display_pounds(max(room, 0))} more.",
                code="cap_exceeded_issuer_aggregate",
                extra={
                    "limit": format_pence(SOCIETY_MEMBER_CAP_PENCE),
                    "remaining": format_pence(max(room, 0)),
                },
            )


def issue_full(*, remaining_pence: int) -> RuleViolation:
    if remaining_pence <= 0:
        detail = "This issue is fully subscribed."
    else:
        detail = f"This issue has only {display_pounds(remaining_pence)} left."
    return RuleViolation(
        detail, code="issue_full", extra={"remaining": format_pence(max(remaining_pence, 0))}
    )
