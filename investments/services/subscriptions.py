"""Subscribing to an issue, cancelling, and expiring unpaid subscriptions.

Capacity and caps under a burst. The checks that need no lock run first.
Then, in one short transaction: the investor's profile row is locked (two
browser tabs of one resident queue here), the investor's caps are checked
against totals nobody else can change while that lock is held, the
subscription is written, and last of all capacity is reserved with a single
conditional UPDATE on the issue row, `committed + amount <= max_raise`. The
issue row is the hot one (every resident of a popular issue needs it), so it
is locked last and held only from that UPDATE to COMMIT.

Lock order. Everywhere else the order is issue, then investor (their
subscription rows), then ledger head. Subscribing takes investor then issue,
and cannot deadlock with them: it locks no existing subscription row and
never the ledger head, and no operation holds an issue lock while waiting
for a profile lock (`tests/investments/test_subscription_races.py` mixes
subscribing, cancelling and paying on one issue to show it).
"""

from __future__ import annotations

import datetime as dt
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from bondplatform.actors import SYSTEM, Actor
from bondplatform.audit import audit_record
from bondplatform.background import after_commit
from bondplatform.errors import Conflict, InvalidState, NotFound, NotPermitted, RuleViolation, ServiceError
from compliance import caps
from compliance.services import decision_record, refusals_kept
from investments import notifications, selectors
from investments.locks import capacity_release, capacity_reserve, subscription_lock
from investments.models import (
    LIVE_SUBSCRIPTION_STATUSES,
    BondIssue,
    Holding,
    HoldingStatus,
    IssueStatus,
    PaymentMethod,
    RefundReason,
    Subscription,
    SubscriptionStatus,
)
from investments.payments.card import payment_prepare
from investments.payments.providers import provider_for_method, provider_named
from investments.payments.refunds import refund_owe
from issuers import gates
from people.models import Profile

# Crockford-style alphabet: no 0/O or 1/I/L to misread on a bank statement.
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference() -> str:
    return "MB" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


def _resident(actor: Actor) -> tuple[User, Profile]:
    investor = gates.require_person(actor)
    profile = Profile.objects.filter(user=investor).first()
    if profile is None:
        raise NotPermitted("Only registered residents can subscribe.", code="not_a_resident")
    return investor, profile


def _investor_totals(*, investor_id: int, issue: BondIssue) -> tuple[int, int]:
    """(live subscriptions to this issue, capital with this issuer), in pence.

    Capital with an issuer is live subscriptions to any of its issues plus
    principal held; it is only needed where the society member cap applies."""
    live = Subscription.objects.filter(
        investor_id=investor_id, issue__issuer_id=issue.issuer_id, status__in=LIVE_SUBSCRIPTION_STATUSES
    ).aggregate(this_issue=Sum("amount_pence", filter=Q(issue_id=issue.pk)), all_issues=Sum("amount_pence"))
    if not issue.issuer.is_society:
        return live["this_issue"] or 0, 0
    held = (
        Holding.objects.filter(
            holder_id=investor_id, issue__issuer_id=issue.issuer_id, status=HoldingStatus.ACTIVE
        ).aggregate(total=Sum("principal_pence"))["total"]
        or 0
    )
    return live["this_issue"] or 0, (live["all_issues"] or 0) + held


def _check_open(issue: BondIssue, now: dt.datetime) -> None:
    if issue.status != IssueStatus.OPEN or not (issue.opens_at <= now < issue.closes_at):
        raise InvalidState("This issue is not open for subscriptions.", code="issue_not_open")


def _check_caps(*, issue: BondIssue, investor_id: int, amount_pence: int) -> None:
    issue_total, issuer_total = _investor_totals(investor_id=investor_id, issue=issue)
    caps.check_subscription_caps(
        caps.SubscriptionFacts(
            amount_pence=amount_pence,
            min_subscription_pence=issue.min_subscription_pence,
            max_subscription_pence=issue.max_subscription_pence,
            investor_issue_total_pence=issue_total,
            society_cap_applies=issue.issuer.is_society,
            investor_issuer_total_pence=issuer_total,
        )
    )


