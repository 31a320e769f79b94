"""Bursts against real PostgreSQL: statements uploaded at once, with a payment already recorded by hand.

Two officers (or one with two tabs) upload statements that hold the same bank
line while a hand-recorded receipt of it waits: the line claims it once, and
what is recorded is the money of the real lines, once each.
"""

from __future__ import annotations

import datetime as dt
import functools

import pytest
from django.utils import timezone

from investments.models import Receipt, Refund, StatementLineClaim, Subscription
from investments.payments.bank_statements import bank_statement_import
from investments.payments.receipts import receipt_record
from investments.services.subscriptions import subscription_create
from ledger.verify import ledger_verify

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def paid_by_hand(society, officer, make_issue, make_user):
    """A £250 subscription, and the officer's hand-recorded £250 received five days ago: (subscription, day)."""
    issue = make_issue(society, officer, opens_at=timezone.now() - dt.timedelta(days=30))
    subscription, _ = subscription_create(
        actor=make_user("anna"), issue_id=issue.pk, amount_pence=250_00, payment_method="bank_transfer"
    )
    day = timezone.localdate() - dt.timedelta(days=5)
    receipt_record(
        actor=officer,
        subscription_id=subscription.pk,
        amount_pence=250_00,
        reference=subscription.reference,
        received_on=day,
        idempotency_key="manual:by-hand",
    )
    return subscription, day


def csv(*lines: tuple[dt.date, str]) -> bytes:
    return (
        "date,amount,reference\n" + "".join(f"{day.isoformat()},250.00,{ref}\n" for day, ref in lines)
    ).encode()


def test_one_statement_uploaded_six_times_at_once_claims_once_and_records_once(
    society, officer, paid_by_hand, burst
):
    """Two identical lines: one is the hand-recorded payment, the other new money, whoever wins."""
    subscription, day = paid_by_hand
    content = csv((day, subscription.reference), (day, subscription.reference))
    upload = functools.partial(bank_statement_import, actor=officer, issuer_id=society.pk, content=content)
    assert burst([upload] * 6) == ["ok"] * 6
    assert StatementLineClaim.objects.get().receipt.idempotency_key == "manual:by-hand"
    receipts = Receipt.objects.filter(subscription=subscription)
    assert sorted(r.idempotency_key.split(":")[0] for r in receipts) == ["manual", "statement"]
    assert Subscription.objects.get(pk=subscription.pk).received_pence == 250_00
    assert [r.amount_pence for r in Refund.objects.filter(subscription=subscription)] == [250_00]
    assert ledger_verify(society).valid
    # And after the burst, the statement is all already recorded.
    report = bank_statement_import(actor=officer, issuer_id=society.pk, content=content)
    assert report.recorded_count == 0 and report.hand_recorded_count == 1


def test_two_statements_at_once_whose_lines_both_could_claim_the_receipt(
    society, officer, paid_by_hand, burst
):
    """Lines a day apart, both within a week of the hand-recorded day, in two statements uploaded at once:
    one claims it, the other is recorded; the books hold the two real lines' money."""
    subscription, day = paid_by_hand
    first = csv((day, subscription.reference))
    second = csv((day + dt.timedelta(days=1), subscription.reference))
    calls = [
        functools.partial(bank_statement_import, actor=officer, issuer_id=society.pk, content=content)
        for content in (first, second, first, second)
    ]
    assert burst(calls) == ["ok"] * 4
    assert StatementLineClaim.objects.count() == 1
    receipts = Receipt.objects.filter(subscription=subscription)
    assert sum(r.amount_pence for r in receipts) == 500_00 and receipts.count() == 2
    assert ledger_verify(society).valid
