"""The e-mails a bond's life sends: one function per e-mail, in two halves.

The services call the first half (`subscription_received(subscription)`, ...) inside
the transaction that makes the change; it only queues the send with
`bondplatform.background.after_commit`, so the e-mail goes once the change has
committed (never for a rolled-back one) and a worker that was down sends it later.
The worker runs the second half (`send_subscription_received(subscription_id=...)`),
which reads the rows again, renders `templates/email/<name>.txt` and `.html` and sends.

Essential e-mails always go: how to pay, the allotment with its certificate, a
decision on early repayment, a refund, and officers' notice of a repayment request.
The rest (payment received, interest, payout sent, officers' updates to bondholders)
go only to residents who have left `Profile.email_updates` on.

An interest run, a payout batch or an update may reach thousands of people: the service
queues one job for it, and that job queues one send per holding (per person, for an
update), each retried alone.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from bondplatform.background import after_commit
from bondplatform.mail import Attachment, absolute_url, mail_send
from bondplatform.models import QueuedWork
from investments.documents.certificates import certificate_pdf
from investments.models import (
    BondholderUpdate,
    BondIssue,
    Holding,
    InterestLine,
    InterestRun,
    Payout,
    PayoutBatch,
    Receipt,
    RedemptionRequest,
    RedemptionStatus,
    Refund,
    Subscription,
)
from investments.payments.providers import provider_named
from investments.selectors_updates import update_recipient_ids
from issuers.selectors import officer_emails_of
from people.models import Profile

_HERE = "investments.notifications"


def _wants_updates(user: User) -> bool:
    """Non-essential e-mails: only while the resident has not turned them off."""
    return Profile.objects.filter(user=user, email_updates=True).exists()


def _to_holder(user: User, *, essential: bool) -> list[str]:
    if not user.email or (not essential and not _wants_updates(user)):
        return []
    return [user.email]


def _common(user: User, issue: BondIssue) -> dict[str, Any]:
    profile = Profile.objects.filter(user=user).first()
    return {
        "name": profile.full_name if profile else user.get_username(),
        "issue": issue,
        "issuer": issue.issuer,
        "my_url": absolute_url(reverse("my-investments")),
        "preferences_url": absolute_url(reverse("my-investments") + "#emails"),
    }


# --- to residents ------------------------------------------------------------------------


def subscription_received(subscription: Subscription) -> None:
    after_commit(f"{_HERE}.send_subscription_received", subscription_id=subscription.pk)


def send_subscription_received(*, subscription_id: int) -> int:
    """Essential: what they applied for and how to pay (bank details and reference, or the card page)."""
    subscription = Subscription.objects.select_related("issue__issuer", "investor").get(pk=subscription_id)
    issue = subscription.issue
    return mail_send(
        to=_to_holder(subscription.investor, essential=True),
        subject=f"Your application for {issue.name}: how to pay",
        template="subscription_received",
        context={
            **_common(subscription.investor, issue),
            "subscription": subscription,
            "instructions": provider_named(subscription.provider).instructions(subscription),
            "page_url": absolute_url(reverse("subscription-detail", args=[subscription.pk])),
        },
    )


def payment_received(receipt: Receipt) -> None:
    after_commit(f"{_HERE}.send_payment_received", receipt_id=receipt.pk)


def send_payment_received(*, receipt_id: int) -> int:
    receipt = Receipt.objects.select_related("subscription__issue__issuer", "subscription__investor").get(
        pk=receipt_id
    )
    subscription = receipt.subscription
    return mail_send(
        to=_to_holder(subscription.investor, essential=False),
        subject=f"We have received your payment for {subscription.issue.name}",
        template="payment_received",
        context={
            **_common(subscription.investor, subscription.issue),
            "receipt": receipt,
            "subscription": subscription,
            "still_due_pence": subscription.amount_pence - subscription.received_pence,
            "page_url": absolute_url(reverse("subscription-detail", args=[subscription.pk])),
        },
    )


def holding_allotted(holding: Holding) -> None:
    after_commit(f"{_HERE}.send_holding_allotted", holding_id=holding.pk)


def send_holding_allotted(*, holding_id: int) -> int:
    """Essential: the bonds are theirs; the certificate is attached."""
    holding = Holding.objects.select_related("issue__issuer", "holder").get(pk=holding_id)
    return mail_send(
        to=_to_holder(holding.holder, essential=True),
        subject=f"Your bonds in {holding.issue.name} are allotted",
        template="holding_allotted",
        context={**_common(holding.holder, holding.issue), "holding": holding},
        attachments=[
            Attachment(
                f"bond-certificate-{holding.pk}.pdf",
                certificate_pdf(holding_id=holding.pk),
                "application/pdf",
            )
        ],
    )


def interest_run_completed(run: InterestRun) -> None:
    after_commit(f"{_HERE}.send_interest_of_run", run_id=run.pk)


def send_interest_of_run(*, run_id: int) -> int:
    """Queue one e-mail per holding the run paid or waived interest for; how many."""
    line_ids = list(
        InterestLine.objects.filter(Q(gross_pence__gt=0) | Q(waived_pence__gt=0), run_id=run_id)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    with transaction.atomic():
        for line_id in line_ids:
            after_commit(f"{_HERE}.send_interest", line_id=line_id)
    return len(line_ids)


def send_interest(*, line_id: int) -> int:
    line = InterestLine.objects.select_related("run", "holding__issue__issuer", "holding__holder").get(
        pk=line_id
    )
    holding = line.holding
    waived = line.waived_pence > 0
    return mail_send(
        to=_to_holder(holding.holder, essential=False),
        subject=(
            f"Interest on your bonds in {holding.issue.name}: "
            + ("given up for the project, thank you" if waived else "paid")
        ),
        template="interest",
        context={
            **_common(holding.holder, holding.issue),
            "line": line,
            "holding": holding,
            "waived": waived,
        },
    )


def payouts_sent(batch: PayoutBatch) -> None:
    after_commit(f"{_HERE}.send_payouts_of_batch", batch_id=batch.pk)


def send_payouts_of_batch(*, batch_id: int) -> int:
    """Queue one e-mail per payout the batch sent; how many."""
    payout_ids = list(Payout.objects.filter(batch_id=batch_id).order_by("id").values_list("pk", flat=True))
    with transaction.atomic():
        for payout_id in payout_ids:
            after_commit(f"{_HERE}.send_payout_sent", payout_id=payout_id)
    return len(payout_ids)


def send_payout_sent(*, payout_id: int) -> int:
    payout = Payout.objects.select_related("holding__issue__issuer", "holder").get(pk=payout_id)
    return mail_send(
        to=_to_holder(payout.holder, essential=False),
        subject=f"{payout.holding.issue.issuer.name} has sent you a payment",
        template="payout_sent",
        context={**_common(payout.holder, payout.holding.issue), "payout": payout, "holding": payout.holding},
    )


def redemption_decided(request: RedemptionRequest) -> None:
    after_commit(f"{_HERE}.send_redemption_decided", request_id=request.pk)


def send_redemption_decided(*, request_id: int) -> int:
    """Essential: the answer to their request for early repayment, with the officer's reason."""
    request = RedemptionRequest.objects.select_related("holding__issue__issuer", "holding__holder").get(
        pk=request_id
    )
    holding = request.holding
    approved = request.status == RedemptionStatus.APPROVED
    return mail_send(
        to=_to_holder(holding.holder, essential=True),
        subject=f"Your request for early repayment from {holding.issue.name} is "
        + ("approved" if approved else "declined"),
        template="redemption_decided",
        context={**_common(holding.holder, holding.issue), "request": request, "approved": approved},
    )


