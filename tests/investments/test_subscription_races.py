"""Bursts against real PostgreSQL: caps hold when many residents press "subscribe" at once."""

from __future__ import annotations

import pytest
from django.db.models import Sum

from compliance.models import Decision
from investments.models import BondIssue, Subscription
from investments.payments.receipts import receipt_record
from investments.services.subscriptions import subscription_cancel, subscription_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_fifty_residents_for_twenty_places_gives_exactly_twenty(
    society, officer, make_user, make_issue, burst
):
    issue = make_issue(
        society,
        officer,
        min_subscription_pence=100_00,
        max_subscription_pence=100_00,
        max_raise_pence=2_000_00,
    )
    residents = [make_user(f"resident{i:02d}") for i in range(50)]
    outcomes = burst(
        [
            (
                lambda r=r: subscription_create(
                    actor=r, issue_id=issue.pk, amount_pence=100_00, payment_method="bank_transfer"
                )
            )
            for r in residents
        ]
    )
    assert outcomes.count("ok") == 20
    assert set(outcomes) == {"ok", "issue_full"}
    issue = BondIssue.objects.get(pk=issue.pk)
    live = Subscription.objects.filter(issue=issue, status="pending_payment")
    assert live.count() == 20
    assert issue.committed_pence == live.aggregate(total=Sum("amount_pence"))["total"] == 2_000_00


def test_one_resident_in_ten_tabs_cannot_pass_the_per_investor_cap(
    society, officer, resident, make_issue, burst
):
    issue = make_issue(society, officer, max_subscription_pence=1_000_00, max_raise_pence=20_000_00)
    outcomes = burst(
        [
            (
                lambda: subscription_create(
                    actor=resident, issue_id=issue.pk, amount_pence=300_00, payment_method="bank_transfer"
                )
            )
            for _ in range(10)
        ]
    )
    assert outcomes.count("ok") == 3  # 3 x £300 = £900; a fourth would make £1,200
    assert set(outcomes) == {"ok", "cap_exceeded_per_investor"}
    total = Subscription.objects.filter(investor=resident, issue=issue).aggregate(t=Sum("amount_pence"))["t"]
    assert total == 900_00
    assert BondIssue.objects.get(pk=issue.pk).committed_pence == 900_00


def test_same_idempotency_key_from_ten_tabs_makes_one_subscription(
    society, officer, resident, make_issue, burst
):
    issue = make_issue(society, officer)
    outcomes = burst(
        [
            (
                lambda: subscription_create(
                    actor=resident,
                    issue_id=issue.pk,
                    amount_pence=250_00,
                    payment_method="bank_transfer",
                    idempotency_key="double-click",
                )
            )
            for _ in range(10)
        ]
    )
    assert outcomes == ["ok"] * 10
    assert Subscription.objects.filter(investor=resident).count() == 1
    assert BondIssue.objects.get(pk=issue.pk).committed_pence == 250_00


def test_subscribing_cancelling_and_paying_at_once_never_deadlocks(
    society, officer, make_user, make_issue, burst
):
    issue = make_issue(society, officer, max_raise_pence=20_000_00)
    early = [make_user(f"early{i}") for i in range(10)]
    existing = [
        subscription_create(actor=u, issue_id=issue.pk, amount_pence=200_00, payment_method="bank_transfer")[
            0
        ]
        for u in early
    ]
    paid_first = existing[5:]
    for s in paid_first:
        receipt_record(
            actor=officer,
            subscription_id=s.pk,
            amount_pence=200_00,
            reference=s.reference,
            received_on=s.created_at.date(),
            idempotency_key=f"pre-{s.pk}",
        )
    newcomers = [make_user(f"new{i}") for i in range(10)]
    calls = [
        (
            lambda u=u: subscription_create(
                actor=u, issue_id=issue.pk, amount_pence=300_00, payment_method="bank_transfer"
            )
        )
        for u in newcomers
    ]
    # Cancel the paid ones (a refund through the ledger) while paying the unpaid ones.
    calls += [
        (lambda s=s, u=u: subscription_cancel(actor=u, subscription_id=s.pk))
        for s, u in zip(paid_first, early[5:], strict=True)
    ]
    calls += [
        (
            lambda s=s: receipt_record(
                actor=officer,
                subscription_id=s.pk,
                amount_pence=200_00,
                reference=s.reference,
                received_on=s.created_at.date(),
                idempotency_key=f"now-{s.pk}",
            )
        )
        for s in existing[:5]
    ]
    outcomes = burst(calls)
    assert outcomes == ["ok"] * len(calls)
    issue = BondIssue.objects.get(pk=issue.pk)
    live = Subscription.objects.filter(issue=issue, status__in=["pending_payment", "paid"])
    assert issue.committed_pence == live.aggregate(t=Sum("amount_pence"))["t"] == 10 * 300_00 + 5 * 200_00
    assert issue.raised_pence == 5 * 200_00


def test_twenty_identical_requests_with_one_key_replay_the_first_answer(
    society, officer, resident, make_issue, burst
):
    """A client retrying in a hurry (one Idempotency-Key, an amount equal to the cap) gets one
    subscription and the same answer twenty times: never a cap refusal its own twin caused."""
    issue = make_issue(society, officer, max_subscription_pence=1_000_00, max_raise_pence=20_000_00)
    results = []

    def subscribe():
        subscription, _created = subscription_create(
            actor=resident,
            issue_id=issue.pk,
            amount_pence=1_000_00,
            payment_method="bank_transfer",
            idempotency_key="retry-storm",
        )
        results.append(subscription.pk)

    outcomes = burst([subscribe for _ in range(20)])
    assert outcomes == ["ok"] * 20
    assert len(set(results)) == 1
    assert Subscription.objects.filter(investor=resident).count() == 1
    assert not Decision.objects.filter(issuer=society, outcome="deny").exists()  # no false refusal logged
