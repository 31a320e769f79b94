"""HTML pages for the people who run and check an issue: finance officers and auditors.

Thin like the residents' pages: read through a selector or act through a service
(each checks its own gate), validate a form, then redirect (so a reload repeats
nothing) with what happened as a message. `gates.may_act_as_officer` only decides
which buttons to show. (The payment pages still check their gate here first; they
change with the payments package.)

Who gets what, everywhere on these pages:
- nobody signed in: redirected to the sign-in page;
- signed in but refused by a gate (not an officer or auditor of this issuer, or
  two-factor sign-in still to set up): 403, with the gate's sentence;
- a refusal by a service (a wrong reference, a transition the status does not
  allow): a message on the page, never an error page.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import asdict
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bondplatform.errors import NotFound, NotPermitted, ServiceError
from bondplatform.money import display_pounds, format_pence
from compliance import selectors as compliance_selectors
from investments import selectors, selectors_servicing
from investments.forms import (
    AllotForm,
    BankStatementForm,
    BondholderUpdateForm,
    InterestRunForm,
    RecordPaymentForm,
    RedemptionDecisionForm,
    SubscriptionFilterForm,
)
from investments.models import BondIssue, IssueStatus, SubscriptionStatus
from investments.payments import bank_statements, receipts, refunds
from investments.services import interest_runs as interest_run_services
from investments.services import issues as issue_services
from investments.services import payouts as payout_services
from investments.services import redemptions as redemption_services
from issuers import gates
from issuers import selectors as issuer_selectors
from ledger import selectors as ledger_selectors
from ledger.verify import ledger_verify

# The transitions an officer can ask for from each status, in the order the
# buttons appear; the services check the status again under the issue's lock.
ACTIONS_BY_STATUS: dict[str, tuple[str, ...]] = {
    IssueStatus.DRAFT: ("open",),
    IssueStatus.OPEN: ("close", "withdraw"),
    IssueStatus.CLOSED: ("allot",),
}
ACTION_LABELS = {
    "open": "Open for subscriptions",
    "close": "Close the offer",
    "withdraw": "Withdraw the offer (refund everyone)",
    "allot": "Allot the bonds",
}
DECISIONS_SHOWN = 100
# Rows a page in the officers' long lists.
PAGE_SIZE = 50


def _role_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Sign-in first, then a gate's refusal is a 403 page and a missing object a 404."""

    @wraps(view)
    @login_required
    def wrapped(request, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotPermitted as refusal:
            return render(
                request, "investments/officer/forbidden.html", {"detail": refusal.detail}, status=403
            )
        except NotFound:
            raise Http404 from None

    return wrapped


@_role_page
@require_GET
def officer_home(request):
    return render(request, "investments/officer/home.html", {"desks": selectors.desks_of(actor=request.user)})


@_role_page
@require_GET
def officer_issue(request, issue_id: int):
    issue = selectors.issue_get(issue_id)
    filters = SubscriptionFilterForm(request.GET)
    wanted = filters.cleaned_data if filters.is_valid() else {}
    # The subscriptions name residents: the register's readers only (the selector checks).
    subscriptions = selectors.subscriptions_of_issue(
        issue, actor=request.user, status=wanted.get("status"), search=wanted.get("search")
    )
    page = Paginator(subscriptions, PAGE_SIZE).get_page(request.GET.get("page"))
    may_act = gates.may_act_as_officer(request.user, issue.issuer_id)
    return render(
        request,
        "investments/officer/issue.html",
        {
            "issue": issue,
            "may_act": may_act,
            "actions": [
                {"name": a, "label": ACTION_LABELS[a], "url": reverse(f"officer-issue-{a}", args=[issue.pk])}
                for a in (ACTIONS_BY_STATUS.get(issue.status, ()) if may_act else ())
            ],
            "allot_form": AllotForm(),
            "filters": filters,
            "page": page,
            "query": urlencode([(k, v) for k, v in request.GET.items() if k != "page" and v]),
            "rows": [(s, _payment_form(s) if may_act else None) for s in page],
            "refunds": selectors.refunds_pending_of(issue, actor=request.user),
            "coupon_dates": selectors_servicing.coupon_dates_of(issue),
            "interest_run_form": InterestRunForm(),
            "redemptions": selectors_servicing.redemption_requests_of_issue(issue, actor=request.user),
            "decision_form": RedemptionDecisionForm(),
            "update_form": BondholderUpdateForm() if may_act and issue.status != IssueStatus.DRAFT else None,
        },
    )


def _payment_form(subscription) -> RecordPaymentForm | None:
    """A fresh form (and so a fresh token) for each pending subscription, prefilled with what is due."""
    if subscription.status != SubscriptionStatus.PENDING_PAYMENT:
        return None
    return RecordPaymentForm(
        prefix=f"pay-{subscription.pk}",
        initial={
            "amount": format_pence(subscription.amount_pence - subscription.received_pence),
            "reference": subscription.reference,
            "received_on": timezone.localdate(),
            "token": secrets.token_urlsafe(24),
        },
    )


@_role_page
@require_POST
def officer_issue_action(request, issue_id: int, action: str):
    # The officer before the form: someone else is refused (403) whatever they sent.
    issue = selectors.issue_get_for_officer(issue_id, actor=request.user)
    try:
        if action == "allot":
            form = AllotForm(request.POST)
            if not form.is_valid():
                messages.error(request, f"Not allotted: {_first_error(form)}")
                return redirect("officer-issue", issue_id=issue.pk)
            updated = issue_services.issue_allot(
                actor=request.user, issue_id=issue.pk, allotted_on=form.cleaned_data["allotted_on"]
            )
        else:
            updated = _TRANSITIONS[action](actor=request.user, issue_id=issue.pk)
    except ServiceError as refusal:
        messages.error(request, refusal.detail)
    else:
        messages.success(request, f"{updated.name} is now {updated.get_status_display().lower()}.")
    return redirect("officer-issue", issue_id=issue.pk)


_TRANSITIONS: dict[str, Callable[..., BondIssue]] = {
    "open": issue_services.issue_open,
    "close": issue_services.issue_close,
    "withdraw": issue_services.issue_withdraw,
}


@_role_page
@require_POST
def officer_record_payment(request, subscription_id: int):
    subscription = selectors.subscription_get_for_officer(subscription_id, actor=request.user)
    form = RecordPaymentForm(request.POST, prefix=f"pay-{subscription.pk}")
    if not form.is_valid():
        messages.error(request, f"Payment for {subscription.reference} not recorded: {_first_error(form)}")
        return redirect("officer-issue", issue_id=subscription.issue_id)
    data = form.cleaned_data
    try:
        receipt = receipts.receipt_record(
            actor=request.user,
            subscription_id=subscription.pk,
            amount_pence=data["amount"],
            reference=data["reference"],
            received_on=data["received_on"],
            # The form's token, per officer: the same form sent twice is one receipt.
            idempotency_key=f"web:{request.user.pk}:{data['token']}",
        )
    except ServiceError as refusal:
        messages.error(request, f"Payment for {subscription.reference} not recorded: {refusal.detail}")
    else:
        fresh = selectors.subscription_get(receipt.subscription_id)
        owed = fresh.amount_pence - fresh.received_pence
        outstanding = f"{display_pounds(owed)} is still to pay." if owed > 0 else "Paid in full."
        messages.success(request, f"Recorded the payment for {fresh.reference}: {outstanding}")
    return redirect("officer-issue", issue_id=subscription.issue_id)


@_role_page
@require_POST
def officer_refund_sent(request, refund_id: int):
    refund = selectors.refund_get_for_officer(refund_id, actor=request.user)
    issue = refund.subscription.issue
    try:
        refunds.refund_mark_sent(actor=request.user, refund_id=refund.pk)
    except ServiceError as refusal:
        messages.error(request, refusal.detail)
    else:
        messages.success(request, f"Refund {refund.pk} to {refund.subscription.reference} is marked sent.")
    return redirect("officer-issue", issue_id=issue.pk)


@_role_page
@require_http_methods(["GET", "POST"])
def officer_bank_statement(request, issuer_id: int):
    issuer = issuer_selectors.issuer_get_for_officer(issuer_id, actor=request.user)
    form = BankStatementForm(request.POST, request.FILES) if request.method == "POST" else BankStatementForm()
    report = None
    if form.is_bound and form.is_valid():
        try:
            imported = bank_statements.bank_statement_import(
                actor=request.user, issuer_id=issuer.pk, content=form.cleaned_data["file"].read()
            )
        except ServiceError as refusal:
            messages.error(request, refusal.detail)
        else:
            report = _report_for_page(imported)
            form = BankStatementForm()
    return render(
        request, "investments/officer/bank_statement.html", {"issuer": issuer, "form": form, "report": report}
    )


def _report_for_page(report: bank_statements.StatementReport) -> dict[str, Any]:
    """The import report as plain data for the template (which formats pence with `money`)."""
    return {
        "lines": report.lines,
        "matched": [asdict(line) for line in report.matched],
        "unmatched": [asdict(line) for line in report.unmatched],
        "skipped": [asdict(line) for line in report.skipped],
        "errors": [asdict(line) for line in report.errors],
        "recorded_count": report.recorded_count,
        "hand_recorded_count": report.hand_recorded_count,
        "matched_pence": report.matched_pence,
        "recorded_pence": report.recorded_pence,
        "unmatched_pence": report.unmatched_pence,
    }


@_role_page
@require_GET
def officer_register(request, issue_id: int):
    issue = selectors.issue_get(issue_id)
    return render(
        request,
        "investments/officer/register.html",
        {"issue": issue, "holdings": list(selectors.register_of(issue, actor=request.user))},
    )


@_role_page
@require_GET
def auditor_issuer(request, issuer_id: int):
    issuer = ledger_selectors.ledger_issuer_get(issuer_id, actor=request.user)
    balance = ledger_selectors.trial_balance(issuer=issuer)
    return render(
        request,
        "investments/officer/auditor.html",
        {
            "issuer": issuer,
            "verification": ledger_verify(issuer),
            "balance": balance,
            "balance_totals": sorted(balance.totals.items()),
            "decisions": list(
                compliance_selectors.decision_list(actor=request.user, issuer_id=issuer.pk)[:DECISIONS_SHOWN]
            ),
            "decisions_shown": DECISIONS_SHOWN,
        },
    )


def _first_error(form) -> str:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else None
        return f"{label or field.replace('_', ' ')}: {errors[0]}" if field != "__all__" else errors[0]
    return "the form is not valid."


@_role_page
@require_POST
def officer_interest_run_request(request, issue_id: int):
    issue = selectors.issue_get_for_officer(issue_id, actor=request.user)
    form = InterestRunForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"No interest run: {_first_error(form)}")
        return redirect("officer-issue", issue_id=issue.pk)
    try:
        run, _ = interest_run_services.interest_run_request(
            actor=request.user, issue_id=issue.pk, period_end=form.cleaned_data["period_end"]
        )
    except ServiceError as refusal:
        messages.error(request, f"No interest run: {refusal.detail}")
        return redirect("officer-issue", issue_id=issue.pk)
    return redirect("officer-interest-run", run_id=run.pk)


