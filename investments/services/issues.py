"""A bond issue's life: draft -> open -> closed -> active -> redeemed,
closed -> failed (minimum raise missed: everyone refunded), open -> withdrawn.

Each transition checks the officer, locks the issue row and then its
subscriptions (`investments.locks`: the fixed order), checks the state it
starts from, and writes an audit row. Refusals of a rule keep their deny
decision (`compliance.services.refusals_kept`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from bondplatform.actors import SYSTEM, Actor
from bondplatform.audit import audit_record
from bondplatform.errors import BadInput, InvalidState, NotFound, RuleViolation
from bondplatform.money import display_pounds
from compliance.services import decision_record, refusals_kept
from investments import accounts
from investments.locks import issue_lock, subscriptions_lock
from investments.models import (
    LIVE_SUBSCRIPTION_STATUSES,
    BondIssue,
    Holding,
    IssueStatus,
    RefundReason,
    SubscriptionStatus,
)
from investments.services.subscriptions import subscription_end
from issuers import gates
from issuers.models import Issuer
from issuers.services import CIC_MAX_INTEREST_RATE_PERCENT
from ledger.models import EntryKind
from ledger.services import Posting, entry_post

TERM_FIELDS = (
    "name",
    "description",
    "currency",
    "coupon_rate_percent",
    "term_months",
    "interest_frequency",
    "day_count",
    "min_subscription_pence",
    "max_subscription_pence",
    "min_raise_pence",
    "max_raise_pence",
    "opens_at",
    "closes_at",
    "eligible_postcode_prefixes",
    "cooling_off_days",
    "notice_days",
    "reinvestment_allowed",
    "performance_related",
)

# CIC Regulations 2005 reg 21 (as amended 2014): performance-related interest on a CIC's
# debt is capped at 20 % a year on average debt; no CIC may declare a higher maximum.
PERFORMANCE_RELATED_INTEREST_SOURCE = (
    "CIC Regulations 2005 reg 21 as amended 2014 (performance-related interest: at most 20 % a year)"
)
CIC_RATE_SOURCE = "CIC Regulations 2005 reg 21 (no CIC may declare more than 20 % a year)"


def issue_validate_terms(*, issuer: Issuer, terms: dict[str, Any]) -> None:
    """Terms that cannot make sense are bad input (400), with a message per field."""
    errors: dict[str, list[str]] = {}
    if terms["closes_at"] <= terms["opens_at"]:
        errors["closes_at"] = ["Must be after opens_at."]
    if terms["min_subscription_pence"] > terms["max_subscription_pence"]:
        errors["min_subscription"] = ["Must not be more than max_subscription."]
    if terms["max_subscription_pence"] > terms["max_raise_pence"]:
        errors["max_subscription"] = ["Must not be more than max_raise."]
    if terms["min_raise_pence"] > terms["max_raise_pence"]:
        errors["min_raise"] = ["Must not be more than max_raise."]
    if terms["term_months"] < 1:
        errors["term_months"] = ["At least one month."]
    if terms["coupon_rate_percent"] < 0:
        errors["coupon_rate_percent"] = ["Must not be negative."]
    if errors:
        raise BadInput("The terms are not consistent.", code="invalid_terms", fields=errors)


def _check_rate_cap(*, actor: Actor, issue: BondIssue) -> None:
    """The coupon may not exceed the rate the issuer's rules declare (the "lowest rate
    sufficient"), nor, for a CIC, 20 % a year: the cap of CIC Regulations 2005 reg 21 on
    performance-related interest, which is also the most a CIC may declare (issuers.services).
    A refusal names every limit the coupon is above, with its source."""
    issuer = issue.issuer
    limits = [(issuer.max_interest_rate_percent, "the issuer's rules (its declared maximum rate)")]
    if issuer.is_cic:
        limits.append(
            (
                CIC_MAX_INTEREST_RATE_PERCENT,
                PERFORMANCE_RELATED_INTEREST_SOURCE if issue.performance_related else CIC_RATE_SOURCE,
            )
        )
    cap = min(limit for limit, _ in limits)
    above = [source for limit, source in limits if issue.coupon_rate_percent > limit]
    what = "Performance-related interest of" if issue.performance_related else "Coupon"
    reason = (
        f"{what} {issue.coupon_rate_percent} % is above the cap of {cap} % a year: {'; '.join(above)}."
        if above
        else f"{what} {issue.coupon_rate_percent} % is within the cap of {cap} % a year."
    )
    figures = {
        "coupon_rate_percent": str(issue.coupon_rate_percent),
        "cap_percent": str(cap),
        "performance_related": issue.performance_related,
        "sources": [source for _, source in limits],
    }
    if above:
        raise RuleViolation(reason, code="rate_cap_exceeded", rule="rate_cap", extra=figures)
    decision_record(
        actor=actor,
        issuer=issuer,
        rule="rate_cap",
        allowed=True,
        reason=reason,
        subject=issue,
        context=figures,
    )


def _refuse_issuer_change(*, issue: BondIssue, issuer: Issuer) -> None:
    """An issue stays with the issuer that offered it: its officers, ledger and register are that issuer's."""
    if issuer.pk != issue.issuer_id:
        raise BadInput(
            "issuer: An issue cannot move to another issuer.",
            code="invalid",
            fields={"issuer": ["An issue cannot move to another issuer."]},
        )


