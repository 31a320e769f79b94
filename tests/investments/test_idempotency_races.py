"""Bursts against real PostgreSQL: one `Idempotency-Key` sent twenty times at once.

A client that retries in a hurry (a double click, a timeout and a retry, a
mobile app on a bad line) sends the same request with the same key while the
first is still in flight. Whatever the POST (record-payment, an interest run,
a redemption request, marking a payout batch sent), the money moves once and
every request gets the first one's answer: never a refusal that its own twin
caused (`exceeds_principal` because the twin already asked, `invalid_state`
because the twin already marked it), and no deny decision in the issuer's
log. The same key with another body is refused, 409 `idempotency_key_reused`.
(Subscribing's service bursts: `test_subscription_races.py`; distributions': the compliance tests.)
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from compliance.models import Decision
from investments.interest import add_months
from investments.models import (
    BondIssue,
    InterestRun,
    Payout,
    PayoutBatch,
    Receipt,
    RedemptionRequest,
    Refund,
    Subscription,
)
from investments.payments.receipts import receipt_record
from investments.services.interest_runs import interest_run_request
from investments.services.payouts import payout_batch_mark_sent
from investments.services.redemptions import redemption_request_create
from investments.services.subscriptions import subscription_create
from issuers.models import RoleGrant
from ledger.models import LedgerEntry
from ledger.verify import ledger_verify

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TWINS = 20


def no_refusal_logged(issuer) -> bool:
    return not Decision.objects.filter(issuer=issuer, outcome="deny").exists()


# --- subscribe (its service bursts: test_subscription_races.py) -----------------------


def test_twenty_identical_subscriptions_of_the_whole_cap_over_http_answer_alike(
    society, officer, resident, make_issue, burst_posts, assert_error
):
    issue = make_issue(society, officer, max_subscription_pence=1_000_00)
    url = f"/api/v1/issues/{issue.pk}/subscriptions/"
    body = {"amount": "1000.00", "payment_method": "bank_transfer"}
    responses = burst_posts(resident, url, body, key="subscribe-once", times=TWINS)
    assert [r.status_code for r in responses] == [201] * TWINS, responses[0].content
    assert len({r.content for r in responses}) == 1
    assert [r.get("Idempotent-Replayed") for r in responses].count("true") == TWINS - 1
    assert Subscription.objects.filter(investor=resident).count() == 1
    assert no_refusal_logged(society)  # no cap_exceeded_per_investor for the twin's own amount
    other = burst_posts(resident, url, body | {"amount": "500.00"}, key="subscribe-once", times=1)[0]
    assert_error(other, 409, "idempotency_key_reused")


# --- record-payment -------------------------------------------------------------------


@pytest.fixture
def unpaid(society, officer, resident, make_issue):
    """The resident's £1,000 subscription (the most this issue takes from one investor), unpaid."""
    issue = make_issue(society, officer, max_subscription_pence=1_000_00)
    subscription, _ = subscription_create(
        actor=resident, issue_id=issue.pk, amount_pence=1_000_00, payment_method="bank_transfer"
    )
    return subscription


def pay(officer, subscription: Subscription, amount_pence: int, key: str, receipts: list | None = None):
    def call():
        receipt = receipt_record(
            actor=officer,
            subscription_id=subscription.pk,
            amount_pence=amount_pence,
            reference=subscription.reference,
            received_on=timezone.localdate(),
            idempotency_key=key,
        )
        if receipts is not None:
            receipts.append(receipt.pk)

    return call


def test_twenty_identical_payments_record_one_receipt(society, officer, unpaid, burst):
    receipts: list[int] = []
    outcomes = burst([pay(officer, unpaid, 1_000_00, "statement-line-7", receipts) for _ in range(TWINS)])
    assert outcomes == ["ok"] * TWINS
    assert len(set(receipts)) == 1
    assert Receipt.objects.filter(subscription=unpaid).count() == 1
    assert LedgerEntry.objects.filter(issuer=society, kind="subscription_payment").count() == 1
    assert not Refund.objects.exists()  # no twin's money was taken for an overpayment
    unpaid.refresh_from_db()
    assert (unpaid.status, unpaid.received_pence) == ("paid", 1_000_00)
    assert BondIssue.objects.get(pk=unpaid.issue_id).raised_pence == 1_000_00
    assert no_refusal_logged(society)
    assert ledger_verify(society.pk).valid


def test_one_key_with_two_amounts_at_once_records_one_and_refuses_the_other(society, officer, unpaid, burst):
    calls = [pay(officer, unpaid, 1_000_00, "k") for _ in range(10)]
    calls += [pay(officer, unpaid, 400_00, "k") for _ in range(10)]
    outcomes = burst(calls)
    assert sorted(set(outcomes)) == ["idempotency_key_reused", "ok"]
    assert outcomes.count("ok") == 10  # the winner's twins replay, the others are refused
    assert Receipt.objects.filter(subscription=unpaid).count() == 1
    assert LedgerEntry.objects.filter(issuer=society, kind="subscription_payment").count() == 1
    assert no_refusal_logged(society)


