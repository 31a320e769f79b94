"""Reads for bond issues, subscriptions and holdings.

A read that needs permission takes the keyword-only `actor` and calls the gate
itself, after the look-up (404 before 403), so that no view has to remember it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from bondplatform.actors import Actor
from bondplatform.errors import NotFound
from investments import accounts
from investments.models import (
    LIVE_SUBSCRIPTION_STATUSES,
    BondIssue,
    Holding,
    HoldingStatus,
    IssueStatus,
    Refund,
    RefundStatus,
    Subscription,
    SubscriptionStatus,
    UseOfFunds,
)
from issuers import gates
from issuers.models import Issuer, Role
from issuers.selectors import role_grants_of
from ledger.canonical import format_timestamp
from ledger.models import GENESIS_HASH, EntryKind, LedgerHead, LedgerPosting
from ledger.selectors import checkpoint_latest
from people.postcodes import postcode_matches_prefix

# Investors counted on an issue: those whose money is in or committed.
_COUNTED = (SubscriptionStatus.PENDING_PAYMENT, SubscriptionStatus.PAID, SubscriptionStatus.ALLOTTED)


def issue_list(*, status: str | None = None) -> QuerySet[BondIssue]:
    issues = BondIssue.objects.select_related("issuer").annotate(
        investor_count=Count(
            "subscriptions__investor", filter=Q(subscriptions__status__in=_COUNTED), distinct=True
        )
    )
    if status:
        issues = issues.filter(status=status)
    return issues.order_by("-opens_at", "-id")


def issue_get(issue_id: int) -> BondIssue:
    issue = issue_list().filter(pk=issue_id).first()
    if issue is None:
        raise NotFound("No such bond issue.", code="issue_not_found")
    return issue


def _visible(issues: QuerySet[BondIssue], actor: Actor) -> QuerySet[BondIssue]:
    """Drafts are an issuer's plans: only its officers and auditors, and staff, see them."""
    if gates.is_staff(actor):
        return issues
    readable = Q()
    if actor.is_authenticated:
        readable = Q(issuer__role_grants__user=actor)
    return issues.filter(~Q(status=IssueStatus.DRAFT) | readable).distinct()


def issue_list_for(*, actor: Actor, status: str | None = None) -> QuerySet[BondIssue]:
    return _visible(issue_list(status=status), actor)


def issue_get_for(issue_id: int, *, actor: Actor) -> BondIssue:
    """The issue if `actor` may see it; a draft is "not found" to anyone else."""
    issue = _visible(issue_list(), actor).filter(pk=issue_id).first()
    if issue is None:
        raise NotFound("No such bond issue.", code="issue_not_found")
    return issue


def issue_get_public(issue_id: int) -> BondIssue:
    """The issue as the residents' pages show it: a draft is not found there, even by its
    own officers (they see it on the officer pages)."""
    issue = issue_get(issue_id)
    if issue.status == IssueStatus.DRAFT:
        raise NotFound("No such bond issue.", code="issue_not_found")
    return issue


def issue_get_for_officer(issue_id: int, *, actor: Actor) -> BondIssue:
    """The issue, for one of its issuer's finance officers to act on (404, then 401/403).

    For an edge that must refuse the person before it reads their input (a PATCH
    body, a page's form); the service it then calls checks the same gate again,
    since pages, tasks and commands reach it without this read."""
    issue = issue_get(issue_id)
    gates.require_officer(actor, issue.issuer_id)
    return issue


def subscriptions_of(user: Any) -> QuerySet[Subscription]:
    return (
        Subscription.objects.filter(investor=user)
        .select_related("issue__issuer")
        .order_by("-created_at", "-id")
    )


def subscription_get(subscription_id: int) -> Subscription:
    subscription = Subscription.objects.select_related("issue__issuer").filter(pk=subscription_id).first()
    if subscription is None:
        raise NotFound("No such subscription.", code="subscription_not_found")
    return subscription


def subscription_get_private(subscription_id: int, *, actor: Actor) -> Subscription:
    """A subscription, for those who may know it exists: its investor, the officers and auditors
    of its issuer, staff (401 for nobody, then 404 for everyone else: `gates.require_private`)."""
    gates.require_signed_in(actor)
    subscription = subscription_get(subscription_id)
    gates.require_private(
        actor,
        issuer_id=subscription.issue.issuer_id,
        owner_id=subscription.investor_id,
        missing=NotFound("No such subscription.", code="subscription_not_found"),
    )
    return subscription


def subscription_get_for(subscription_id: int, *, actor: Actor) -> Subscription:
    """A resident's own subscription (401, then 404 for anyone who may not see it, 403 for an officer)."""
    subscription = subscription_get_private(subscription_id, actor=actor)
    gates.require_self(actor, subscription.investor_id)
    return subscription


