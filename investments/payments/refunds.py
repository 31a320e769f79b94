"""Money going back from subscriptions: refunds owed, sent by a provider or by an officer.

Ledger entries (all per issuer, in integer pence):
- refund owed:   Dr subscriptions_held:<issue> Cr refunds_payable
- refund sent:   Dr refunds_payable        Cr <provider clearing>
Callers hold the issue's and the subscription's locks; the ledger takes its
head lock last.

Money leaves the issuer only when a refund is sent, so that is where the
asset lock judges it (`refund_judge`): a refund may return no more than was
received for the subscription, less what has already gone back.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from bondplatform.actors import SYSTEM, Actor
from bondplatform.audit import audit_record
from bondplatform.background import after_commit
from bondplatform.errors import RuleViolation, ServiceError
from compliance.asset_lock import Outflow, Purpose, asset_lock_judge
from compliance.models import Decision
from compliance.services import refusals_kept
from investments import accounts, selectors
from investments.models import (
    Receipt,
    Refund,
    RefundReason,
    RefundStatus,
    Subscription,
)
from investments.payments.providers import provider_named
from issuers import gates
from ledger.models import EntryKind
from ledger.services import Posting, entry_post

logger = logging.getLogger(__name__)


def refund_owe(
    *, actor: Actor, subscription: Subscription, amount_pence: int, reason: RefundReason, key: str
) -> list[Refund]:
    """Record that money held for a subscription is owed back, and ask its providers to send it.

    Money goes back the way it came: a card subscription the resident paid by
    bank transfer is refunded by bank transfer. Call inside the caller's
    transaction, with the subscription locked."""
    parts = _refund_parts(subscription, amount_pence)
    return [
        _refund_owe_one(
            actor=actor,
            subscription=subscription,
            amount_pence=part,
            provider=provider,
            reason=reason,
            key=key if len(parts) == 1 else f"{key}:{provider}",
        )
        for provider, part in parts
    ]


def _refund_parts(subscription: Subscription, amount_pence: int) -> list[tuple[str, int]]:
    """Split a refund of held money by the providers it was received through."""
    held = dict(
        Receipt.objects.filter(subscription=subscription, held_pence__gt=0)
        .values_list("provider")
        .annotate(total=Sum("held_pence"))
        .order_by("provider")
    )
    parts: list[tuple[str, int]] = []
    left = amount_pence
    for provider, total in held.items():
        part = min(left, total)
        if part:
            parts.append((provider, part))
            left -= part
    if left:  # nothing on record says how it came: back through the subscription's own provider
        parts.append((subscription.provider, left))
    return parts


def _refund_owe_one(
    *,
    actor: Actor,
    subscription: Subscription,
    amount_pence: int,
    provider: str,
    reason: RefundReason,
    key: str,
) -> Refund:
    refund, created = Refund.objects.get_or_create(
        idempotency_key=key,
        defaults={
            "subscription": subscription,
            "amount_pence": amount_pence,
            "reason": reason,
            "provider": provider,
        },
    )
    if not created:
        return refund
    issue = subscription.issue
    entry_post(
        issuer=issue.issuer,
        kind=EntryKind.SUBSCRIPTION_REFUND,
        value_date=timezone.localdate(),
        description=f"Refund owed on subscription {subscription.pk} ({RefundReason(reason).label.lower()})",
        idempotency_key=f"refund:{refund.pk}:owed",
        postings=[
            Posting(accounts.held_for(issue.pk), amount_pence),
            Posting(accounts.REFUNDS_PAYABLE, -amount_pence),
        ],
    )
    audit_record(
        actor=actor,
        issuer=issue.issuer,
        action="refund.owe",
        obj=refund,
        data={
            "subscription": subscription.pk,
            "amount_pence": amount_pence,
            "reason": reason,
            "provider": provider,
        },
    )
    after_commit("investments.payments.refunds.refund_settle_with_provider", refund_id=refund.pk)
    return refund


def refund_settle_with_provider(*, refund_id: int) -> Refund:
    """Ask the provider to return the money; card refunds settle at once, bank ones wait for an officer.

    Runs after COMMIT (the refund is already owed in the books). If the
    provider cannot send it now, the refund stays pending, logged, and can be
    settled again later: the provider's idempotency key is the refund's id."""
    refund = Refund.objects.select_related("subscription").get(pk=refund_id)
    if refund.status == RefundStatus.SENT:
        return refund
    try:
        outcome = provider_named(refund.provider).refund(refund)
    except ServiceError as failure:
        logger.warning("Refund %s stays pending: %s (%s)", refund.pk, failure.detail, failure.code)
        return refund
    if outcome.settled:
        return _refund_mark_sent(
            actor=SYSTEM, refund_id=refund.pk, provider_refund_id=outcome.provider_refund_id
        )
    return refund


def refund_confirm_sent(*, refund_id: int, provider_refund_id: str) -> Refund:
    """The provider tells us (a webhook) that one of our refunds went out: settle it if not yet settled."""
    return _refund_mark_sent(actor=SYSTEM, refund_id=refund_id, provider_refund_id=provider_refund_id)


def refund_mark_sent(*, actor: Actor, refund_id: int) -> Refund:
    """An officer has sent a bank-transfer refund.

    Only a refund that an officer sends can be marked sent by hand. A card refund is
    the provider's to send (`refund_settle_with_provider`, retried while Stripe is
    down): marked sent here it would be closed with no refund at Stripe, and the
    resident never paid back. 422 `refund_is_providers`, its deny decision kept."""
    refund = selectors.refund_get_private(refund_id, actor=actor)
    issuer = refund.subscription.issue.issuer
    gates.require_officer(actor, issuer)
    with refusals_kept(actor=actor, issuer=issuer, subject=refund, context={"provider": refund.provider}):
        if not provider_named(refund.provider).refunds_sent_by_hand:
            raise RuleViolation(
                f"Refund {refund.pk} goes back to the card it came from: the payment provider sends it "
                "(retried until it can), so it cannot be marked sent by hand.",
                code="refund_is_providers",
            )
    return _refund_mark_sent(actor=actor, refund_id=refund_id, provider_refund_id=None)


def _refund_mark_sent(*, actor: Actor, refund_id: int, provider_refund_id: str | None) -> Refund:
    asked = selectors.refund_get(refund_id)
    with (
        refusals_kept(actor=actor, issuer=asked.subscription.issue.issuer, subject=asked),
        transaction.atomic(),
    ):
        refund = (
            Refund.objects.select_for_update().select_related("subscription__issue__issuer").get(pk=refund_id)
        )
        if refund.status == RefundStatus.SENT:
            return refund
        issuer = refund.subscription.issue.issuer
        clearing = provider_named(refund.provider).clearing_account
        refund_judge(actor=actor, refund=refund)
        entry_post(
            issuer=issuer,
            kind=EntryKind.SUBSCRIPTION_REFUND,
            value_date=timezone.localdate(),
            description=f"Refund {refund.pk} sent for subscription {refund.subscription_id}",
            idempotency_key=f"refund:{refund.pk}:sent",
            postings=[
                Posting(accounts.REFUNDS_PAYABLE, refund.amount_pence),
                Posting(clearing, -refund.amount_pence),
            ],
        )
        refund.status = RefundStatus.SENT
        refund.sent_at = timezone.now()
        refund.provider_refund_id = provider_refund_id
        refund.save(update_fields=["status", "sent_at", "provider_refund_id"])
        audit_record(actor=actor, issuer=issuer, action="refund.sent", obj=refund)
        return refund


def refund_judge(*, actor: Actor, refund: Refund) -> Decision:
    """The asset lock on a refund about to leave (inside the transaction that posts it).

    Owed back is what the subscription's receipts brought in, less the
    refunds already sent for it; a refund above that is refused (422
    `asset_lock_violation`). Call with the refund locked."""
    received = Receipt.objects.filter(subscription_id=refund.subscription_id).aggregate(
        total=Sum("amount_pence")
    )["total"]
    returned = (
        Refund.objects.filter(subscription_id=refund.subscription_id, status=RefundStatus.SENT)
        .exclude(pk=refund.pk)
        .aggregate(total=Sum("amount_pence"))["total"]
    )
    return asset_lock_judge(
        actor=actor,
        issuer=refund.subscription.issue.issuer,
        outflow=Outflow(
            purpose=Purpose.REFUND,
            amount_pence=refund.amount_pence,
            recipient=f"the subscriber of subscription {refund.subscription_id}",
            owed_pence=(received or 0) - (returned or 0),
        ),
        subject=refund,
    )
