"""Every e-mail a bond's life sends, with its text: queued by the services, sent after COMMIT.

`django_capture_on_commit_callbacks(execute=True)` stands for the COMMIT: the queued
work runs then (inline in tests, by the django-q2 worker in production)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from bondplatform.errors import RuleViolation
from investments.models import PayoutBatch, Refund
from investments.payments.receipts import receipt_record
from investments.payments.refunds import refund_mark_sent
from investments.services import issues as issue_services
from investments.services.holdings import holding_preference_set
from investments.services.interest_runs import interest_run_execute, interest_run_request
from investments.services.payouts import payout_batch_mark_sent
from investments.services.redemptions import (
    redemption_approve,
    redemption_decline,
    redemption_request_create,
)
from investments.services.subscriptions import subscription_create
from investments.services.updates import bondholder_update_post
from people.services.preferences import email_updates_set

pytestmark = pytest.mark.django_db

RITA = "rita_resident@example.org"
OLIVE = "olive_officer@example.org"


def _subscribe(resident, issue, amount_pence=1_000_00):
    subscription, _ = subscription_create(
        actor=resident, issue_id=issue.pk, amount_pence=amount_pence, payment_method="bank_transfer"
    )
    return subscription


def _pay(officer, subscription, amount_pence):
    return receipt_record(
        actor=officer,
        subscription_id=subscription.pk,
        amount_pence=amount_pence,
        reference=subscription.reference,
        received_on=subscription.created_at.date(),
        idempotency_key=f"test-{subscription.pk}-{amount_pence}",
    )


def test_a_subscription_brings_the_payment_instructions(
    society, officer, resident, open_issue, sent, html_of, django_capture_on_commit_callbacks
):
    issue = open_issue(society, officer)
    with django_capture_on_commit_callbacks(execute=True):
        subscription = _subscribe(resident, issue, 250_00)
    (message,) = sent(RITA)
    assert message.subject == "Your application for Citylife Money-Back Bond: how to pay"
    assert "Dear Rita Resident," in message.body
    assert "Thank you for applying for £250.00 of Citylife Money-Back Bond" in message.body
    assert "Account name:   Citylife Society Ltd" in message.body
    assert "Sort code:      60-83-01" in message.body
    assert "Account number: 20345678" in message.body
    assert f"Reference:      {subscription.reference}" in message.body
    assert "You may cancel within 14 days" in message.body
    page = f"http://127.0.0.1:8000/subscriptions/{subscription.pk}/"
    assert page in message.body
    html = html_of(message)
    assert f'href="{page}"' in html and f"<strong>{subscription.reference}</strong>" in html
    assert "your capital is at risk" in message.body.lower()


def test_links_follow_the_site_url(
    settings, society, officer, resident, open_issue, sent, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://bonds.example.org/"
    issue = open_issue(society, officer)
    with django_capture_on_commit_callbacks(execute=True):
        subscription = _subscribe(resident, issue)
    assert f"https://bonds.example.org/subscriptions/{subscription.pk}/" in sent(RITA)[0].body


def test_nothing_is_sent_for_a_refused_subscription(
    society, officer, resident, open_issue, django_capture_on_commit_callbacks
):
    issue = open_issue(society, officer)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuleViolation):
        _subscribe(resident, issue, 6_000_00)  # over the £5,000 cap
    assert mail.outbox == []


def test_a_payment_is_acknowledged_with_what_is_still_due(
    society, officer, resident, open_issue, sent, django_capture_on_commit_callbacks
):
    issue = open_issue(society, officer)
    subscription = _subscribe(resident, issue)
    with django_capture_on_commit_callbacks(execute=True):
        _pay(officer, subscription, 400_00)
    (message,) = sent(RITA)
    assert message.subject == "We have received your payment for Citylife Money-Back Bond"
    assert "Sheffield Citylife Society received £400.00 from you" in message.body
    assert "£600.00 is still to pay, with the same reference." in message.body
    assert "You can turn off e-mails like this one on your page: http://127.0.0.1:8000/me/#emails" in (
        message.body
    )
    with django_capture_on_commit_callbacks(execute=True):
        _pay(officer, subscription, 600_00)
    assert "Your application is paid in full." in sent(RITA)[-1].body


def test_allotment_sends_the_certificate(
    society, officer, resident, open_issue, sent, html_of, django_capture_on_commit_callbacks
):
    issue = open_issue(society, officer, min_raise_pence=100_00)
    subscription = _subscribe(resident, issue)
    _pay(officer, subscription, 1_000_00)
    issue_services.issue_close(actor=officer, issue_id=issue.pk)
    with django_capture_on_commit_callbacks(execute=True):
        issue_services.issue_allot(actor=officer, issue_id=issue.pk)
    (message,) = sent(RITA)
    holding = subscription.holding
    assert message.subject == "Your bonds in Citylife Money-Back Bond are allotted"
    assert "you now hold £1,000.00 of Citylife Money-Back Bond" in message.body
    assert "at 3.00 % a year" in message.body
    assert "Your bond certificate is attached." in message.body
    ((filename, content, mimetype),) = message.attachments
    assert filename == f"bond-certificate-{holding.pk}.pdf" and mimetype == "application/pdf"
    assert content.startswith(b"%PDF")
    assert 'href="http://127.0.0.1:8000/me/"' in html_of(message)


def test_interest_paid_then_the_payout_sent(
    society, officer, year_old_holding, first_coupon, sent, django_capture_on_commit_callbacks
):
    issue = year_old_holding.issue
    run, _ = interest_run_request(actor=officer, issue_id=issue.pk, period_end=first_coupon(year_old_holding))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        interest_run_execute(run_id=run.pk)
    (message,) = sent(RITA)
    run.refresh_from_db()
    line = run.lines.get()
    assert message.subject == "Interest on your bonds in Citylife Money-Back Bond: paid"
    assert f"Interest of £{line.gross_pence / 100:,.2f} on your £1,000.00 of Citylife Money-Back Bond" in (
        message.body
    )
    assert "will be paid to your account; we will tell you when it is sent." in message.body

    batch = PayoutBatch.objects.get(interest_run=run)
    with django_capture_on_commit_callbacks(execute=True):
        payout_batch_mark_sent(actor=officer, batch_id=batch.pk)
    message = sent(RITA)[-1]
    assert message.subject == "Sheffield Citylife Society has sent you a payment"
    assert (
        f"has sent you £{line.net_pence / 100:,.2f} (interest on your bonds in Citylife Money-Back Bond)"
        in (message.body)
    )


def test_interest_given_up_is_acknowledged(
    society, officer, resident, year_old_holding, first_coupon, sent, django_capture_on_commit_callbacks
):
    holding_preference_set(actor=resident, holding_id=year_old_holding.pk, preference="waive")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        interest_run_request(
            actor=officer, issue_id=year_old_holding.issue_id, period_end=first_coupon(year_old_holding)
        )
    (message,) = sent(RITA)
    assert message.subject == (
        "Interest on your bonds in Citylife Money-Back Bond: given up for the project, thank you"
    )
    assert "As you asked, you gave it up for the project: thank you." in message.body


def test_officers_hear_of_a_request_and_the_holder_of_the_decision(
    society, officer, auditor, resident, year_old_holding, sent, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        request, _ = redemption_request_create(
            actor=resident, holding_id=year_old_holding.pk, amount_pence=100_00
        )
    (to_officer,) = mail.outbox
    assert to_officer.to == [OLIVE]  # the officers; not the auditor
    assert to_officer.subject == (
        "A request for early repayment from Citylife Money-Back Bond waits for a decision"
    )
    assert f"asks for £100.00 back early (request {request.pk}" in to_officer.body
    assert f"http://127.0.0.1:8000/officer/issues/{year_old_holding.issue_id}/" in to_officer.body

    with django_capture_on_commit_callbacks(execute=True):
        redemption_decline(actor=officer, request_id=request.pk, reason="The kitchen opens next month.")
    message = sent(RITA)[-1]
    assert message.subject == ("Your request for early repayment from Citylife Money-Back Bond is declined")
    assert "has declined your request to have £100.00 of Citylife Money-Back Bond back early" in message.body
    assert "Their reason: The kitchen opens next month." in message.body

    request, _ = redemption_request_create(actor=resident, holding_id=year_old_holding.pk, amount_pence=50_00)
    with django_capture_on_commit_callbacks(execute=True):
        redemption_approve(actor=officer, request_id=request.pk, reason="")
    message = sent(RITA)[-1]
    assert message.subject.endswith("is approved")
    assert "has approved your request to have £50.00 of Citylife Money-Back Bond back early" in message.body
    assert f"It is repaid on {request.redemption_date.day} " in message.body


def test_a_refund_sent_is_announced(
    society, officer, resident, open_issue, sent, django_capture_on_commit_callbacks
):
    issue = open_issue(society, officer)
    subscription = _subscribe(resident, issue, 100_00)
    _pay(officer, subscription, 150_00)  # £50 too much: owed back
    refund = Refund.objects.get(subscription=subscription)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        refund_mark_sent(actor=officer, refund_id=refund.pk)
    (message,) = sent(RITA)
    assert message.subject == "Sheffield Citylife Society has sent your refund"
    assert (
        f"has sent back £50.00 that you paid for Citylife Money-Back Bond (reference {subscription.reference})"
        in (message.body)
    )
    assert "Why: paid more than due." in message.body
    assert "It goes back by bank transfer" in message.body


def test_news_of_the_project_reaches_its_holders_with_the_photo(
    officer, year_old_holding, photo_bytes, sent, html_of, django_capture_on_commit_callbacks
):
    issue = year_old_holding.issue
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        update = bondholder_update_post(
            actor=officer,
            issue_id=issue.pk,
            title="The kitchen is open",
            body="Forty meals served in the first week.\n\nThank you <all> of you.",
            photo=photo_bytes("JPEG", (640, 480)),
            photo_alt="Volunteers at the kitchen's serving hatch",
            published_on=timezone.localdate() - dt.timedelta(days=2),
        )
    (message,) = sent(RITA)
    assert message.subject == "News from Sheffield Citylife Society: The kitchen is open"
    assert "Dear Rita Resident," in message.body
    day = update.published_on
    assert (
        f"Sheffield Citylife Society has news of the project your money in Citylife Money-Back Bond pays for "
        f"({day.day} {day:%B %Y}):" in message.body
    )
    assert "Forty meals served in the first week.\n\nThank you <all> of you." in message.body
    photo = f"http://127.0.0.1:8000/updates/{update.pk}/photo"
    assert f"Photo: Volunteers at the kitchen's serving hatch\n{photo}" in message.body
    page = f"http://127.0.0.1:8000/issues/{issue.pk}/#update-{update.pk}"
    assert f"Read it on the offer's page: {page}" in message.body
    assert "You can turn off e-mails like this one on your page" in message.body
    html = html_of(message)
    assert (
        f'<img src="{photo}" alt="Volunteers at the kitchen&#x27;s serving hatch" width="640" height="480"'
        in html
    )
    assert "<p>Thank you &lt;all&gt; of you.</p>" in html
    assert f'href="{page}"' in html


def test_a_resident_who_turned_updates_off_gets_only_what_they_must_know(
    society, officer, resident, open_issue, sent, django_capture_on_commit_callbacks
):
    email_updates_set(actor=resident, receive=False)
    issue = open_issue(society, officer, min_raise_pence=100_00)
    with django_capture_on_commit_callbacks(execute=True):
        subscription = _subscribe(resident, issue)  # essential: how to pay
        _pay(officer, subscription, 1_000_00)  # not essential: no e-mail
        issue_services.issue_close(actor=officer, issue_id=issue.pk)
        issue_services.issue_allot(actor=officer, issue_id=issue.pk)  # essential: the certificate
    assert [m.subject for m in sent(RITA)] == [
        "Your application for Citylife Money-Back Bond: how to pay",
        "Your bonds in Citylife Money-Back Bond are allotted",
    ]