def subscription_get_for_officer(subscription_id: int, *, actor: Actor) -> Subscription:
    """A subscription, for one of its issuer's finance officers to act on (401, 404, then 403)."""
    subscription = subscription_get_private(subscription_id, actor=actor)
    gates.require_officer(actor, subscription.issue.issuer_id)
    return subscription


def register_of(issue: BondIssue, *, actor: Actor) -> QuerySet[Holding]:
    """The register of bondholders: names and postcodes, so officers and auditors only."""
    gates.require_register_reader(actor, issue.issuer_id)
    return Holding.objects.filter(issue=issue).select_related("holder__profile").order_by("id")


def transparency_of(issue: BondIssue) -> dict[str, Any]:
    """What anyone may see of an issue: totals, never names. `local_investor_share` is
    the share (0 to 1) of its investors living in its eligible area, None when it has
    no area or no investors yet; the API shows it to two decimals."""
    counted = Subscription.objects.filter(issue=issue, status__in=_COUNTED).select_related(
        "investor__profile"
    )
    investors: dict[int, str] = {s.investor_id: s.investor.profile.postcode for s in counted}
    local_share: float | None = None
    if issue.eligible_postcode_prefixes and investors:
        local = sum(
            1
            for postcode in investors.values()
            if any(postcode_matches_prefix(postcode, p) for p in issue.eligible_postcode_prefixes)
        )
        local_share = local / len(investors)
    flows = _issue_flows(issue)
    head = LedgerHead.objects.filter(issuer_id=issue.issuer_id).first()
    return {
        "issue": issue.pk,
        "issuer": issue.issuer_id,
        "status": issue.status,
        "currency": issue.currency,
        "raised_pence": issue.raised_pence,
        "investor_count": len(investors),
        "local_investor_share": local_share,
        "interest_paid_pence": flows["interest_paid_pence"],
        "interest_waived_pence": flows["interest_waived_pence"],
        "principal_repaid_pence": flows["principal_repaid_pence"],
        "uses_of_funds_total_pence": UseOfFunds.objects.filter(issue=issue).aggregate(
            total=Sum("amount_pence")
        )["total"]
        or 0,
        "ledger_head": signed_head_of(issue.issuer_id),
        # The chain's end now, which the next checkpoint (daily, or at a statement) will sign.
        "ledger_tip": {
            "sequence": head.last_sequence if head else 0,
            "hash": head.last_hash if head else GENESIS_HASH,
        },
    }


def signed_head_of(issuer_id: int) -> dict[str, Any]:
    """The issuer's latest signed checkpoint, as the public sees it: what a statement or a
    resident's proof can be checked against. Before the first one, sequence 0 and no signature."""
    checkpoint = checkpoint_latest(issuer=issuer_id)
    if checkpoint is None:
        return {
            "sequence": 0,
            "hash": GENESIS_HASH,
            "signature": None,
            "key_id": None,
            "algorithm": None,
            "signed_at": None,
            "tree_size": None,
            "merkle_root": None,
        }
    return {
        "sequence": checkpoint.sequence,
        "hash": checkpoint.hash,
        "signature": checkpoint.signature,
        "key_id": checkpoint.key_id,
        "algorithm": checkpoint.algorithm,
        # In the canonical form the signature covers (ledger.canonical), so anyone can check it.
        "signed_at": format_timestamp(checkpoint.signed_at),
        # The signed Merkle tree head (format 2; null on older checkpoints).
        "tree_size": checkpoint.tree_size,
        "merkle_root": checkpoint.merkle_root,
    }


def _issue_flows(issue: BondIssue) -> dict[str, int]:
    """What an issue's holders have been given, read from the ledger (not from the holdings):
    - principal repaid: the debits to its holdings' principal (made owed by a redemption or maturity);
    - interest paid: the net interest credited to them, to their interest payable or, reinvested, to
      their principal;
    - interest waived: the memorandum credits of what they forwent."""
    holding_ids = list(Holding.objects.filter(issue=issue).values_list("pk", flat=True))
    principal = [accounts.principal_of(pk) for pk in holding_ids]

    def total(codes: list[str], *, debits: bool, kind: str | None = None) -> int:
        postings = LedgerPosting.objects.filter(account__issuer_id=issue.issuer_id, account__code__in=codes)
        postings = postings.filter(amount_pence__gt=0) if debits else postings.filter(amount_pence__lt=0)
        if kind is not None:
            postings = postings.filter(entry__kind=kind)
        return abs(postings.aggregate(total=Sum("amount_pence"))["total"] or 0)

    return {
        "principal_repaid_pence": total(principal, debits=True),
        "interest_paid_pence": total([accounts.interest_payable_of(pk) for pk in holding_ids], debits=False)
        + total(principal, debits=False, kind=EntryKind.INTEREST_REINVESTMENT),
        "interest_waived_pence": total([accounts.interest_waived_of(pk) for pk in holding_ids], debits=False),
    }


