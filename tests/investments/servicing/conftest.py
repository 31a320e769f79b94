"""Fixtures for a bond's life after allotment: allotted issues with named holders, and the books."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from investments.models import BondIssue, Holding
from investments.services.interest_runs import interest_run_execute, interest_run_request
from issuers.models import RoleGrant
from ledger.models import LedgerEntry

# A three-year bond with annual coupons at 4 %, as the tests below use it unless they say otherwise.
ANNUAL_4PC = {
    "coupon_rate_percent": Decimal("4.00"),
    "term_months": 36,
    "interest_frequency": "annual",
    "day_count": "act_365f",
}


# Every test here starts on this day (so a leap day falls where the expected figures say).
ALLOTMENT_DAY = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _on_allotment_day():
    with time_machine.travel(ALLOTMENT_DAY):
        yield


def _ok(response, status=(200, 201)):
    assert response.status_code in ((status,) if isinstance(status, int) else status), response.content
    return response.json()


@pytest.fixture
def allot(api_client_for, make_issue):
    """allot(issuer, officer, {user: "1000.00", ...}, **terms) -> (issue, {username: holding}).

    Through the API, as residents and the officer would: subscribe, pay by
    bank transfer, close, allot today."""

    def make(issuer, officer, amounts: dict, **terms) -> tuple[BondIssue, dict[str, Holding]]:
        issue = make_issue(issuer, officer, **{**ANNUAL_4PC, **terms})
        for user, amount in amounts.items():
            sub = _ok(
                api_client_for(user).post(
                    f"/api/v1/issues/{issue.pk}/subscriptions/",
                    {"amount": amount, "payment_method": "bank_transfer"},
                    format="json",
                )
            )
            _ok(
                api_client_for(officer).post(
                    f"/api/v1/subscriptions/{sub['id']}/record-payment/",
                    {
                        "amount": amount,
                        "reference": sub["payment"]["reference"],
                        "received_on": timezone.localdate().isoformat(),
                    },
                    format="json",
                    HTTP_IDEMPOTENCY_KEY=f"pay-{sub['id']}",
                )
            )
        _ok(api_client_for(officer).post(f"/api/v1/issues/{issue.pk}/close/"))
        _ok(api_client_for(officer).post(f"/api/v1/issues/{issue.pk}/allot/"))
        issue.refresh_from_db()
        holdings = {
            h.holder.username: h for h in Holding.objects.filter(issue=issue).select_related("holder")
        }
        return issue, holdings

    return make


@pytest.fixture
def run_interest():
    """run_interest(officer, issue, period_end) -> the run, requested and executed (inline in tests)."""

    def run(officer, issue, period_end: dt.date):
        run, _ = interest_run_request(actor=officer, issue_id=issue.pk, period_end=period_end)
        run.refresh_from_db()
        if run.status != "completed":
            run = interest_run_execute(run_id=run.pk)
        return run

    return run


@pytest.fixture
def books(balances):
    """books(issuer) -> {code: signed pence} of the nonzero balances (debit positive): `balances`."""
    return balances


@pytest.fixture
def entry_count():
    def count(issuer) -> int:
        return LedgerEntry.objects.filter(issuer=issuer).count()

    return count


@pytest.fixture
def cic_officer(make_user, cic):
    """A finance officer of the CIC (which withholds 20 % tax on interest)."""

    user = make_user("cora_cic_officer", resident=False)
    RoleGrant.objects.create(issuer=cic, user=user, role="finance_officer")
    return user
