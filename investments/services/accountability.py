"""Officers report what an issue's money was used for: each report tied to the entry that paid it.

A use of funds does not move money itself: it points at a distribution
already paid (`POST issuers/{id}/distributions/`, a payment for full
consideration or a transfer to another asset-locked body), by the sequence of
its ledger entry. So there is one path by which money leaves (judged by the
asset lock, once), a report can claim no money that did not leave, and anyone
holding a signed statement can find the entry a report names. One payment may
be split over several reports (and issues), never beyond what it paid; an
issue's reports never add up to more than it raised.

Lock order: the issue row, then the distribution row (nothing locks them the
other way round), so two reports against one payment cannot both fit where
only one does.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from bondplatform.actors import Actor
from bondplatform.audit import audit_record
from bondplatform.errors import BadInput, InvalidState, NotFound, RuleViolation
from bondplatform.money import display_pounds
from compliance.models import Distribution, DistributionKind
from compliance.services import refusals_kept
from investments.locks import issue_lock
from investments.models import BondIssue, IssueStatus, UseOfFunds
from issuers import gates
from ledger.models import LedgerEntry

# Spending: what the issuer bought, or passed on to another asset-locked body.
SPENDING_KINDS = (DistributionKind.CONSIDERATION, DistributionKind.TRANSFER_TO_ASSET_LOCKED_BODY)
# An issue whose money it kept: raised, and not refunded.
KEPT_MONEY = (IssueStatus.CLOSED, IssueStatus.ACTIVE, IssueStatus.REDEEMED)


def _total(uses) -> int:
    return uses.aggregate(total=Sum("amount_pence"))["total"] or 0


def use_of_funds_report(
    *,
    actor: Actor,
    issue_id: int,
    amount_pence: int,
    purpose: str,
    spent_on: dt.date,
    evidence_url: str,
    ledger_sequence: int,
) -> UseOfFunds:
    issue = BondIssue.objects.select_related("issuer").filter(pk=issue_id).first()
    if issue is None:
        raise NotFound("No such bond issue.", code="issue_not_found")
    gates.require_officer(actor, issue.issuer)
    if spent_on > timezone.localdate():
        raise BadInput(
            "spent_on: not in the future.", code="invalid", fields={"spent_on": ["Not in the future."]}
        )
    context = {"amount_pence": amount_pence, "ledger_sequence": ledger_sequence}
    with (
        refusals_kept(actor=actor, issuer=issue.issuer, subject=issue, context=context),
        transaction.atomic(durable=True),
    ):
        issue = issue_lock(issue_id)
        if issue.status not in KEPT_MONEY:
            raise InvalidState(
                f"An issue that is {issue.status} holds no money raised to report on.",
                code="no_funds_raised",
                extra={"status": issue.status},
            )
        entry = LedgerEntry.objects.filter(issuer_id=issue.issuer_id, sequence=ledger_sequence).first()
        distribution = (
            Distribution.objects.select_for_update().filter(ledger_entry=entry).first() if entry else None
        )
        if entry is None or distribution is None or distribution.kind not in SPENDING_KINDS:
            raise BadInput(
                f"Entry #{ledger_sequence} of {issue.issuer.name}'s ledger is not a payment for goods or "
                "services, nor a transfer to another asset-locked body: pay it as a distribution first.",
                code="not_a_spending_entry",
                fields={"ledger_sequence": ["The sequence of the distribution's ledger entry."]},
            )
        already = _total(UseOfFunds.objects.filter(ledger_entry=entry))
        if already + amount_pence > distribution.amount_pence:
            raise RuleViolation(
                f"Entry #{ledger_sequence} paid {display_pounds(distribution.amount_pence)}, of which "
                f"{display_pounds(already)} is already reported: {display_pounds(amount_pence)} more is too much.",
                code="exceeds_ledger_entry",
                rule="use_of_funds",
                extra={"paid_pence": distribution.amount_pence, "reported_pence": already},
            )
        reported = _total(UseOfFunds.objects.filter(issue=issue))
        if reported + amount_pence > issue.raised_pence:
            raise RuleViolation(
                f"The issue raised {display_pounds(issue.raised_pence)}, of which {display_pounds(reported)} "
                f"is already reported as used: {display_pounds(amount_pence)} more is too much.",
                code="exceeds_funds_raised",
                rule="use_of_funds",
                extra={"raised_pence": issue.raised_pence, "reported_pence": reported},
            )
        use = UseOfFunds.objects.create(
            issue=issue,
            ledger_entry=entry,
            amount_pence=amount_pence,
            purpose=purpose,
            spent_on=spent_on,
            evidence_url=evidence_url,
            reported_by=gates.require_person(actor),
        )
        audit_record(
            actor=actor,
            issuer=issue.issuer,
            action="use_of_funds.report",
            obj=use,
            data={"issue": issue.pk, "amount_pence": amount_pence, "ledger_sequence": ledger_sequence},
        )
        return use
