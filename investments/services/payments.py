"""Money in and out of subscriptions: receipts and refunds.

Ledger entries (all per issuer, in integer pence):
- receipt:       Dr <provider clearing>    Cr subscriptions_held:<issue> (what is due)
                                           Cr refunds_payable    (any excess)
- refund owed:   Dr subscriptions_held:<issue> Cr refunds_payable
- refund sent:   Dr refunds_payable        Cr <provider clearing>
Callers hold the issue's and the subscription's locks; the ledger takes its
head lock last.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from typing import Any

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from bondplatform.actors import SYSTEM
from bondplatform.audit import audit_record
from bondplatform.background import after_commit
from bondplatform.errors import Conflict, RuleViolation, ServiceError
from bondplatform.money import display_pounds
from compliance.services import refusals_kept
from investments import accounts, selectors
from investments.models import (
    BondIssue,
    Receipt,
    Refund,
    RefundReason,
    RefundStatus,
    Subscription,
    SubscriptionStatus,
)
from investments.payments import provider_named
from issuers import gates
from ledger.models import EntryKind
from ledger.services import Posting, entry_post

logger = logging.getLogger(__name__)


def _fingerprint(**fields: Any) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def refund_owe(
    *, actor: Any, subscription: Subscription, amount_pence: int, reason: RefundReason, key: str
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
    actor: Any,
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
    after_commit("investments.services.payments.refund_settle_with_provider", refund_id=refund.pk)
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


def refund_mark_sent(*, actor: Any, refund_id: int) -> Refund:
    """An officer has sent a bank-transfer refund."""
    refund = selectors.refund_get(refund_id)
    gates.require_officer(actor, refund.subscription.issue.issuer_id)
    return _refund_mark_sent(actor=actor, refund_id=refund_id, provider_refund_id=None)


def _refund_mark_sent(*, actor: Any, refund_id: int, provider_refund_id: str | None) -> Refund:
    with transaction.atomic():
        refund = (
            Refund.objects.select_for_update().select_related("subscription__issue__issuer").get(pk=refund_id)
        )
        if refund.status == RefundStatus.SENT:
            return refund
        issuer = refund.subscription.issue.issuer
        clearing = provider_named(refund.provider).clearing_account
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


def receipt_record(
    *,
    actor: Any,
    subscription_id: int,
    amount_pence: int,
    reference: str,
    received_on: dt.date,
    idempotency_key: str,
    provider: str | None = None,
) -> Receipt:
    """Money has arrived for a subscription.

    Paid in full (or more) marks it paid and any excess is owed back; a short
    payment is held and the subscription stays pending. Money for a
    subscription that has already ended is owed back whole. The same
    idempotency key with the same facts returns the first receipt; with
    different facts it is refused."""
    subscription = selectors.subscription_get(subscription_id)
    issuer = subscription.issue.issuer
    gates.require_officer(actor, issuer)
    provider = provider or subscription.provider
    fingerprint = _fingerprint(
        subscription=subscription_id, amount=amount_pence, reference=reference, received_on=received_on
    )
    existing = Receipt.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replay(existing, fingerprint)
    with refusals_kept(actor=actor, issuer=issuer, subject=subscription):
        if reference.strip().upper() != subscription.reference:
            raise RuleViolation(
                f"The reference {reference!r} is not this subscription's ({subscription.reference}).",
                code="reference_mismatch",
            )
    with transaction.atomic(durable=True):
        # Lock order: issue, then the investor's subscription, then (in entry_post) the ledger head.
        issue = BondIssue.objects.select_for_update().get(pk=subscription.issue_id)
        subscription = Subscription.objects.select_for_update().get(pk=subscription_id)
        existing = Receipt.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:  # a concurrent twin won the race
            return _replay(existing, fingerprint)
        return _receipt_apply(
            actor=actor,
            issue=issue,
            subscription=subscription,
            amount_pence=amount_pence,
            reference=reference,
            received_on=received_on,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            provider=provider,
        )


def _replay(existing: Receipt, fingerprint: str) -> Receipt:
    if existing.request_fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was used before with a different payment.", code="idempotency_key_reused"
        )
    return existing


def _receipt_apply(
    *,
    actor: Any,
    issue: BondIssue,
    subscription: Subscription,
    amount_pence: int,
    reference: str,
    received_on: dt.date,
    idempotency_key: str,
    fingerprint: str,
    provider: str,
) -> Receipt:
    clearing = provider_named(provider).clearing_account
    due = subscription.amount_pence - subscription.received_pence
    accepting = subscription.status == SubscriptionStatus.PENDING_PAYMENT
    held = min(amount_pence, due) if accepting else 0
    excess = amount_pence - held
    postings = [Posting(clearing, amount_pence)]
    if held:
        postings.append(Posting(accounts.held_for(issue.pk), -held))
    if excess:
        postings.append(Posting(accounts.REFUNDS_PAYABLE, -excess))
    entry = entry_post(
        issuer=issue.issuer,
        kind=EntryKind.SUBSCRIPTION_PAYMENT,
        value_date=received_on,
        description=f"Payment received for subscription {subscription.pk} ({provider})",
        idempotency_key=f"receipt:{idempotency_key}",
        postings=postings,
    )
    receipt = Receipt.objects.create(
        subscription=subscription,
        provider=provider,
        amount_pence=amount_pence,
        reference=reference,
        received_on=received_on,
        idempotency_key=idempotency_key,
        held_pence=held,
        request_fingerprint=fingerprint,
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
        ledger_entry=entry,
    )
    subscription.received_pence += held
    fields = ["received_pence"]
    if accepting and subscription.received_pence == subscription.amount_pence:
        subscription.status = SubscriptionStatus.PAID
        subscription.paid_at = timezone.now()
        fields += ["status", "paid_at"]
        BondIssue.objects.filter(pk=issue.pk).update(
            raised_pence=F("raised_pence") + subscription.amount_pence
        )
    subscription.save(update_fields=fields)
    if excess:
        reason = RefundReason.OVERPAYMENT if accepting else RefundReason.LATE_PAYMENT
        # The excess is already in refunds_payable (posted above): only the Refund row and its settling remain.
        refund = Refund.objects.create(
            subscription=subscription,
            amount_pence=excess,
            reason=reason,
            provider=provider,
            idempotency_key=f"receipt-excess:{idempotency_key}",
        )
        after_commit("investments.services.payments.refund_settle_with_provider", refund_id=refund.pk)
    audit_record(
        actor=actor,
        issuer=issue.issuer,
        action="receipt.record",
        obj=receipt,
        data={
            "subscription": subscription.pk,
            "amount_pence": amount_pence,
            "held_pence": held,
            "excess_pence": excess,
            "status": subscription.status,
        },
    )
    return receipt


def receipt_outstanding_message(subscription: Subscription) -> str:
    owed = subscription.amount_pence - subscription.received_pence
    return f"{display_pounds(owed)} is still to pay." if owed > 0 else "Paid in full."