def issue_create(*, actor: Actor, issuer: Issuer, **terms: Any) -> BondIssue:
    gates.require_officer(actor, issuer)
    issue_validate_terms(issuer=issuer, terms=terms)
    with transaction.atomic(durable=True):
        issue = BondIssue.objects.create(issuer=issuer, created_by=gates.require_person(actor), **terms)
        audit_record(actor=actor, issuer=issuer, action="issue.create", obj=issue, data={"name": issue.name})
    return issue


def issue_update_terms(
    *, actor: Actor, issue_id: int, issuer: Issuer | None = None, **changes: Any
) -> BondIssue:
    """Change a draft's terms. Once an issue opens its terms are frozen: residents
    subscribe to the terms they read. `issuer` may be given (a client sends the
    issue back whole) but not changed."""
    current = _issue_for_officer(actor, issue_id)
    if issuer is not None:
        _refuse_issuer_change(issue=current, issuer=issuer)
    unknown = set(changes) - set(TERM_FIELDS)
    if unknown:
        raise BadInput(f"These are not terms: {', '.join(sorted(unknown))}.", code="invalid_terms")
    with transaction.atomic(durable=True):
        issue = issue_lock(issue_id)
        if issue.status != IssueStatus.DRAFT:
            raise InvalidState(
                "The terms are frozen once the issue has opened.",
                code="terms_frozen",
                extra={"status": issue.status},
            )
        terms = {field: getattr(issue, field) for field in TERM_FIELDS}
        terms.update(changes)
        issue_validate_terms(issuer=issue.issuer, terms=terms)
        for field, value in changes.items():
            setattr(issue, field, value)
        issue.save(update_fields=list(changes))
        audit_record(
            actor=actor,
            issuer=issue.issuer,
            action="issue.update_terms",
            obj=issue,
            data={"changed": sorted(changes)},
        )
        return issue


def _require_status(issue: BondIssue, *allowed: IssueStatus, action: str) -> None:
    if issue.status not in allowed:
        raise InvalidState(
            f"An issue that is {issue.status} cannot be {action}.",
            code="invalid_state",
            extra={"status": issue.status},
        )


def _issue_for_officer(actor: Actor, issue_id: int) -> BondIssue:
    """The issue (unlocked), once the actor is known to be one of its issuer's officers."""
    issue = BondIssue.objects.select_related("issuer").filter(pk=issue_id).first()
    if issue is None:
        raise NotFound("No such bond issue.", code="issue_not_found")
    gates.require_officer(actor, issue.issuer)
    return issue


def issue_open(*, actor: Actor, issue_id: int) -> BondIssue:
    """Open for subscriptions. From here on the terms are frozen."""
    issue = _issue_for_officer(actor, issue_id)
    with (
        refusals_kept(actor=actor, issuer=issue.issuer, subject=issue),
        transaction.atomic(durable=True),
    ):
        issue = issue_lock(issue_id)
        _require_status(issue, IssueStatus.DRAFT, action="opened")
        if issue.closes_at <= timezone.now():
            raise RuleViolation("The offer's closing time has already passed.", code="closes_at_in_past")
        _check_rate_cap(actor=actor, issue=issue)
        issue.status = IssueStatus.OPEN
        issue.opened_at = timezone.now()
        issue.save(update_fields=["status", "opened_at"])
        audit_record(actor=actor, issuer=issue.issuer, action="issue.open", obj=issue)
        return issue


