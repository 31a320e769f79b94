"""The participation audit never shows a group of fewer than 5 investors.

Property tests over any crowd of investors (random postcodes, amounts, first
times, areas) for the pure summary, and the same through the API on the
database; then worked examples of each figure.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from investments.models import Subscription
from investments.participation import (
    MIN_GROUP,
    OTHER,
    InvestorFacts,
    districts_grouped,
    participation_summarise,
    postcode_district,
    quartiles,
)
from issuers.models import Issuer, RoleGrant

# A few districts, so that crowds fall into groups of every size, and some junk.
DISTRICTS = ["S1", "S2", "S10", "S11", "M1", "LS6", "EC1A"]
postcodes = st.one_of(
    st.builds(lambda d, n: f"{d} {n}AB", st.sampled_from(DISTRICTS), st.integers(0, 9)),
    st.sampled_from(["", "not a postcode", "S1", "ZZ99"]),
)
investors = st.builds(
    InvestorFacts,
    postcode=postcodes,
    total_pence=st.integers(min_value=1, max_value=100_000_00),
    first_time=st.booleans(),
    local=st.one_of(st.none(), st.booleans()),
)


def _groups_ok(count: int, total: int) -> bool:
    return (count == 0 or count >= MIN_GROUP) and (total - count == 0 or total - count >= MIN_GROUP)


def assert_no_small_group(crowd: list[InvestorFacts], shown: dict) -> None:
    total = len(crowd)
    districts = shown["districts"]
    assert all(n >= MIN_GROUP for _, n in districts), districts
    if total >= MIN_GROUP:
        assert sum(n for _, n in districts) == total
        assert shown["investor_count"] == total
    else:
        assert districts == []
        assert shown["investor_count"] == (0 if total == 0 else None)
    # A named district is shown with its true count, and only if it has at least 5.
    true = {}
    for i in crowd:
        true[postcode_district(i.postcode)] = true.get(postcode_district(i.postcode), 0) + 1
    for district, n in districts:
        if district != OTHER:
            assert true[district] == n >= MIN_GROUP
    sizes = shown["subscription_sizes"]
    assert (sizes["median_pence"] is None) == (total < MIN_GROUP)
    if sizes["share_under_500"] is not None:
        assert _groups_ok(sum(1 for i in crowd if i.total_pence < 500_00), total)
    if shown["first_time_investors"] is not None:
        assert _groups_ok(shown["first_time_investors"], total)
    if shown["local_share"] is not None:
        with_area = [i for i in crowd if i.local is not None]
        assert _groups_ok(sum(1 for i in with_area if i.local), len(with_area))


@given(crowd=st.lists(investors, max_size=40))
def test_no_figure_ever_counts_fewer_than_five(crowd):
    assert_no_small_group(crowd, participation_summarise(crowd))


@given(st.lists(postcodes, max_size=60))
def test_districts_are_never_shown_with_fewer_than_five(codes):
    grouped = districts_grouped(codes)
    assert all(n >= MIN_GROUP for _, n in grouped)
    assert sum(n for _, n in grouped) == (len(codes) if len(codes) >= MIN_GROUP else 0)
    assert [d for d, _ in grouped].count(OTHER) <= 1


def test_districts_worked_examples():
    def crowd(**counts):
        return [f"{d} 1AA" for d, n in counts.items() for _ in range(n)]

    # S3 (2) and M1 (1) are merged, with S2 (4): "other" holds 7.
    assert districts_grouped(crowd(S1=6, S2=4, S3=2, M1=1)) == [("S1", 6), ("other", 7)]
    # "other" would hold 3: the smallest district shown (S2, 5) joins it.
    assert districts_grouped(crowd(S1=6, S2=5, S3=3)) == [("S1", 6), ("other", 8)]
    assert districts_grouped(crowd(S1=5, S2=5)) == [("S1", 5), ("S2", 5)]
    assert districts_grouped(crowd(S1=4)) == []
    assert districts_grouped(["junk"] * 5) == [("other", 5)]


def test_quartiles_are_exact_and_rounded_half_even_to_the_penny():
    assert quartiles([100_00, 200_00, 300_00, 400_00, 500_00]) == (200_00, 300_00, 400_00)
    assert quartiles([1, 2]) == (1, 2, 2)  # 1.25 -> 1, 1.5 -> 2 (half to even), 1.75 -> 2
    assert quartiles([1, 4]) == (2, 2, 3)  # 1.75 -> 2, 2.5 -> 2, 3.25 -> 3


def test_worked_example_of_the_sizes_and_first_timers():
    crowd = [
        InvestorFacts("S1 1AA", pence, first_time=n < 5)
        for n, pence in enumerate([100_00] * 5 + [1000_00] * 5)
    ]
    shown = participation_summarise(crowd)
    assert shown["subscription_sizes"]["median_pence"] == 550_00
    assert shown["subscription_sizes"]["share_under_500"] == Fraction(1, 2)
    assert shown["first_time_investors"] == 5
    # Four of five under £500: the one above would be a group of one.
    shown = participation_summarise(crowd[:4] + crowd[5:6])
    assert shown["subscription_sizes"]["share_under_500"] is None
    assert shown["first_time_investors"] is None


# --- through the API, on the database ------------------------------------------------------

_people = itertools.count(1)


@pytest.fixture
def issuer_with_crowd(make_issue):
    def issuer_with_crowd(make_user, codes: list[str], amounts: list[int]) -> Issuer:
        n = next(_people)
        issuer = Issuer.objects.create(
            name=f"Crowd {n}",
            legal_form="community_benefit_society",
            asset_lock_basis="statutory",
            max_interest_rate_percent=Decimal("5.00"),
        )
        officer = make_user(f"crowd_officer_{n}", resident=False)
        RoleGrant.objects.create(issuer=issuer, user=officer, role="finance_officer")
        issue = make_issue(issuer, officer, eligible_postcode_prefixes=[], max_subscription_pence=5_000_00)
        for k, (code, amount) in enumerate(zip(codes, amounts, strict=True)):
            person = make_user(f"crowd_{n}_{k}", postcode=code)
            # Straight into the books as paid: the audit reads subscriptions, not how they were paid.
            Subscription.objects.create(
                issue=issue,
                investor=person,
                amount_pence=amount,
                status="paid",
                payment_method="bank_transfer",
                provider="bank_transfer",
                reference=f"P{n}X{k}",
                received_pence=amount,
                expires_at=issue.closes_at,
            )
        return issuer

    return issuer_with_crowd


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    codes=st.lists(st.sampled_from(["S1 1AA", "S2 2BB", "S10 3CC", "M1 4DD", "LS6 5EE"]), max_size=14),
    data=st.data(),
)
@pytest.mark.django_db
def test_the_api_never_shows_a_group_of_fewer_than_five(
    make_user, codes, data, issuer_with_crowd, api_client_for
):
    amounts = data.draw(st.lists(st.integers(100_00, 5_000_00), min_size=len(codes), max_size=len(codes)))
    issuer = issuer_with_crowd(make_user, codes, amounts)
    shown = api_client_for(None).get(f"/api/v1/issuers/{issuer.pk}/participation/").json()
    assert all(d["investors"] >= MIN_GROUP for d in shown["districts"]), shown
    assert sum(d["investors"] for d in shown["districts"]) == (len(codes) if len(codes) >= MIN_GROUP else 0)
    if 0 < len(codes) < MIN_GROUP:
        assert shown["investor_count"] is None
        assert shown["subscription_sizes"]["median"] is None


@pytest.mark.django_db
def test_the_api_shows_the_figures_as_money_and_shares(
    society, officer, make_user, cic, make_issue, subscribe, record_payment, api_client_for
):
    local_offer = make_issue(society, officer, eligible_postcode_prefixes=["S"])
    open_offer = make_issue(society, officer, name="Open to all")
    people = [("S1 1AA", "100.00")] * 3 + [("S2 2BB", "450.00")] * 3 + [("M1 1AA", "1000.00")] * 5
    for k, (code, amount) in enumerate(people):
        person = make_user(f"p{k}", postcode=code)
        sub = subscribe(person, local_offer if code.startswith("S") else open_offer, amount).json()
        assert (
            record_payment(officer, sub["id"], amount, sub["payment"]["reference"], key=f"k{k}").status_code
            == 200
        )
    # Two of the Manchester five had invested before, with another issuer.
    cic_officer = make_user("cic_officer", resident=False)
    RoleGrant.objects.create(issuer=cic, user=cic_officer, role="finance_officer")
    earlier = make_issue(cic, cic_officer)
    for k, person in enumerate(Subscription.objects.filter(issue=open_offer).order_by("id")[:2]):
        Subscription.objects.create(
            issue=earlier,
            investor=person.investor,
            amount_pence=100_00,
            status="paid",
            payment_method="bank_transfer",
            provider="bank_transfer",
            reference=f"EARLY{k}",
            received_pence=100_00,
            expires_at=earlier.closes_at,
        )
        Subscription.objects.filter(issue=earlier, investor=person.investor).update(
            created_at=person.created_at.replace(year=2020)
        )
    shown = api_client_for(None).get(f"/api/v1/issuers/{society.pk}/participation/").json()
    assert shown["investor_count"] == 11
    assert shown["area"] == ["S"]
    # S1 (3) and S2 (3) are too small alone: together they are "other".
    assert shown["districts"] == [{"district": "M1", "investors": 5}, {"district": "other", "investors": 6}]
    sizes = shown["subscription_sizes"]
    # 100 100 100 450 450 450 1000 1000 1000 1000 1000: ranks 2.5, 5 and 7.5.
    assert (sizes["lower_quartile"], sizes["median"], sizes["upper_quartile"]) == (
        "275.00",
        "450.00",
        "1000.00",
    )
    assert sizes["share_under_500"] == "0.55"  # 6 of 11
    # 9 first-timers and 2 who had invested before: the 2 would be a small group.
    assert shown["first_time_investors"] is None
    # Money from the area: 6 local investors (300 + 1350) and 5 outside (5000): 1650 of 6650.
    assert shown["local_share"] == "0.25"
    assert api_client_for(None).get("/api/v1/issuers/999999/participation/").status_code == 404