def holdings_of(user: Any) -> QuerySet[Holding]:
    return Holding.objects.filter(holder=user, status=HoldingStatus.ACTIVE).select_related("issue")


# --- for the officer and auditor pages ---------------------------------------------


@dataclass(frozen=True)
class IssuerDesk:
    """One issuer as a role holder sees it: the roles they hold there and its issues."""

    issuer: Issuer
    roles: list[Role]  # the template shows their labels
    issues: list[BondIssue]
    # For showing the officers' links; the pages behind them check the gates.
    is_officer: bool


def desks_of(*, actor: Actor) -> list[IssuerDesk]:
    """The issuers where `actor` is a finance officer or an auditor, each with all its
    issues, drafts included (two queries whatever the numbers)."""
    gates.require_role_holder(actor)
    grants = list(role_grants_of(actor))
    issuers: dict[int, Issuer] = {}
    roles: dict[int, list[Role]] = {}
    for grant in grants:
        issuers.setdefault(grant.issuer_id, grant.issuer)
        roles.setdefault(grant.issuer_id, []).append(Role(grant.role))
    issues: dict[int, list[BondIssue]] = {issuer_id: [] for issuer_id in issuers}
    for issue in issue_list().filter(issuer_id__in=list(issuers)):
        issues[issue.issuer_id].append(issue)
    return [
        IssuerDesk(
            issuer=issuers[pk],
            roles=roles[pk],
            issues=issues[pk],
            is_officer=Role.FINANCE_OFFICER in roles[pk],
        )
        for pk in issuers
    ]


def subscriptions_of_issue(issue: BondIssue, *, actor: Actor) -> list[Subscription]:
    """Every subscription to an issue, oldest first, each with `investor_name` (the
    resident's full name, or the username of someone without a profile). They name
    residents: the register's readers only."""
    gates.require_register_reader(actor, issue.issuer_id)
    return list(
        Subscription.objects.filter(issue=issue)
        .annotate(investor_name=Coalesce(F("investor__profile__full_name"), F("investor__username")))
        .order_by("created_at", "id")
    )


def refunds_pending_of(issue: BondIssue, *, actor: Actor) -> list[Refund]:
    """Refunds owed on an issue's subscriptions and not yet sent, oldest first (for the
    register's readers, like the subscriptions they belong to)."""
    gates.require_register_reader(actor, issue.issuer_id)
    return list(
        Refund.objects.filter(subscription__issue=issue, status=RefundStatus.PENDING)
        .select_related("subscription")
        .order_by("created_at", "id")
    )


def refund_get(refund_id: int) -> Refund:
    refund = Refund.objects.select_related("subscription__issue").filter(pk=refund_id).first()
    if refund is None:
        raise NotFound("No such refund.", code="refund_not_found")
    return refund


def refund_get_private(refund_id: int, *, actor: Actor) -> Refund:
    """A refund, for its investor, the officers and auditors of its issuer, and staff (401, then 404)."""
    gates.require_signed_in(actor)
    refund = refund_get(refund_id)
    gates.require_private(
        actor,
        issuer_id=refund.subscription.issue.issuer_id,
        owner_id=refund.subscription.investor_id,
        missing=NotFound("No such refund.", code="refund_not_found"),
    )
    return refund


def refund_get_for_officer(refund_id: int, *, actor: Actor) -> Refund:
    """A refund, for one of its issuer's finance officers to act on (401, 404, then 403)."""
    refund = refund_get_private(refund_id, actor=actor)
    gates.require_officer(actor, refund.subscription.issue.issuer_id)
    return refund


def issue_ledger_accounts(issue_id: int) -> list[str]:
    """The ledger account codes of one issue: its held money and its holdings' accounts."""
    holding_ids = Holding.objects.filter(issue_id=issue_id).values_list("pk", flat=True)
    return accounts.issue_account_codes(issue_id, holding_ids)


# --- for the residents' pages --------------------------------------------------------


@dataclass(frozen=True)
class Allowance:
    """What one resident may still put into one issue, for the subscribe form to say at once.

    `left_pence` is the issue's per-person maximum less their live (pending and paid)
    subscriptions to it, and never more than the issue has left; the service checks the
    same caps again, under its locks, when they subscribe (and the society member cap)."""

    min_pence: int
    max_pence: int
    already_pence: int
    left_pence: int


def allowance_of(issue: BondIssue, user: Any) -> Allowance:
    already = 0
    if getattr(user, "is_authenticated", False):
        already = (
            Subscription.objects.filter(
                issue=issue, investor=user, status__in=LIVE_SUBSCRIPTION_STATUSES
            ).aggregate(total=Sum("amount_pence"))["total"]
            or 0
        )
    left = max(0, min(issue.max_subscription_pence - already, issue.remaining_pence))
    return Allowance(
        min_pence=issue.min_subscription_pence,
        max_pence=issue.max_subscription_pence,
        already_pence=already,
        left_pence=left,
    )