def test_one_key_for_two_issuers_subscriptions_at_once_records_one(
    society, cic, officer, resident, unpaid, make_issue, burst
):
    """An officer of two issuers, one key for a payment to each: the books are separate (no
    ledger lock in common), the key is the officer's; one is recorded and the other refused."""
    RoleGrant.objects.create(issuer=cic, user=officer, role="finance_officer")
    issue = make_issue(cic, officer)
    elsewhere, _ = subscription_create(
        actor=resident, issue_id=issue.pk, amount_pence=500_00, payment_method="bank_transfer"
    )
    calls = [pay(officer, unpaid, 1_000_00, "k") for _ in range(10)]
    calls += [pay(officer, elsewhere, 500_00, "k") for _ in range(10)]
    outcomes = burst(calls)
    assert sorted(set(outcomes)) == ["idempotency_key_reused", "ok"]
    assert outcomes.count("ok") == 10
    assert Receipt.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="subscription_payment").count() == 1
    assert ledger_verify(society.pk).valid and ledger_verify(cic.pk).valid


def test_twenty_identical_payments_over_http_answer_alike(
    society, officer, unpaid, burst_posts, assert_error
):
    url = f"/api/v1/subscriptions/{unpaid.pk}/record-payment/"
    body = {
        "amount": "1000.00",
        "reference": unpaid.reference,
        "received_on": timezone.localdate().isoformat(),
    }
    responses = burst_posts(officer, url, body, key="bank-line-12", times=TWINS)
    assert [r.status_code for r in responses] == [200] * TWINS, responses[0].content
    assert {r.json()["status"] for r in responses} == {"paid"}
    assert len({r.content for r in responses}) == 1
    assert Receipt.objects.filter(subscription=unpaid).count() == 1
    assert no_refusal_logged(society)
    other = body | {"amount": "400.00"}
    refused = burst_posts(officer, url, other, key="bank-line-12", times=1)[0]
    assert_error(refused, 409, "idempotency_key_reused")


# --- after allotment: a holding a year and more old ------------------------------------


@pytest.fixture
def holding(allotted_holding):
    """The resident's £1,000 holding of an issue allotted 400 days ago: its first coupon date has passed."""
    return allotted_holding(allotted_on=timezone.localdate() - dt.timedelta(days=400))


def first_coupon(holding) -> dt.date:
    issue = BondIssue.objects.get(pk=holding.issue_id)
    return add_months(issue.allotted_on, 12)


# --- redemption requests --------------------------------------------------------------


def redeem(resident, holding, amount_pence: int, key: str, requests: list | None = None):
    def call():
        request, _ = redemption_request_create(
            actor=resident, holding_id=holding.pk, amount_pence=amount_pence, idempotency_key=key
        )
        if requests is not None:
            requests.append(request.pk)

    return call


def test_twenty_identical_redemption_requests_for_all_the_principal_make_one(
    society, resident, holding, burst
):
    requests: list[int] = []
    outcomes = burst([redeem(resident, holding, 1_000_00, "all-of-it", requests) for _ in range(TWINS)])
    assert outcomes == ["ok"] * TWINS  # never exceeds_principal because a twin asked first
    assert len(set(requests)) == 1
    assert RedemptionRequest.objects.filter(holding=holding).count() == 1
    assert no_refusal_logged(society)


def test_one_key_with_two_amounts_at_once_asks_once(society, resident, holding, burst):
    calls = [redeem(resident, holding, 1_000_00, "k") for _ in range(10)]
    calls += [redeem(resident, holding, 400_00, "k") for _ in range(10)]
    outcomes = burst(calls)
    assert sorted(set(outcomes)) == ["idempotency_key_reused", "ok"]
    assert outcomes.count("ok") == 10
    assert RedemptionRequest.objects.filter(holding=holding).count() == 1
    assert no_refusal_logged(society)


def test_twenty_identical_redemption_requests_over_http_answer_alike(
    society, resident, holding, burst_posts, assert_error
):
    url = f"/api/v1/holdings/{holding.pk}/redemption-requests/"
    responses = burst_posts(resident, url, {"amount": "1000.00"}, key="redeem-all", times=TWINS)
    assert [r.status_code for r in responses] == [201] * TWINS, responses[0].content
    assert len({r.json()["id"] for r in responses}) == 1
    assert sorted(r.get("Idempotent-Replayed") for r in responses if r.has_header("Idempotent-Replayed")) == [
        "true"
    ] * (TWINS - 1)
    assert RedemptionRequest.objects.filter(holding=holding).count() == 1
    assert no_refusal_logged(society)
    again = burst_posts(resident, url, {"amount": "400.00"}, key="redeem-all", times=1)[0]
    assert_error(again, 409, "idempotency_key_reused")


# --- interest runs --------------------------------------------------------------------