def refund_sent(refund: Refund) -> None:
    after_commit(f"{_HERE}.send_refund_sent", refund_id=refund.pk)


def send_refund_sent(*, refund_id: int) -> int:
    """Essential: money is on its way back."""
    refund = Refund.objects.select_related("subscription__issue__issuer", "subscription__investor").get(
        pk=refund_id
    )
    subscription = refund.subscription
    return mail_send(
        to=_to_holder(subscription.investor, essential=True),
        subject=f"{subscription.issue.issuer.name} has sent your refund",
        template="refund_sent",
        context={
            **_common(subscription.investor, subscription.issue),
            "refund": refund,
            "subscription": subscription,
            "page_url": absolute_url(reverse("subscription-detail", args=[subscription.pk])),
        },
    )


def bondholder_update_posted(update: BondholderUpdate) -> None:
    after_commit(f"{_HERE}.send_bondholder_update_to_all", update_id=update.pk)


def send_bondholder_update_to_all(*, update_id: int) -> int:
    """Queue one e-mail per person whose money the issue holds (however many holdings they
    have); how many were queued. Run again (a worker that died before marking it done), it
    queues none twice."""
    update = BondholderUpdate.objects.get(pk=update_id)
    func = f"{_HERE}.send_bondholder_update"
    with transaction.atomic():
        queued = set(
            QueuedWork.objects.filter(func=func, kwargs__update_id=update_id).values_list(
                "kwargs__user_id", flat=True
            )
        )
        user_ids = [u for u in update_recipient_ids(update.issue_id) if u not in queued]
        for user_id in user_ids:
            after_commit(func, update_id=update_id, user_id=user_id)
    return len(user_ids)


def send_bondholder_update(*, update_id: int, user_id: int) -> int:
    """Not essential: news of the project, with a link to it on the offer's page."""
    update = BondholderUpdate.objects.select_related("issue__issuer").get(pk=update_id)
    holder = User.objects.get(pk=user_id)
    issue = update.issue
    page_url = absolute_url(reverse("issue-page", args=[issue.pk]))
    return mail_send(
        to=_to_holder(holder, essential=False),
        subject=f"News from {issue.issuer.name}: {update.title}",
        template="bondholder_update",
        context={
            **_common(holder, issue),
            "update": update,
            "page_url": f"{page_url}#update-{update.pk}",
            "photo_url": absolute_url(reverse("bondholder-update-photo", args=[update.pk]))
            if update.has_photo
            else "",
        },
    )


# --- to officers ---------------------------------------------------------------------------


def redemption_requested(request: RedemptionRequest) -> None:
    after_commit(f"{_HERE}.send_redemption_requested", request_id=request.pk)


def send_redemption_requested(*, request_id: int) -> int:
    """To the issuer's finance officers: a request waits for their decision."""
    request = RedemptionRequest.objects.select_related("holding__issue__issuer").get(pk=request_id)
    issue = request.holding.issue
    return mail_send(
        to=officer_emails_of(issue.issuer_id),
        subject=f"A request for early repayment from {issue.name} waits for a decision",
        template="redemption_requested",
        context={
            "issue": issue,
            "issuer": issue.issuer,
            "request": request,
            "page_url": absolute_url(reverse("officer-issue", args=[issue.pk])),
        },
    )