@_role_page
@require_GET
def officer_interest_run(request, run_id: int):
    """The run's progress: a <progress> the page's script refreshes from the API, and a plain
    link that reloads the page for anyone without JavaScript."""
    run = selectors_servicing.interest_run_get_for(request.user, run_id)
    return render(request, "investments/officer/interest_run.html", {"run": run, "issue": run.issue})


@_role_page
@require_POST
def officer_redemption_decide(request, request_id: int):
    form = RedemptionDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"No decision recorded: {_first_error(form)}")
        return redirect("officer-home")
    decide = (
        redemption_services.redemption_approve
        if form.cleaned_data["decision"] == "approve"
        else redemption_services.redemption_decline
    )
    try:
        decided = decide(actor=request.user, request_id=request_id, reason=form.cleaned_data["reason"])
    except (NotPermitted, NotFound):
        raise
    except ServiceError as refusal:
        messages.error(request, refusal.detail)
        return redirect("officer-home")
    messages.success(request, f"Request {decided.pk} is {decided.get_status_display().lower()}.")
    return redirect("officer-issue", issue_id=decided.holding.issue_id)


@_role_page
@require_GET
def officer_payout_batches(request, issuer_id: int):
    issuer = issuer_selectors.issuer_get_for_officer(issuer_id, actor=request.user)
    batches = selectors_servicing.payout_batches_of(request.user, issuer_id=issuer.pk)
    page = Paginator(batches, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "investments/officer/payout_batches.html", {"issuer": issuer, "page": page})


@_role_page
@require_POST
def officer_payout_batch_sent(request, batch_id: int):
    batch = payout_services.payout_batch_get_for_officer(request.user, batch_id)
    try:
        payout_services.payout_batch_mark_sent(actor=request.user, batch_id=batch.pk)
    except (NotPermitted, NotFound):
        raise
    except ServiceError as refusal:
        messages.error(request, refusal.detail)
    else:
        messages.success(request, f"Batch {batch.pk} is marked sent: the money has left the bank account.")
    return redirect("officer-payout-batches", issuer_id=batch.issuer_id)
