"""Each cap at its boundary: exactly at the limit is accepted, a penny over is refused."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bondplatform.errors import RuleViolation
from compliance.caps import (
    SOCIETY_MEMBER_CAP_PENCE,
    SubscriptionFacts,
    age_on,
    check_eligibility,
    check_subscription_caps,
)


def facts(**overrides) -> SubscriptionFacts:
    base = {
        "amount_pence": 250_00,
        "min_subscription_pence": 100_00,
        "max_subscription_pence": 5_000_00,
        "investor_issue_total_pence": 0,
        "society_cap_applies": True,
        "investor_issuer_total_pence": 0,
    }
    return SubscriptionFacts(**{**base, **overrides})


def refusal_code(f: SubscriptionFacts) -> str | None:
    try:
        check_subscription_caps(f)
    except RuleViolation as exc:
        return exc.code
    return None


def test_minimum_exactly_is_accepted_a_penny_less_is_refused():
    assert refusal_code(facts(amount_pence=100_00)) is None
    assert refusal_code(facts(amount_pence=99_99)) == "below_minimum"


def test_per_investor_maximum_counts_what_they_already_have():
    assert refusal_code(facts(amount_pence=1_500_00, investor_issue_total_pence=3_500_00)) is None
    assert refusal_code(facts(amount_pence=1_500_01, investor_issue_total_pence=3_500_00)) == (
        "cap_exceeded_per_investor"
    )


def test_per_investor_refusal_says_what_is_left():
    with pytest.raises(RuleViolation) as refused:
        check_subscription_caps(facts(amount_pence=2_000_00, investor_issue_total_pence=4_850_00))
    assert "you can subscribe at most £150.00 more" in refused.value.detail
    assert refused.value.extra["remaining"] == "150.00"


def test_society_member_cap_is_100000_pounds_across_the_issuer():
    big = facts(max_subscription_pence=200_000_00, min_subscription_pence=1)
    at_limit = SubscriptionFacts(
        **{
            **big.__dict__,
            "amount_pence": 10_000_00,
            "investor_issuer_total_pence": SOCIETY_MEMBER_CAP_PENCE - 10_000_00,
        }
    )
    assert refusal_code(at_limit) is None
    over = SubscriptionFacts(**{**at_limit.__dict__, "amount_pence": 10_000_01})
    assert refusal_code(over) == "cap_exceeded_issuer_aggregate"


def test_member_cap_does_not_apply_to_companies():
    f = facts(
        max_subscription_pence=500_000_00,
        amount_pence=150_000_00,
        society_cap_applies=False,
        investor_issuer_total_pence=0,
    )
    assert refusal_code(f) is None


@given(
    amount=st.integers(min_value=1, max_value=10**9),
    minimum=st.integers(min_value=1, max_value=10**7),
    spread=st.integers(min_value=0, max_value=10**8),
    already=st.integers(min_value=0, max_value=10**8),
)
def test_an_accepted_subscription_never_takes_an_investor_past_the_caps(amount, minimum, spread, already):
    f = facts(
        amount_pence=amount,
        min_subscription_pence=minimum,
        max_subscription_pence=minimum + spread,
        investor_issue_total_pence=already,
        investor_issuer_total_pence=already,
    )
    if refusal_code(f) is None:
        assert amount >= minimum
        assert already + amount <= minimum + spread
        assert already + amount <= SOCIETY_MEMBER_CAP_PENCE


def test_age_is_counted_to_the_birthday():
    assert age_on(dt.date(2008, 11, 26), dt.date(2026, 11, 26)) == 18
    assert age_on(dt.date(2008, 11, 27), dt.date(2026, 11, 26)) == 17


def test_eighteen_today_is_eligible_seventeen_is_not():
    check_eligibility(
        date_of_birth=dt.date(2008, 11, 26), postcode="S1 2AB", eligible_prefixes=[], on=dt.date(2026, 11, 26)
    )
    with pytest.raises(RuleViolation) as refused:
        check_eligibility(
            date_of_birth=dt.date(2008, 11, 27),
            postcode="S1 2AB",
            eligible_prefixes=[],
            on=dt.date(2026, 11, 26),
        )
    assert refused.value.code == "not_eligible"


def test_local_offer_is_for_its_postcodes_only():
    check_eligibility(
        date_of_birth=dt.date(1970, 1, 1),
        postcode="S1 2AB",
        eligible_prefixes=["S1", "S2"],
        on=dt.date(2026, 11, 26),
    )
    with pytest.raises(RuleViolation) as refused:
        check_eligibility(
            date_of_birth=dt.date(1970, 1, 1),
            postcode="S11 8QB",
            eligible_prefixes=["S1"],
            on=dt.date(2026, 11, 26),
        )
    assert refused.value.code == "not_eligible"