def issue_close(*, actor: Actor, issue_id: int) -> BondIssue:
    """Close the offer. Unpaid subscriptions lapse; if the paid total is below the
    minimum raise, the issue fails and every paid subscription is refunded."""
    _issue_for_officer(actor, issue_id)
    with transaction.atomic(durable=True):
        issue = issue_lock(issue_id)
        _require_status(issue, IssueStatus.OPEN, action="closed")
        for subscription in subscriptions_lock(issue, SubscriptionStatus.PENDING_PAYMENT):
            subscription_end(
                actor=actor,
                issue=issue,
                subscription=subscription,
                status=SubscriptionStatus.EXPIRED,
                reason=RefundReason.UNPAID_IN_TIME,
            )
        issue.refresh_from_db(fields=["committed_pence", "raised_pence"])
        met = issue.raised_pence >= issue.min_raise_pence
        decision_record(
            actor=actor,
            issuer=issue.issuer,
            rule="minimum_raise",
            allowed=met,
            subject=issue,
            reason=f"Raised {display_pounds(issue.raised_pence)} against a minimum of "
            f"{display_pounds(issue.min_raise_pence)}.",
        )
        if not met:
            for subscription in subscriptions_lock(issue, SubscriptionStatus.PAID):
                subscription_end(
                    actor=actor,
                    issue=issue,
                    subscription=subscription,
                    status=SubscriptionStatus.REFUNDED,
                    reason=RefundReason.FAILED_RAISE,
                )
        issue.status = IssueStatus.CLOSED if met else IssueStatus.FAILED
        issue.closed_at = timezone.now()
        issue.save(update_fields=["status", "closed_at"])
        audit_record(actor=actor, issuer=issue.issuer, action=f"issue.{issue.status}", obj=issue)
        issue.refresh_from_db()
        return issue


def issue_withdraw(*, actor: Actor, issue_id: int) -> BondIssue:
    """Withdraw an open offer: every subscription ends, every payment is refunded."""
    _issue_for_officer(actor, issue_id)
    with transaction.atomic(durable=True):
        issue = issue_lock(issue_id)
        _require_status(issue, IssueStatus.OPEN, action="withdrawn")
        for subscription in subscriptions_lock(issue, *LIVE_SUBSCRIPTION_STATUSES):
            subscription_end(
                actor=actor,
                issue=issue,
                subscription=subscription,
                status=SubscriptionStatus.REFUNDED,
                reason=RefundReason.WITHDRAWN,
            )
        issue.status = IssueStatus.WITHDRAWN
        issue.closed_at = timezone.now()
        issue.save(update_fields=["status", "closed_at"])
        audit_record(actor=actor, issuer=issue.issuer, action="issue.withdraw", obj=issue)
        issue.refresh_from_db()
        return issue


def issue_allot(*, actor: Actor, issue_id: int, allotted_on: dt.date | None = None) -> BondIssue:
    """Turn paid subscriptions into holdings (the register of bondholders).

    Ledger, per holding: Dr subscriptions_held:<issue>, Cr bond_principal:<holding>.
    Allotting an issue that is already active changes nothing and returns it."""
    _issue_for_officer(actor, issue_id)
    today = timezone.localdate()
    with transaction.atomic(durable=True):
        issue = issue_lock(issue_id)
        if issue.status == IssueStatus.ACTIVE:
            return issue
        _require_status(issue, IssueStatus.CLOSED, action="allotted")
        allotted_on = allotted_on or today
        first_day = timezone.localdate(issue.opens_at)
        if not (first_day <= allotted_on <= today):
            raise BadInput(
                f"The allotment date must lie between {first_day} and {today}.",
                code="invalid_allotment_date",
                fields={"allotted_on": [f"From {first_day} to {today}."]},
            )
        for subscription in subscriptions_lock(issue, SubscriptionStatus.PAID):
            holding = Holding.objects.create(
                issue=issue,
                holder_id=subscription.investor_id,
                subscription=subscription,
                principal_pence=subscription.amount_pence,
                allotted_on=allotted_on,
            )
            entry_post(
                issuer=issue.issuer,
                kind=EntryKind.ALLOTMENT,
                value_date=allotted_on,
                description=f"Bonds allotted: holding {holding.pk} in issue {issue.pk}",
                idempotency_key=f"allotment:{subscription.pk}",
                postings=[
                    Posting(accounts.held_for(issue.pk), subscription.amount_pence),
                    Posting(accounts.principal_of(holding.pk), -subscription.amount_pence),
                ],
            )
            subscription.status = SubscriptionStatus.ALLOTTED
            subscription.save(update_fields=["status"])
        issue.status = IssueStatus.ACTIVE
        issue.allotted_on = allotted_on
        issue.save(update_fields=["status", "allotted_on"])
        audit_record(
            actor=actor,
            issuer=issue.issuer,
            action="issue.allot",
            obj=issue,
            data={"allotted_on": allotted_on.isoformat()},
        )
        return issue


def issues_close_due(*, now: dt.datetime | None = None) -> list[int]:
    """Close every open issue whose `closes_at` has passed (the scheduled task)."""
    now = now or timezone.now()
    closed = []
    for issue_id in BondIssue.objects.filter(status=IssueStatus.OPEN, closes_at__lte=now).values_list(
        "pk", flat=True
    ):
        try:
            issue_close(actor=SYSTEM, issue_id=issue_id)
        except InvalidState:
            continue  # closed by an officer meanwhile
        closed.append(issue_id)
    return closed