def subscription_create(
    *,
    actor: Actor,
    issue_id: int,
    amount_pence: int,
    payment_method: str,
    idempotency_key: str | None = None,
) -> tuple[Subscription, bool]:
    """Apply for `amount_pence` of an issue. Returns (subscription, created).

    Refusals raise with the API's codes and are logged as compliance decisions."""
    gates.require_email_verified(actor)
    investor, profile = _resident(actor)
    issue = BondIssue.objects.select_related("issuer").filter(pk=issue_id).first()
    # A draft is not public: to a subscriber it does not exist (404, and nothing logged
    # in the issuer's decision log about someone who could not have seen it).
    if issue is None or issue.status == IssueStatus.DRAFT:
        raise NotFound("No such bond issue.", code="issue_not_found")
    request = (issue.pk, amount_pence, payment_method)
    earlier = _earlier_with_key(investor, idempotency_key, request)
    if earlier is not None:
        return _ready_to_pay(earlier), False
    now = timezone.now()
    try:
        with refusals_kept(
            actor=actor,
            issuer=issue.issuer,
            subject=issue,
            context={"amount_pence": amount_pence, "investor": investor.pk},
            # "Not open" is a judgement on the offer's terms here, so it is logged too.
            refusals=(RuleViolation, InvalidState),
        ):
            # Checks that need no lock: they cannot be changed by other residents.
            _check_open(issue, now)
            caps.check_eligibility(
                date_of_birth=profile.date_of_birth,
                postcode=profile.postcode,
                eligible_prefixes=issue.eligible_postcode_prefixes,
                on=timezone.localdate(),
            )
            provider = provider_for_method(payment_method)
            # A full issue refuses at once, without a lock; the investor's own caps need
            # their lock (below) to be checked against totals that cannot change meanwhile.
            if amount_pence > issue.remaining_pence:
                raise caps.issue_full(remaining_pence=issue.remaining_pence)
            subscription, created = _reserve_and_insert(
                investor=investor,
                profile=profile,
                issue=issue,
                amount_pence=amount_pence,
                payment_method=payment_method,
                provider_name=provider.name,
                idempotency_key=idempotency_key,
                request=request,
                now=now,
            )
    except IntegrityError:
        # The same Idempotency-Key from two tabs at once: the other one won.
        existing = Subscription.objects.filter(investor=investor, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _ready_to_pay(existing), False
    if not created:
        return _ready_to_pay(subscription), False
    payment_prepare(subscription=subscription)
    return subscription, True


def _earlier_with_key(investor: User, key: str | None, request: tuple[int, int, str]) -> Subscription | None:
    """The subscription this Idempotency-Key already made, if any (a different request is refused)."""
    if not key:
        return None
    earlier = Subscription.objects.filter(investor=investor, idempotency_key=key).first()
    if earlier is not None and (earlier.issue_id, earlier.amount_pence, earlier.payment_method) != request:
        raise Conflict(
            "This Idempotency-Key was used before for a different subscription.",
            code="idempotency_key_reused",
        )
    return earlier


def _ready_to_pay(subscription: Subscription) -> Subscription:
    """A replay may find a subscription whose payment was never set up: the first request
    died between committing it and calling the provider. Set it up now; providers make
    `prepare` idempotent (Stripe: one PaymentIntent per subscription and amount)."""
    if subscription.status == SubscriptionStatus.PENDING_PAYMENT:
        payment_prepare(subscription=subscription)
    return subscription


def subscriptions_prepare_unprepared(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """For the periodic task: set up the payment of card subscriptions whose request died
    before it could (nobody retried), so they do not hold a place they cannot pay for."""
    cutoff = timezone.now() - older_than
    waiting = Subscription.objects.filter(
        status=SubscriptionStatus.PENDING_PAYMENT,
        payment_method=PaymentMethod.CARD,
        provider_payment_id__isnull=True,
        created_at__lt=cutoff,
    ).select_related("issue")
    done = 0
    for subscription in waiting:
        try:
            _ready_to_pay(subscription)
        except ServiceError:
            continue  # the provider abandoned it (place released); the log says why
        done += 1
    return done


def _reserve_and_insert(
    *,
    investor: User,
    profile: Profile,
    issue: BondIssue,
    amount_pence: int,
    payment_method: str,
    provider_name: str,
    idempotency_key: str | None,
    request: tuple[int, int, str],
    now: dt.datetime,
) -> tuple[Subscription, bool]:
    with transaction.atomic(durable=True):
        # 1. The investor: queue concurrent requests of one resident (two tabs),
        #    then check their caps against totals no one else can change now.
        Profile.objects.select_for_update().filter(pk=profile.pk).values_list("pk", flat=True).first()
        # A twin request with the same key may have committed while we waited for the lock:
        # its answer is ours too (checking the caps now would refuse us for its own amount).
        earlier = _earlier_with_key(investor, idempotency_key, request)
        if earlier is not None:
            return earlier, False
        _check_caps(issue=issue, investor_id=investor.pk, amount_pence=amount_pence)
        subscription = Subscription.objects.create(
            issue=issue,
            investor=investor,
            amount_pence=amount_pence,
            payment_method=payment_method,
            provider=provider_name,
            reference=new_reference(),
            idempotency_key=idempotency_key or None,
            expires_at=now + timedelta(hours=settings.SUBSCRIPTION_PAYMENT_WINDOW_HOURS),
        )
        decision_record(
            actor=investor,
            issuer=issue.issuer,
            rule="subscription_caps",
            allowed=True,
            reason="Within the per-investor, member and issue caps; eligible.",
            subject=subscription,
            context={"amount_pence": amount_pence},
        )
        audit_record(
            actor=investor,
            issuer=issue.issuer,
            action="subscription.create",
            obj=subscription,
            data={"amount_pence": amount_pence, "payment_method": payment_method},
        )
        # 2. The issue, last: reserve capacity with one conditional statement.
        #    It takes the hot issue row's lock, held only from here to COMMIT.
        if not capacity_reserve(issue_id=issue.pk, amount_pence=amount_pence):
            fresh = BondIssue.objects.get(pk=issue.pk)
            if fresh.status != IssueStatus.OPEN:
                raise InvalidState("This issue is not open for subscriptions.", code="issue_not_open")
            raise caps.issue_full(remaining_pence=fresh.remaining_pence)
        notifications.subscription_received(subscription)
        return subscription, True


def subscription_end(
    *,
    actor: Actor,
    issue: BondIssue,
    subscription: Subscription,
    status: SubscriptionStatus,
    reason: RefundReason,
) -> Subscription:
    """End a live subscription: release its capacity and owe back whatever was received.

    The caller holds the issue's lock and the subscription's."""
    if subscription.status not in LIVE_SUBSCRIPTION_STATUSES:
        raise InvalidState(f"This subscription is already {subscription.status}.", code="invalid_state")
    capacity_release(issue_id=issue.pk, subscription=subscription)
    if not subscription.received_pence:
        after_commit("investments.services.subscriptions.payment_abandon", subscription_id=subscription.pk)
    if subscription.received_pence:
        refund_owe(
            actor=actor,
            subscription=subscription,
            amount_pence=subscription.received_pence,
            reason=reason,
            key=f"subscription-end:{subscription.pk}",
        )
    subscription.status = (
        SubscriptionStatus.REFUNDED
        if subscription.received_pence and status != SubscriptionStatus.CANCELLED
        else status
    )
    subscription.ended_at = timezone.now()
    subscription.save(update_fields=["status", "ended_at"])
    audit_record(
        actor=actor,
        issuer=issue.issuer,
        action=f"subscription.{subscription.status}",
        obj=subscription,
        data={"refunded_pence": subscription.received_pence, "reason": reason},
    )
    return subscription


def payment_abandon(*, subscription_id: int) -> None:
    """After an unpaid subscription ended: its provider withdraws what could still be paid."""
    subscription = Subscription.objects.get(pk=subscription_id)
    provider_named(subscription.provider).abandon(subscription)


def subscription_cancel(*, actor: Actor, subscription_id: int) -> Subscription:
    """A resident changes their mind: within cooling-off and before allotment.

    An unpaid subscription can be cancelled at any time before allotment:
    nothing has been paid, so there is nothing to cool off from."""
    subscription = selectors.subscription_get_private(subscription_id, actor=actor)
    gates.require_self(actor, subscription.investor_id)
    with (
        refusals_kept(actor=actor, issuer=subscription.issue.issuer, subject=subscription),
        transaction.atomic(durable=True),
    ):
        issue, subscription = subscription_lock(subscription_id)
        if subscription.status == SubscriptionStatus.ALLOTTED:
            raise InvalidState(
                "Bonds have been allotted: ask for a redemption instead.", code="invalid_state"
            )
        if subscription.status not in LIVE_SUBSCRIPTION_STATUSES:
            raise InvalidState(f"This subscription is already {subscription.status}.", code="invalid_state")
        last_day = timezone.localdate(subscription.created_at) + timedelta(days=issue.cooling_off_days)
        if subscription.received_pence and timezone.localdate() > last_day:
            raise RuleViolation(
                f"The cooling-off period ended on {last_day:%d %B %Y}.",
                code="cooling_off_expired",
                rule="cooling_off",
                extra={"last_day": last_day.isoformat()},
            )
        decision_record(
            actor=actor,
            issuer=issue.issuer,
            rule="cooling_off",
            allowed=True,
            reason=f"Cancelled on or before {last_day:%Y-%m-%d}, before allotment.",
            subject=subscription,
        )
        return subscription_end(
            actor=actor,
            issue=issue,
            subscription=subscription,
            status=SubscriptionStatus.CANCELLED,
            reason=RefundReason.COOLING_OFF,
        )


def subscriptions_expire_unpaid(*, now: dt.datetime | None = None) -> int:
    """Expire subscriptions left unpaid past their window, releasing their capacity."""
    now = now or timezone.now()
    due = list(
        Subscription.objects.filter(status=SubscriptionStatus.PENDING_PAYMENT, expires_at__lte=now)
        .order_by("issue_id", "id")
        .values_list("pk", flat=True)
    )
    expired = 0
    for subscription_id in due:
        with transaction.atomic(durable=True):
            issue, subscription = subscription_lock(subscription_id)
            if subscription.status != SubscriptionStatus.PENDING_PAYMENT:
                continue  # paid or cancelled meanwhile
            subscription_end(
                actor=SYSTEM,
                issue=issue,
                subscription=subscription,
                status=SubscriptionStatus.EXPIRED,
                reason=RefundReason.UNPAID_IN_TIME,
            )
            expired += 1
    return expired


def payment_instructions(subscription: Subscription) -> dict[str, Any]:
    return provider_named(subscription.provider).instructions(subscription)