def test_twenty_identical_interest_run_requests_make_one_run_and_pay_once(society, officer, holding, burst):
    coupon = first_coupon(holding)
    runs: list[int] = []

    def ask():
        run, _ = interest_run_request(
            actor=officer, issue_id=holding.issue_id, period_end=coupon, idempotency_key="coupon-1"
        )
        runs.append(run.pk)

    assert burst([ask for _ in range(TWINS)]) == ["ok"] * TWINS
    assert len(set(runs)) == 1
    run = InterestRun.objects.get(issue_id=holding.issue_id)
    assert run.status == "completed"  # run inline after COMMIT, once
    assert Payout.objects.filter(holding=holding).count() == 1
    assert LedgerEntry.objects.filter(issuer=society, idempotency_key__startswith="interest:").count() == 1
    assert no_refusal_logged(society)
    assert ledger_verify(society.pk).valid


def test_twenty_identical_interest_run_requests_over_http_answer_alike(
    society, officer, holding, burst_posts, assert_error
):
    coupon = first_coupon(holding)
    url = f"/api/v1/issues/{holding.issue_id}/interest-runs/"
    responses = burst_posts(officer, url, {"period_end": coupon.isoformat()}, key="coupon-1", times=TWINS)
    assert [r.status_code for r in responses] == [202] * TWINS, responses[0].content
    assert len({r.json()["id"] for r in responses}) == 1
    assert InterestRun.objects.filter(issue_id=holding.issue_id).count() == 1
    assert Payout.objects.filter(holding=holding).count() == 1
    assert no_refusal_logged(society)
    later = add_months(coupon, 12)
    again = burst_posts(officer, url, {"period_end": later.isoformat()}, key="coupon-1", times=1)[0]
    assert_error(again, 409, "idempotency_key_reused")


# --- payout batches -------------------------------------------------------------------


@pytest.fixture
def batch(officer, holding) -> PayoutBatch:
    """The batch of the first coupon's payout to the resident, not yet sent."""
    run, _ = interest_run_request(actor=officer, issue_id=holding.issue_id, period_end=first_coupon(holding))
    return PayoutBatch.objects.get(interest_run=run)


def cash_at_bank_entries(society) -> int:
    return LedgerEntry.objects.filter(issuer=society, kind="payout").count()


def test_twenty_identical_mark_sents_move_the_cash_once(society, officer, batch, burst):
    outcomes = burst(
        [
            (lambda: payout_batch_mark_sent(actor=officer, batch_id=batch.pk, idempotency_key="sent-1"))
            for _ in range(TWINS)
        ]
    )
    assert outcomes == ["ok"] * TWINS  # never invalid_state because a twin marked it first
    assert cash_at_bank_entries(society) == 1
    assert set(Payout.objects.filter(batch=batch).values_list("status", flat=True)) == {"sent"}
    assert Decision.objects.filter(issuer=society, rule="asset_lock", outcome="allow").count() == 1
    assert no_refusal_logged(society)
    assert ledger_verify(society.pk).valid


def test_twenty_identical_mark_sents_over_http_answer_alike(
    society, officer, batch, burst_posts, assert_error
):
    url = f"/api/v1/payout-batches/{batch.pk}/mark-sent/"
    responses = burst_posts(officer, url, key="sent-1", times=TWINS)
    assert [r.status_code for r in responses] == [200] * TWINS, responses[0].content
    assert {r.json()["status"] for r in responses} == {"sent"}
    assert len({r.json()["sent_at"] for r in responses}) == 1
    assert cash_at_bank_entries(society) == 1
    assert no_refusal_logged(society)
    # Sent again without a key, or with another: still the one batch, nothing moves.
    assert burst_posts(officer, url, key="sent-2", times=1)[0].status_code == 200
    assert cash_at_bank_entries(society) == 1
    # The key names this batch's sending: for another batch it is refused.
    other = PayoutBatch.objects.create(issuer=society, opened_on=timezone.localdate())
    again = burst_posts(officer, f"/api/v1/payout-batches/{other.pk}/mark-sent/", key="sent-1", times=1)[0]
    assert_error(again, 409, "idempotency_key_reused")
    other.refresh_from_db()
    assert other.status == "open"


def test_one_key_for_two_batches_at_once_marks_one_sent_and_refuses_the_other(society, officer, batch, burst):
    other = PayoutBatch.objects.create(issuer=society, opened_on=timezone.localdate())

    def mark(b):
        return lambda: payout_batch_mark_sent(actor=officer, batch_id=b.pk, idempotency_key="k")

    outcomes = burst([mark(batch) for _ in range(10)] + [mark(other) for _ in range(10)])
    assert sorted(set(outcomes)) == ["idempotency_key_reused", "ok"]
    assert outcomes.count("ok") == 10
    sent = PayoutBatch.objects.filter(issuer=society, status="sent")
    assert list(sent.values_list("sent_idempotency_key", flat=True)) == ["k"]
    assert cash_at_bank_entries(society) == (1 if sent.get() == batch else 0)
