"""Money arriving for a subscription: one receipt, whatever the provider.

Ledger entry (per issuer, in integer pence):
- receipt:       Dr <provider clearing>    Cr subscriptions_held:<issue> (what is due)
                                           Cr refunds_payable    (any excess)
The excess is owed back at once: its Refund row is settled after COMMIT
(`investments.payments.refunds.refund_settle_with_provider`).
Lock order as everywhere: issue, then subscription, then (in entry_post) the ledger head.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from bondplatform.actors import Actor, person_or_none
from bondplatform.audit import audit_record
from bondplatform.background import after_commit
from bondplatform.errors import BadInput, Conflict, RuleViolation
from compliance.services import refusals_kept
from investments import accounts, notifications, selectors
from investments.locks import capacity_mark_paid, subscription_lock
from investments.models import (
    BondIssue,
    Receipt,
    Refund,
    RefundReason,
    Subscription,
    SubscriptionStatus,
)
from investments.payments.bank_transfer import BankTransferProvider
from investments.payments.providers import provider_named
from issuers import gates
from ledger.models import EntryKind
from ledger.services import Posting, entry_post

# Money may reach the bank a little before an offer opens here (a paper offer opened the
# day before, a resident who paid on the announcement); never after today.
RECEIVED_BEFORE_OPENING = dt.timedelta(days=7)


def received_on_check(*, issue: BondIssue, received_on: dt.date) -> None:
    """400 `invalid_received_on` for a date money cannot have arrived on: before the week
    before the offer opened, or after today (any date from year 1 to 9999 was taken)."""
    earliest = timezone.localdate(issue.opens_at) - RECEIVED_BEFORE_OPENING
    today = timezone.localdate()
    if not earliest <= received_on <= today:
        raise BadInput(
            f"Money for this issue cannot have been received on {received_on.isoformat()}: "
            f"give a date from {earliest.isoformat()} to today ({today.isoformat()}).",
            code="invalid_received_on",
            fields={"received_on": [f"From {earliest.isoformat()} to {today.isoformat()}."]},
        )


def _fingerprint(**fields: Any) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def receipt_record(
    *,
    actor: Actor,
    subscription_id: int,
    amount_pence: int,
    reference: str,
    received_on: dt.date,
    idempotency_key: str,
    provider: str = BankTransferProvider.name,
    recorded_before: Callable[[Subscription], Receipt | None] | None = None,
) -> Receipt:
    """Money has arrived for a subscription.

    Paid in full (or more) marks it paid and any excess is owed back; a short
    payment is held and the subscription stays pending. Money for a
    subscription that has already ended is owed back whole. The same
    idempotency key with the same facts returns the first receipt; with
    different facts it is refused.

    `provider` is where the money arrived, and so which clearing account it
    lands in. Money an officer records (by hand, or from a bank statement)
    is money seen in the issuer's bank account: it lands in cash at bank,
    whatever the subscription's method, never in Stripe clearing. Only a
    provider announcing its own payment (Stripe's webhook) names itself.

    `recorded_before(subscription)` is asked under the subscription's lock,
    after the key is found new and before anything is recorded: a receipt
    that is already this money (a bank statement line an officer recorded by
    hand, `bank_statements`), or None. When it answers one, nothing is
    recorded and that receipt is returned; what it writes commits with the
    lock, so a twin that waited for it sees it."""
    subscription = selectors.subscription_get_private(subscription_id, actor=actor)
    issuer = subscription.issue.issuer
    gates.require_officer(actor, issuer)
    received_on_check(issue=subscription.issue, received_on=received_on)
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
    try:
        with transaction.atomic(durable=True):
            # Lock order: issue, then the investor's subscription, then (in entry_post) the ledger head.
            issue, subscription = subscription_lock(subscription_id)
            existing = Receipt.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:  # a concurrent twin won the race
                return _replay(existing, fingerprint)
            if recorded_before is not None and (earlier := recorded_before(subscription)) is not None:
                return earlier
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
    except IntegrityError:
        # The key is unique across issuers, but the locks above are one subscription's: the
        # same key for another subscription (another issuer's books) committed first.
        existing = Receipt.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _replay(existing, fingerprint)


def _replay(existing: Receipt, fingerprint: str) -> Receipt:
    if existing.request_fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was used before with a different payment.", code="idempotency_key_reused"
        )
    return existing


def _receipt_apply(
    *,
    actor: Actor,
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
        recorded_by=person_or_none(actor),
        ledger_entry=entry,
    )
    subscription.received_pence += held
    fields = ["received_pence"]
    if accepting and subscription.received_pence == subscription.amount_pence:
        subscription.status = SubscriptionStatus.PAID
        subscription.paid_at = timezone.now()
        fields += ["status", "paid_at"]
        capacity_mark_paid(issue_id=issue.pk, amount_pence=subscription.amount_pence)
    subscription.save(update_fields=fields)
    if held:
        notifications.payment_received(receipt)
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
        after_commit("investments.payments.refunds.refund_settle_with_provider", refund_id=refund.pk)
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
