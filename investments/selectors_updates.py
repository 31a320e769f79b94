"""Reads for updates to bondholders: an issue's updates, newest first; who hears of them; a photo."""

from __future__ import annotations

from django.db.models import QuerySet

from bondplatform.errors import NotFound
from investments.models import (
    BondholderUpdate,
    BondholderUpdatePhoto,
    Holding,
    HoldingStatus,
    IssueStatus,
    Subscription,
    SubscriptionStatus,
)


def updates_of(issue_id: int) -> QuerySet[BondholderUpdate]:
    """An issue's updates, newest first (by the day each speaks for, then as posted)."""
    return BondholderUpdate.objects.filter(issue_id=issue_id).order_by("-published_on", "-id")


def update_recipient_ids(issue_id: int) -> list[int]:
    """Everyone whose money the issue holds, once each (however many holdings they have):
    holders of active holdings, and residents whose paid subscriptions await allotment.

    Not those whose subscription is still unpaid (they have lent nothing yet and may let
    it lapse; the offer's page shows them the updates) nor former holders, repaid."""
    holders = Holding.objects.filter(issue_id=issue_id, status=HoldingStatus.ACTIVE).values_list(
        "holder_id", flat=True
    )
    paid = Subscription.objects.filter(issue_id=issue_id, status=SubscriptionStatus.PAID).values_list(
        "investor_id", flat=True
    )
    return sorted(set(holders) | set(paid))


def update_photo_get_public(update_id: int) -> tuple[BondholderUpdate, bytes]:
    """An update's photo, as anyone may see it on the offer's page (404 for none, or a draft's)."""
    update = (
        BondholderUpdate.objects.select_related("issue")
        .filter(pk=update_id)
        .exclude(issue__status=IssueStatus.DRAFT)
        .exclude(photo_content_type="")
        .first()
    )
    photo = BondholderUpdatePhoto.objects.filter(update_id=update_id).first() if update else None
    if update is None or photo is None:
        raise NotFound("No such photo.", code="photo_not_found")
    return update, bytes(photo.content)
