"""What is owed, by legal form, through the services: refunds and payouts just inside and just outside.

An asset-locked issuer (society, co-operative with a lock in its rules, CIC by
shares, CIC by guarantee, charity) may pay back what it received and pay what
its bonds' terms make owed, and not a penny more; a company without an asset
lock is not restricted by the lock (only by its books). A winding-up does not
stop an issuer paying its bondholders: they are its creditors.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from compliance.models import Decision, Outcome
from investments.interest import add_months
from investments.models import Payout, Refund
from investments.services.interest_runs import interest_run_execute
from issuers.models import Issuer, RoleGrant
from ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db

FORMS = {
    "society": ("community_benefit_society", "statutory"),
    "co-operative": ("cooperative_society", "articles"),
    "cic_by_shares": ("cic_limited_by_shares", "cic"),
    "cic_by_guarantee": ("cic_limited_by_guarantee", "cic"),
    "charity": ("charity", "articles"),
    "unlocked_company": ("company_limited_by_guarantee", "none"),
}


@pytest.fixture(params=list(FORMS))
def body(request, make_user):
    legal_form, basis = FORMS[request.param]
    issuer = Issuer.objects.create(
        name=f"{request.param} Ltd",
        legal_form=legal_form,
        asset_lock_basis=basis,
        max_interest_rate_percent=Decimal("5.00"),
    )
    officer = make_user("olive_officer", resident=False)
    RoleGrant.objects.create(issuer=issuer, user=officer, role="finance_officer")
    return issuer, officer


def _locked(issuer) -> bool:
    return issuer.asset_lock_basis != "none"


@pytest.mark.parametrize("extra_pence", [0, 1], ids=["just_inside", "just_outside"])
def test_a_refund_returns_what_was_received(
    body, resident, extra_pence, make_issue, subscribe, pay_by_bank_transfer, api_client_for, assert_error
):
    issuer, officer = body
    issue = make_issue(issuer, officer)
    sub = subscribe(resident, issue, "250.00").json()
    pay_by_bank_transfer(officer, sub)
    assert api_client_for(resident).post(f"/api/v1/subscriptions/{sub['id']}/cancel/").status_code == 200
    refund = Refund.objects.get(subscription_id=sub["id"])
    Refund.objects.filter(pk=refund.pk).update(amount_pence=250_00 + extra_pence)
    before = LedgerEntry.objects.filter(issuer=issuer).count()
    response = api_client_for(officer).post(f"/api/v1/refunds/{refund.pk}/mark-sent/")
    decision = Decision.objects.filter(issuer=issuer, rule="asset_lock").latest("id")
    if extra_pence and _locked(issuer):
        assert_error(response, 422, "asset_lock_violation")
        assert LedgerEntry.objects.filter(issuer=issuer).count() == before
        assert (decision.outcome, decision.context["owed_pence"]) == (Outcome.DENY, 250_00)
    else:
        assert response.status_code == 200, response.content
        assert LedgerEntry.objects.filter(issuer=issuer).count() == before + 1
        assert decision.outcome == Outcome.ALLOW


@pytest.mark.parametrize("extra_pence", [0, 1], ids=["just_inside", "just_outside"])
@pytest.mark.parametrize("winding_up", [False, True], ids=["trading", "winding_up"])
def test_interest_paid_is_what_the_terms_owe(
    body, resident, extra_pence, winding_up, allotted, ask_for_interest, api_client_for, assert_error
):
    issuer, officer = body
    issue = allotted(issuer, officer, resident)  # £1,000 at 4 %: £40.00 a year, less tax for a company
    coupon = add_months(issue.allotted_on, 12)
    ask_for_interest(officer, issue, coupon, on=coupon)
    interest_run_execute(run_id=issue.interest_runs.get().pk)
    if winding_up:
        wound = api_client_for(officer).post(
            f"/api/v1/issuers/{issuer.pk}/winding-up/",
            {"date": issue.allotted_on.isoformat(), "reason": "Members' resolution"},
            format="json",
        )
        assert wound.status_code == 201, wound.content
    owed = Payout.objects.get().amount_pence
    assert owed == (40_00 if issuer.is_society else 32_00)  # a society pays gross (ITA 2007 s.887)
    Payout.objects.update(amount_pence=owed + extra_pence)
    batch = Payout.objects.get().batch_id
    response = api_client_for(officer).post(f"/api/v1/payout-batches/{batch}/mark-sent/")
    if extra_pence and _locked(issuer):
        body = assert_error(response, 422, "asset_lock_violation")
        assert body["owed_pence"] == owed
    else:
        assert response.status_code == 200, response.content
        assert Payout.objects.get().status == "sent"
