"""Every refusal of a rule keeps its deny decision, although the refused action rolls back.

One case per refusal code the services raise (a `RuleViolation`, and the
"not open" refusal of subscribing): each asks through the API, checks the
4xx and its code, and then that the decision log holds the deny row. A
last test reads the services' source for refusal codes, so that a new rule
cannot be added without a case here.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from bondplatform.errors import RuleViolation
from compliance.asset_lock import Outflow, asset_lock_judge
from compliance.models import Decision, Outcome
from compliance.services import refusals_kept
from investments.interest import add_months
from investments.models import Payout, Refund, Subscription
from investments.services.interest_runs import interest_run_execute
from ledger.models import LedgerEntry
from ledger.services import Posting, entry_post

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def denied(issuer, rule) -> Decision:
    rows = Decision.objects.filter(issuer=issuer, rule=rule, outcome=Outcome.DENY)
    assert rows.count() == 1, list(rows.values("rule", "reason"))
    return rows.get()


def test_below_minimum(society, officer, resident, assert_error, subscribe, make_issue):
    issue = make_issue(society, officer)
    assert_error(subscribe(resident, issue, "99.99"), 422, "below_minimum")
    decision = denied(society, "below_minimum")
    assert decision.actor == resident
    assert decision.context["amount_pence"] == 99_99


def test_cap_exceeded_per_investor(society, officer, resident, assert_error, subscribe, make_issue):
    issue = make_issue(society, officer)
    assert_error(subscribe(resident, issue, "5000.01"), 422, "cap_exceeded_per_investor")
    denied(society, "cap_exceeded_per_investor")


def test_cap_exceeded_issuer_aggregate(society, officer, resident, assert_error, subscribe, make_issue):
    issue = make_issue(society, officer, max_subscription_pence=150_000_00, max_raise_pence=1_000_000_00)
    assert_error(subscribe(resident, issue, "100000.01"), 422, "cap_exceeded_issuer_aggregate")
    denied(society, "cap_exceeded_issuer_aggregate")


def test_issue_full(society, officer, resident, outsider, subscribe, assert_error, make_issue):
    issue = make_issue(society, officer, max_subscription_pence=500_00, max_raise_pence=500_00)
    assert subscribe(outsider, issue, "500.00").status_code == 201
    assert_error(subscribe(resident, issue, "100.00"), 422, "issue_full")
    denied(society, "issue_full")


def test_not_eligible(society, officer, make_user, assert_error, subscribe, make_issue):
    issue = make_issue(society, officer)
    minor = make_user("young_yasmin", date_of_birth=timezone.localdate() - dt.timedelta(days=17 * 365))
    assert_error(subscribe(minor, issue, "100.00"), 422, "not_eligible")
    denied(society, "not_eligible")


def test_issue_not_open(society, officer, resident, assert_error, subscribe, make_issue):
    now = timezone.now()
    issue = make_issue(
        society, officer, opens_at=now + dt.timedelta(days=1), closes_at=now + dt.timedelta(days=9)
    )
    assert_error(subscribe(resident, issue, "100.00"), 409, "issue_not_open")
    denied(society, "issue_not_open")


def test_payment_method_unavailable(
    society, officer, resident, settings, assert_error, subscribe, make_issue
):
    settings.STRIPE_SECRET_KEY = ""
    issue = make_issue(society, officer)
    assert_error(subscribe(resident, issue, "100.00", method="card"), 422, "payment_method_unavailable")
    denied(society, "payment_method_unavailable")


def test_cooling_off_expired(
    society, officer, resident, subscribe, pay_by_bank_transfer, api_client_for, assert_error, make_issue
):
    issue = make_issue(society, officer, closes_at=timezone.now() + dt.timedelta(days=60))
    subscription = subscribe(resident, issue, "250.00").json()
    pay_by_bank_transfer(officer, subscription)
    with time_machine.travel(timezone.now() + dt.timedelta(days=15)):
        response = api_client_for(resident).post(f"/api/v1/subscriptions/{subscription['id']}/cancel/")
    assert_error(response, 422, "cooling_off_expired")
    decision = denied(society, "cooling_off")
    assert decision.subject_type == "subscription"
    assert decision.subject_id == str(subscription["id"])


def test_rate_cap_exceeded(society, officer, api_client_for, assert_error, make_issue):
    issue = make_issue(society, officer, open_it=False, coupon_rate_percent=Decimal("5.01"))
    response = api_client_for(officer).post(f"/api/v1/issues/{issue.pk}/open/")
    assert_error(response, 422, "rate_cap_exceeded")
    assert denied(society, "rate_cap").subject_id == str(issue.pk)


def test_closes_at_in_past(society, officer, api_client_for, assert_error, make_issue):
    now = timezone.now()
    issue = make_issue(
        society,
        officer,
        open_it=False,
        opens_at=now - dt.timedelta(days=2),
        closes_at=now - dt.timedelta(days=1),
    )
    response = api_client_for(officer).post(f"/api/v1/issues/{issue.pk}/open/")
    assert_error(response, 422, "closes_at_in_past")
    denied(society, "closes_at_in_past")


def test_reference_mismatch(society, officer, resident, subscribe, api_client_for, assert_error, make_issue):
    issue = make_issue(society, officer)
    subscription = subscribe(resident, issue, "250.00").json()
    response = api_client_for(officer).post(
        f"/api/v1/subscriptions/{subscription['id']}/record-payment/",
        {"amount": "250.00", "reference": "MBWRONG00", "received_on": timezone.localdate().isoformat()},
        format="json",
        HTTP_IDEMPOTENCY_KEY="wrong-ref",
    )
    assert_error(response, 422, "reference_mismatch")
    assert denied(society, "reference_mismatch").actor == officer


def test_asset_lock_violation_leaves_the_ledger_untouched(society, officer):
    # The guard as every outflow service drives it: inside the transaction that would
    # post the outflow, wrapped in refusals_kept.
    outflow = Outflow(purpose="other", amount_pence=100_00, recipient="a director")
    with pytest.raises(RuleViolation) as refused:
        with refusals_kept(actor=officer, issuer=society), transaction.atomic():
            entry_post(
                issuer=society,
                kind="distribution",
                value_date=timezone.localdate(),
                description="A payment the asset lock forbids",
                idempotency_key="forbidden",
                postings=[Posting("distributions", 100_00), Posting("cash_at_bank", -100_00)],
            )
            asset_lock_judge(actor=officer, issuer=society, outflow=outflow)
    assert refused.value.code == "asset_lock_violation"
    assert not LedgerEntry.objects.filter(issuer=society).exists()  # the ledger is untouched
    decision = denied(society, "asset_lock")
    assert decision.context["purpose"] == "other"
    assert "SI 2006/264" in decision.context["source"]


def test_not_a_coupon_date(society, officer, resident, allotted, assert_error, ask_for_interest):
    issue = allotted(society, officer, resident)
    day = issue.allotted_on + dt.timedelta(days=100)
    assert_error(ask_for_interest(officer, issue, day, on=day), 422, "not_a_coupon_date")
    assert denied(society, "interest_run_period").subject_id == str(issue.pk)


def test_period_not_ended(society, officer, resident, allotted, assert_error, ask_for_interest):
    issue = allotted(society, officer, resident)
    coupon = add_months(issue.allotted_on, 12)
    assert_error(ask_for_interest(officer, issue, coupon, on=issue.allotted_on), 422, "period_not_ended")
    denied(society, "interest_run_period")


def test_earlier_period_not_run(society, officer, resident, allotted, assert_error, ask_for_interest):
    issue = allotted(society, officer, resident)
    second = add_months(issue.allotted_on, 24)
    assert_error(ask_for_interest(officer, issue, second, on=second), 422, "earlier_period_not_run")
    assert (
        denied(society, "interest_run_order").context["period_end"]
        == add_months(issue.allotted_on, 12).isoformat()
    )


def test_reinvestment_not_allowed(society, officer, resident, allotted, api_client_for, assert_error):
    issue = allotted(society, officer, resident)
    holding = issue.holdings.get()
    response = api_client_for(resident).post(
        f"/api/v1/holdings/{holding.pk}/interest-preference/", {"preference": "reinvest"}, format="json"
    )
    assert_error(response, 422, "reinvestment_not_allowed")
    assert denied(society, "reinvestment").actor == resident


@pytest.fixture
def ask_back(api_client_for):
    def ask_back(resident, issue, amount):
        holding = issue.holdings.get()
        return api_client_for(resident).post(
            f"/api/v1/holdings/{holding.pk}/redemption-requests/", {"amount": amount}, format="json"
        )

    return ask_back


def test_exceeds_principal(society, officer, resident, allotted, assert_error, ask_back):
    issue = allotted(society, officer, resident)
    assert_error(ask_back(resident, issue, "1000.01"), 422, "exceeds_principal")
    assert denied(society, "redemption_amount").context["amount_pence"] == 1000_01


def test_matures_first(society, officer, resident, allotted, assert_error, ask_back):
    issue = allotted(society, officer, resident)
    with time_machine.travel(timezone.now() + dt.timedelta(days=3 * 365 - 30)):
        assert_error(ask_back(resident, issue, "100.00"), 422, "matures_first")
    denied(society, "redemption_notice")


def test_asset_lock_violation(
    society, officer, resident, allotted, ask_for_interest, api_client_for, assert_error
):
    """A payout above what the ledger says the holder is owed never leaves the bank."""

    issue = allotted(society, officer, resident)
    coupon = add_months(issue.allotted_on, 12)
    ask_for_interest(officer, issue, coupon, on=coupon)

    interest_run_execute(run_id=issue.interest_runs.get().pk)
    Payout.objects.update(amount_pence=40_01)
    batch = Payout.objects.get().batch_id
    response = api_client_for(officer).post(f"/api/v1/payout-batches/{batch}/mark-sent/")
    assert_error(response, 422, "asset_lock_violation")
    assert denied(society, "asset_lock").context["owed_pence"] == 40_00


def test_segregation_of_duties(society, officer, api_client_for, assert_error):
    response = api_client_for(officer).post(
        f"/api/v1/issuers/{society.pk}/auditors/", {"username": officer.username}, format="json"
    )
    assert_error(response, 422, "segregation_of_duties")
    assert denied(society, "segregation_of_duties").actor == officer


def test_refund_is_providers(society, officer, resident, subscribe, api_client_for, assert_error, make_issue):
    issue = make_issue(society, officer)
    subscription = Subscription.objects.get(pk=subscribe(resident, issue, "250.00").json()["id"])
    # A refund owed back to a card: Stripe sends it, never an officer's hand.
    refund = Refund.objects.create(
        subscription=subscription,
        amount_pence=250_00,
        reason="overpayment",
        provider="stripe",
        idempotency_key="r",
    )
    response = api_client_for(officer).post(f"/api/v1/refunds/{refund.pk}/mark-sent/")
    assert_error(response, 422, "refund_is_providers")
    assert denied(society, "refund_is_providers").subject_id == str(refund.pk)


@pytest.fixture
def spend(api_client_for):
    def spend(officer, issuer, amount) -> int:
        """An officer pays a supplier (a distribution): the sequence of its ledger entry."""
        response = api_client_for(officer).post(
            f"/api/v1/issuers/{issuer.pk}/distributions/",
            {
                "kind": "consideration",
                "recipient_name": "Hall Builders Ltd",
                "invoice_reference": "INV-1",
                "amount": amount,
                "purpose": "Roof",
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"spend-{amount}",
        )
        assert response.status_code == 201, response.content
        return response.json()["ledger_entry"]["sequence"]

    return spend


@pytest.fixture
def report_use(api_client_for):
    def report_use(officer, issue, amount, sequence):
        return api_client_for(officer).post(
            f"/api/v1/issues/{issue.pk}/uses-of-funds/",
            {
                "amount": amount,
                "purpose": "Roof",
                "spent_on": timezone.localdate().isoformat(),
                "ledger_sequence": sequence,
            },
            format="json",
        )

    return report_use


def test_exceeds_ledger_entry(society, officer, resident, allotted, spend, assert_error, report_use):
    issue = allotted(society, officer, resident)
    roof = spend(officer, society, "300.00")
    assert_error(report_use(officer, issue, "300.01", roof), 422, "exceeds_ledger_entry")
    assert denied(society, "use_of_funds").context["ledger_sequence"] == roof


def test_exceeds_funds_raised(society, officer, resident, allotted, spend, assert_error, report_use):
    issue = allotted(society, officer, resident)  # £1,000 raised
    roof = spend(officer, society, "2000.00")
    assert_error(report_use(officer, issue, "1000.01", roof), 422, "exceeds_funds_raised")
    assert denied(society, "use_of_funds").context["amount_pence"] == 1000_01


# Refusals that are not a rule judging an actor's request, and why.
NOT_DECISIONS = {
    # The ledger refuses to sign a chain that fails verification: an integrity
    # alarm for operators (logged as an error), not a decision on anyone's request.
    "ledger_invalid",
}


def test_every_refusal_code_in_the_services_has_a_case_here():
    """A new `RuleViolation(..., code=...)` fails this test until a case above covers it."""
    cases = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    raised = set()
    for path in ROOT.glob("*/**/*.py"):
        if path.parts[len(ROOT.parts)] in {"tests", ".venv", "bench"} or "migrations" in path.parts:
            continue
        source = path.read_text()
        for match in re.finditer(r"RuleViolation\((?:[^()]|\([^()]*\))*?code=\"([a-z_]+)\"", source, re.S):
            raised.add(match[1])
    assert raised, "found no refusal codes: has the pattern changed?"
    assert raised - NOT_DECISIONS <= cases, f"no case for: {sorted(raised - NOT_DECISIONS - cases)}"
