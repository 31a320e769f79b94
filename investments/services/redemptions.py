"""Principal back to holders: early redemption (asked by the holder, decided by an officer) and maturity.

Early redemption: the holder asks for an amount of their outstanding
principal; the redemption date is the request date plus the issue's
`notice_days`. An officer approves (or declines) with a reason. Approval
posts, with the redemption date as value date:
- Dr bond_principal:<h> / Cr redemption_payable:<h> for the amount, and
- the interest accrued on that amount to the redemption date, applied as the
  holder's preference (paid, or waived as a memorandum; `reinvest` is paid,
  since the money leaves), through the same engine as the coupons;
and the money becomes payouts in the issuer's open batch of the day. The
holding's redeemed principal grows at once (it is `redeemed` when nothing
is left), so later coupons are computed on what is left.

Which interest the redeemed amount still earns: from the end of the last
period this holding's interest was run for (or its allotment) to the
redemption date, period by period (`investments.interest.accrued_pence`).
The coupon runs after the approval compute on the reduced principal, so no
day is paid twice. Interest already paid is never clawed back: a redemption
approved after a coupon run past its date keeps that coupon.

Maturity (an officer, on or after the maturity date): every period's
interest is run first (the runs not yet made are made now, in order), then
every holding's outstanding principal falls due in one transaction, and the
issue becomes `redeemed`. Pending redemption requests are declined: the
principal they asked for is repaid at maturity.

Locks: the issue, the holding(s) in id order, the request, the day's payout
batch, then the ledger head (`investments/locks.py`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from bondplatform.actors import Actor, person_or_none, system_name
from bondplatform.audit import audit_record
from bondplatform.errors import Conflict, InvalidState, NotFound, RuleViolation
from bondplatform.money import display_pounds, format_pence
from compliance.services import decision_record, refusals_kept
from investments.interest import accrued_pence, maturity_date
from investments.locks import holding_lock, holdings_lock, issue_lock
from investments.models import (
    BondIssue,
    Holding,
    HoldingStatus,
    InterestLine,
    InterestPreference,
    InterestRunStatus,
    IssueStatus,
    Payout,
    PayoutKind,
    RedemptionRequest,
    RedemptionStatus,
)
from investments.selectors_servicing import holding_get_for_holder, redemption_request_get_for_officer
from investments.services.interest_runs import interest_run_execute, interest_run_request
from investments.services.payout_batches import payout_batch_of_day
from investments.services.servicing import interest_apply, principal_owed_entry, schedule_of
from issuers import gates
from ledger.services import EntrySpec, entries_post

POST_CHUNK = 500


def redemption_request_create(
    *, actor: Actor, holding_id: int, amount_pence: int, idempotency_key: str | None = None
) -> tuple[RedemptionRequest, bool]:
    """The holder asks for `amount_pence` back: (the request, whether it is new).

    422 `exceeds_principal` beyond what is outstanding (less what pending
    requests already ask for); 422 `matures_first` when the notice period
    would end on or after maturity (the bond is repaid then anyway)."""
    holding = holding_get_for_holder(holding_id, actor=actor)
    context = {"amount_pence": amount_pence}
    with (
        refusals_kept(actor=actor, issuer=holding.issue.issuer, subject=holding, context=context),
        transaction.atomic(durable=True),
    ):
        issue, holding = holding_lock(holding_id)
        if idempotency_key is not None:
            existing = RedemptionRequest.objects.filter(
                holding=holding, idempotency_key=idempotency_key
            ).first()
            if existing is not None:
                if existing.amount_pence != amount_pence:
                    raise Conflict(
                        "The Idempotency-Key was used for a request of another amount.",
                        code="idempotency_key_reused",
                    )
                return existing, False
        if issue.status != IssueStatus.ACTIVE or holding.status != HoldingStatus.ACTIVE:
            raise InvalidState(
                "Only a holding of an active issue can be redeemed early.",
                code="holding_not_active",
                extra={"status": holding.status},
            )
        asked = (
            RedemptionRequest.objects.filter(holding=holding, status=RedemptionStatus.PENDING).aggregate(
                total=Sum("amount_pence")
            )["total"]
            or 0
        )
        available = holding.outstanding_pence - asked
        if amount_pence > available:
            raise RuleViolation(
                f"You can ask for at most {display_pounds(max(available, 0))} back: the principal outstanding, "
                "less what your pending requests ask for.",
                code="exceeds_principal",
                rule="redemption_amount",
                extra={"available": format_pence(max(available, 0))},
            )
        today = timezone.localdate()
        redemption_date = today + dt.timedelta(days=issue.notice_days)
        assert issue.allotted_on is not None  # active issues are allotted
        matures = maturity_date(allotted_on=issue.allotted_on, term_months=issue.term_months)
        if redemption_date >= matures:
            raise RuleViolation(
                f"The bond matures on {matures}, before the {issue.notice_days} days' notice would end: "
                "it is repaid then.",
                code="matures_first",
                rule="redemption_notice",
                extra={"maturity_date": matures.isoformat()},
            )
        request = RedemptionRequest.objects.create(
            holding=holding,
            amount_pence=amount_pence,
            requested_on=today,
            redemption_date=redemption_date,
            idempotency_key=idempotency_key,
        )
        audit_record(
            actor=actor,
            issuer=issue.issuer,
            action="redemption.request",
            obj=request,
            data={"amount_pence": amount_pence, "redemption_date": redemption_date.isoformat()},
        )
        return request, True


def _request_for_officer(actor: Actor, request_id: int) -> RedemptionRequest:
    return redemption_request_get_for_officer(request_id, actor=actor)


def _decided(request: RedemptionRequest, actor: Actor, status: str, reason: str) -> None:
    request.status = status
    request.reason = reason
    request.decided_by = person_or_none(actor)
    request.decided_by_system = system_name(actor)
    request.decided_at = timezone.now()


def redemption_decline(*, actor: Actor, request_id: int, reason: str) -> RedemptionRequest:
    request = _request_for_officer(actor, request_id)
    with transaction.atomic(durable=True):
        issue, _ = holding_lock(request.holding_id)
        request = RedemptionRequest.objects.select_for_update().get(pk=request_id)
        if request.status == RedemptionStatus.DECLINED:
            return request
        if request.status != RedemptionStatus.PENDING:
            raise InvalidState(f"The request is already {request.status}.", code="already_decided")
        _decided(request, actor, RedemptionStatus.DECLINED, reason)
        request.save()
        decision_record(
            actor=actor,
            issuer=issue.issuer,
            rule="early_redemption",
            allowed=False,
            reason=reason,
            subject=request,
            context={"amount_pence": request.amount_pence},
        )
        audit_record(actor=actor, issuer=issue.issuer, action="redemption.decline", obj=request)
        return request


def redemption_approve(*, actor: Actor, request_id: int, reason: str) -> RedemptionRequest:
    """Approve: the amount and its interest to the redemption date become owed to the holder."""
    request = _request_for_officer(actor, request_id)
    with (
        refusals_kept(actor=actor, issuer=request.holding.issue.issuer, subject=request),
        transaction.atomic(durable=True),
    ):
        issue, holding = holding_lock(request.holding_id)
        request = RedemptionRequest.objects.select_for_update().get(pk=request_id)
        if request.status == RedemptionStatus.APPROVED:
            return request
        if request.status != RedemptionStatus.PENDING:
            raise InvalidState(f"The request is already {request.status}.", code="already_decided")
        if issue.status != IssueStatus.ACTIVE:
            raise InvalidState(
                f"The issue is {issue.status}: its principal is repaid at maturity.",
                code="holding_not_active",
                extra={"status": issue.status},
            )
        amount = request.amount_pence
        if amount > holding.outstanding_pence:
            raise RuleViolation(
                f"Only {display_pounds(holding.outstanding_pence)} of principal is outstanding.",
                code="exceeds_principal",
                rule="redemption_amount",
                extra={"available": format_pence(holding.outstanding_pence)},
            )
        day = request.redemption_date
        interest = _interest_to(issue, holding, amount_pence=amount, to=day)
        preference = holding.interest_preference
        applied = interest_apply(
            issuer=issue.issuer,
            holding_id=holding.pk,
            currency=issue.currency,
            amount_pence=interest,
            preference=InterestPreference.WAIVE
            if preference == InterestPreference.WAIVE
            else InterestPreference.PAY,
            value_date=day,
            description=f"Interest to {day} on principal redeemed early: holding {holding.pk} in issue {issue.pk}",
            idempotency_key=f"redemption:{request.pk}:interest",
        )
        specs = [
            principal_owed_entry(
                holding_id=holding.pk,
                currency=issue.currency,
                amount_pence=amount,
                value_date=day,
                description=f"Principal redeemed early: holding {holding.pk} in issue {issue.pk}",
                idempotency_key=f"redemption:{request.pk}",
            )
        ]
        if applied.entry is not None:
            specs.append(applied.entry)
        entries_post(issuer=issue.issuer_id, entries=specs)

        holding.redeemed_pence += amount
        holding.interest_paid_pence += applied.net_pence
        holding.interest_waived_pence += applied.waived_pence
        holding.tax_withheld_pence += applied.tax_pence
        if holding.outstanding_pence == 0:
            holding.status = HoldingStatus.REDEEMED
        holding.save(
            update_fields=[
                "redeemed_pence",
                "interest_paid_pence",
                "interest_waived_pence",
                "tax_withheld_pence",
                "status",
            ]
        )
        batch = payout_batch_of_day(issuer_id=issue.issuer_id, day=timezone.localdate())
        payouts = [
            Payout(
                batch=batch,
                holding=holding,
                holder_id=holding.holder_id,
                kind=PayoutKind.REDEMPTION,
                amount_pence=amount,
                key=f"redemption:{request.pk}",
                redemption_request=request,
            )
        ]
        if applied.net_pence:
            payouts.append(
                Payout(
                    batch=batch,
                    holding=holding,
                    holder_id=holding.holder_id,
                    kind=PayoutKind.INTEREST,
                    amount_pence=applied.net_pence,
                    key=f"redemption:{request.pk}:interest",
                    redemption_request=request,
                )
            )
        Payout.objects.bulk_create(payouts)
        _decided(request, actor, RedemptionStatus.APPROVED, reason)
        request.accrued_interest_pence = applied.gross_pence
        request.interest_tax_pence = applied.tax_pence
        request.interest_waived_pence = applied.waived_pence
        request.save()
        figures: dict[str, Any] = {
            "amount_pence": amount,
            "redemption_date": day.isoformat(),
            "accrued_interest_pence": interest,
            "tax_pence": applied.tax_pence,
        }
        decision_record(
            actor=actor,
            issuer=issue.issuer,
            rule="early_redemption",
            allowed=True,
            reason=reason,
            subject=request,
            context=figures,
        )
        audit_record(actor=actor, issuer=issue.issuer, action="redemption.approve", obj=request, data=figures)
        return request


def _interest_to(issue: BondIssue, holding: Holding, *, amount_pence: int, to: dt.date) -> int:
    """Interest on `amount_pence` of the holding from where its coupons have been run to `to`."""
    last_run = InterestLine.objects.filter(holding=holding).aggregate(end=Max("run__period_end"))["end"]
    start = max(last_run or holding.allotted_on, holding.allotted_on)
    return sum(
        accrued_pence(
            principal_pence=amount_pence,
            rate_percent=issue.coupon_rate_percent,
            period=period,
            held_from=max(start, period.start),
            to=to,
            day_count=issue.day_count,
        )
        for period in schedule_of(issue)
        if period.end > start and period.start < to
    )


def issue_mature(*, actor: Actor, issue_id: int) -> BondIssue:
    """On or after maturity: the final interest and all outstanding principal become owed; `redeemed`."""
    gates.require_signed_in(actor)
    issue = BondIssue.objects.select_related("issuer").filter(pk=issue_id).first()
    if issue is None:
        raise NotFound("No such bond issue.", code="issue_not_found")
    gates.require_officer(actor, issue.issuer)
    if issue.status == IssueStatus.REDEEMED:
        return issue
    if issue.status != IssueStatus.ACTIVE or issue.allotted_on is None:
        raise InvalidState(
            f"An issue that is {issue.status} cannot mature.",
            code="invalid_state",
            extra={"status": issue.status},
        )
    matures = maturity_date(allotted_on=issue.allotted_on, term_months=issue.term_months)
    today = timezone.localdate()
    if today < matures:
        raise InvalidState(
            f"The bonds mature on {matures}.",
            code="not_yet_mature",
            extra={"maturity_date": matures.isoformat()},
        )
    # Every period's interest first, in order: the last one ends at maturity.
    for period in schedule_of(issue):
        run, _ = interest_run_request(actor=actor, issue_id=issue.pk, period_end=period.end)
        if run.status != InterestRunStatus.COMPLETED:
            run = interest_run_execute(run_id=run.pk)
        if run.status != InterestRunStatus.COMPLETED:
            raise InvalidState(
                f"The interest run to {period.end} did not complete ({run.failure_reason}); ask again.",
                code="interest_run_failed",
            )
    with transaction.atomic(durable=True):
        issue = issue_lock(issue_id)
        if issue.status == IssueStatus.REDEEMED:
            return issue
        holdings = [h for h in holdings_lock(issue, Holding.objects.all()) if h.outstanding_pence > 0]
        for request in RedemptionRequest.objects.select_for_update().filter(
            holding__issue=issue, status=RedemptionStatus.PENDING
        ):
            _decided(request, actor, RedemptionStatus.DECLINED, "The issue matured: all principal is repaid.")
            request.save()
        batch = payout_batch_of_day(issuer_id=issue.issuer_id, day=today) if holdings else None
        for start in range(0, len(holdings), POST_CHUNK):
            chunk = holdings[start : start + POST_CHUNK]
            specs: list[EntrySpec] = [
                principal_owed_entry(
                    holding_id=h.pk,
                    currency=issue.currency,
                    amount_pence=h.outstanding_pence,
                    value_date=matures,
                    description=f"Principal repaid at maturity: holding {h.pk} in issue {issue.pk}",
                    idempotency_key=f"maturity:{issue.pk}:{h.pk}",
                )
                for h in chunk
            ]
            entries_post(issuer=issue.issuer_id, entries=specs)
            Payout.objects.bulk_create(
                [
                    Payout(
                        batch=batch,
                        holding=h,
                        holder_id=h.holder_id,
                        kind=PayoutKind.MATURITY,
                        amount_pence=h.outstanding_pence,
                        key=f"maturity:{issue.pk}:{h.pk}",
                    )
                    for h in chunk
                ]
            )
        total = sum(h.outstanding_pence for h in holdings)
        for h in holdings:
            h.redeemed_pence = h.principal_pence
            h.status = HoldingStatus.REDEEMED
        Holding.objects.bulk_update(holdings, ["redeemed_pence", "status"], batch_size=POST_CHUNK)
        Holding.objects.filter(issue=issue, status=HoldingStatus.ACTIVE).update(status=HoldingStatus.REDEEMED)
        issue.status = IssueStatus.REDEEMED
        issue.save(update_fields=["status"])
        audit_record(
            actor=actor,
            issuer=issue.issuer,
            action="issue.mature",
            obj=issue,
            data={"maturity_date": matures.isoformat(), "principal_pence": total, "holdings": len(holdings)},
        )
        return issue
