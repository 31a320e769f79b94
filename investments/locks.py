"""The row locks of bond issues and subscriptions, and the issue's capacity counters.

One order everywhere, so that concurrent work queues instead of deadlocking:
the issue row first, then its subscriptions (in id order), then the ledger
head (taken by `ledger.services.entry_post` when a service posts). Every
service that needs these rows takes them through this module, inside its
own transaction (`transaction.atomic(durable=True)`).

Subscribing is the one exception, documented in `services/subscriptions.py`:
it locks the investor's profile and then reserves capacity with one
conditional UPDATE of the issue row (`capacity_reserve`), locking no
existing subscription, so it cannot deadlock with the order above.

The counters: `committed_pence` is what live (pending and paid)
subscriptions hold of `max_raise_pence`; `raised_pence` the paid part of it.
Database constraints keep both within bounds even against a buggy caller.
"""

from __future__ import annotations

from django.db.models import F, QuerySet

from bondplatform.errors import NotFound
from investments.models import BondIssue, Holding, IssueStatus, Subscription, SubscriptionStatus


def issue_lock(issue_id: int) -> BondIssue:
    """Lock one issue row (with its issuer loaded); 404 if there is no such issue."""
    issue = BondIssue.objects.select_for_update().select_related("issuer").filter(pk=issue_id).first()
    if issue is None:
        raise NotFound("No such bond issue.", code="issue_not_found")
    return issue


def subscription_lock(subscription_id: int) -> tuple[BondIssue, Subscription]:
    """Lock a subscription's issue, then the subscription: (issue, subscription), both fresh."""
    issue_id = Subscription.objects.filter(pk=subscription_id).values_list("issue_id", flat=True).first()
    if issue_id is None:
        raise NotFound("No such subscription.", code="subscription_not_found")
    issue = issue_lock(issue_id)
    return issue, Subscription.objects.select_for_update().get(pk=subscription_id)


def subscriptions_lock(issue: BondIssue, *statuses: str) -> list[Subscription]:
    """Lock the issue's subscriptions in these statuses, in id order. The caller holds the issue's lock."""
    return list(
        Subscription.objects.select_for_update().filter(issue=issue, status__in=statuses).order_by("id")
    )


def capacity_reserve(*, issue_id: int, amount_pence: int) -> bool:
    """Reserve `amount_pence` of an open issue's capacity in one conditional statement.

    Takes the issue row's lock from here to COMMIT (so call it last). False
    if the issue is no longer open or the amount no longer fits."""
    return bool(
        BondIssue.objects.filter(
            pk=issue_id,
            status=IssueStatus.OPEN,
            committed_pence__lte=F("max_raise_pence") - amount_pence,
        ).update(committed_pence=F("committed_pence") + amount_pence)
    )


def capacity_mark_paid(*, issue_id: int, amount_pence: int) -> None:
    """A subscription of `amount_pence` is now paid in full: it counts as raised."""
    BondIssue.objects.filter(pk=issue_id).update(raised_pence=F("raised_pence") + amount_pence)


def capacity_release(*, issue_id: int, subscription: Subscription) -> None:
    """A live subscription ends: give back its place, and its raised amount if it was paid.

    Call before changing the subscription's status (it reads whether it was paid)."""
    was_paid = subscription.status == SubscriptionStatus.PAID
    BondIssue.objects.filter(pk=issue_id).update(
        committed_pence=F("committed_pence") - subscription.amount_pence,
        raised_pence=F("raised_pence") - (subscription.amount_pence if was_paid else 0),
    )


# --- holdings (after allotment) ------------------------------------------------------
#
# The order, extended: the issue row, then its interest run, then its holdings
# (in id order), then a redemption request, then a payout batch, then the
# ledger head. An interest run's batch, an approval, a maturity and a
# preference change all follow it; marking a payout batch sent locks only the
# batch, its payouts and the ledger head (it changes no holding), so it cannot
# close a cycle either.


def holding_lock(holding_id: int) -> tuple[BondIssue, Holding]:
    """Lock a holding's issue, then the holding: (issue, holding), both fresh."""
    issue_id = Holding.objects.filter(pk=holding_id).values_list("issue_id", flat=True).first()
    if issue_id is None:
        raise NotFound("No such holding.", code="holding_not_found")
    issue = issue_lock(issue_id)
    return issue, Holding.objects.select_for_update().get(pk=holding_id)


def holdings_lock(
    issue: BondIssue, holdings: QuerySet[Holding], *, limit: int | None = None
) -> list[Holding]:
    """Lock some of the issue's holdings, in id order (at most `limit`). The caller holds the issue's lock."""
    locked = holdings.filter(issue=issue).select_for_update(of=("self",)).order_by("id")
    return list(locked[:limit] if limit is not None else locked)
