"""Officers' pages to set an issuer up: draft issues and their terms, who holds its roles,
money paid out through the asset lock, and what an issue's money was used for.

Thin like `views_officer` (whose `_role_page` turns a gate's refusal into the 403 page and a
missing object into the 404 page): read through a gated selector, call the service the API
calls, and put its refusal on the page in words. A form that is wrong is shown again with
each message next to its field, answered with the refusal's status (400, 409, 422); what
worked redirects (a reload repeats nothing) with a message.
"""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from bondplatform.errors import Conflict, NotFound, NotPermitted, RuleViolation, ServiceError
from bondplatform.money import display_pounds
from bondplatform.templatetags.dates import day
from compliance import distributions as distribution_services
from investments import selectors
from investments.forms import DistributionForm, IssueTermsForm, RoleGrantForm, UseOfFundsForm
from investments.models import IssueStatus
from investments.selectors_accountability import uses_of_funds_of
from investments.services import issues as issue_services
from investments.services.accountability import SPENDING_KINDS, use_of_funds_report
from investments.views_officer import PAGE_SIZE, _role_page
from issuers import gates
from issuers import selectors as issuer_selectors
from issuers import services as issuer_services
from issuers.models import Role
from ledger import selectors as ledger_selectors

# --- draft issues ----------------------------------------------------------------------


@_role_page
@require_http_methods(["GET", "POST"])
def officer_issue_create(request, issuer_id: int):
    # The officer before the form: someone else is refused (403) whatever they sent.
    issuer = issuer_selectors.issuer_get_for_officer(issuer_id, actor=request.user)
    form = IssueTermsForm(request.POST if request.method == "POST" else None, issuer=issuer)
    status = 200
    if form.is_bound:
        status = 400
        if form.is_valid():
            try:
                issue = issue_services.issue_create(actor=request.user, issuer=issuer, **form.terms())
            except (NotPermitted, NotFound):
                raise
            except ServiceError as refusal:
                _refusal_onto(form, refusal)
                status = refusal.status_code
            else:
                messages.success(
                    request,
                    f"{issue.name} is saved as a draft: check its terms, then open it for subscriptions.",
                )
                return redirect("officer-issue", issue_id=issue.pk)
    return render(
        request,
        "investments/officer/issue_terms.html",
        {"issuer": issuer, "issue": None, "form": form},
        status=status,
    )


@_role_page
@require_http_methods(["GET", "POST"])
def officer_issue_terms(request, issue_id: int):
    issue = selectors.issue_get_for_officer(issue_id, actor=request.user)
    form = IssueTermsForm(
        request.POST if request.method == "POST" else None, issuer=issue.issuer, issue=issue
    )
    frozen = _frozen_because(issue) if issue.status != IssueStatus.DRAFT else None
    status = 409 if frozen and form.is_bound else 200
    if form.is_bound and not frozen:
        status = 400
        if form.is_valid():
            changes = form.changes()
            if not changes:
                messages.info(request, "Nothing changed: the terms are as they were.")
                return redirect("officer-issue", issue_id=issue.pk)
            try:
                updated = issue_services.issue_update_terms(actor=request.user, issue_id=issue.pk, **changes)
            except (NotPermitted, NotFound):
                raise
            except ServiceError as refusal:
                status = refusal.status_code
                if refusal.code == "terms_frozen":
                    issue = selectors.issue_get(issue.pk)
                    frozen = _frozen_because(issue)
                else:
                    _refusal_onto(form, refusal)
            else:
                messages.success(request, f"The terms of {updated.name} are saved.")
                return redirect("officer-issue", issue_id=issue.pk)
    return render(
        request,
        "investments/officer/issue_terms.html",
        {"issuer": issue.issuer, "issue": issue, "form": form, "frozen": frozen},
        status=status,
    )


def _frozen_because(issue) -> str:
    when = f" on {day(issue.opened_at)}" if issue.opened_at else ""
    return (
        f"The terms of {issue.name} are frozen: it opened for subscriptions{when} and is now "
        f"{issue.get_status_display().lower()}. Residents subscribe to the terms they read, so the "
        "terms cannot change once anyone could have read them."
    )


def _refusal_onto(form, refusal: ServiceError) -> None:
    """A service's refusal on the form: its field messages next to their fields, else its sentence."""
    if refusal.fields and hasattr(form, "add_refusal"):
        form.add_refusal(refusal.fields)
    elif refusal.fields:
        for name, errors in refusal.fields.items():
            for error in errors if isinstance(errors, list) else [errors]:
                form.add_error(name if name in form.fields else None, str(error))
    else:
        form.add_error(None, refusal.detail)


# --- roles -----------------------------------------------------------------------------


@_role_page
@require_http_methods(["GET", "POST"])
def officer_issuer_roles(request, issuer_id: int):
    issuer, grants = issuer_selectors.role_grants_of_issuer(issuer_id, actor=request.user)
    form = RoleGrantForm(request.POST if request.method == "POST" else None)
    status, refused = 200, None
    if form.is_bound:
        status = 400
        if form.is_valid():
            username, role = form.cleaned_data["username"], Role(form.cleaned_data["role"])
            try:
                grant = issuer_services.role_grant(
                    actor=request.user, issuer=issuer, username=username, role=role
                )
            except NotFound as refusal:
                # No such person is the form's mistake, not a missing page.
                if refusal.code != "user_not_found":
                    raise
                form.add_error("username", f"Nobody has registered as {username!r}: check the spelling.")
                status = 400
            except NotPermitted:
                raise
            except RuleViolation as refusal:
                refused = refusal.detail
                status = refusal.status_code
            except Conflict as refusal:
                form.add_error("username", refusal.detail)
                status = refusal.status_code
            else:
                messages.success(
                    request, f"{grant.user.username} is now {role.label.lower()} of {issuer.name}."
                )
                return redirect("officer-issuer-roles", issuer_id=issuer.pk)
    return render(
        request,
        "investments/officer/roles.html",
        {
            "issuer": issuer,
            "officers": [g for g in grants if g.role == Role.FINANCE_OFFICER],
            "auditors": [g for g in grants if g.role == Role.AUDITOR],
            "form": form,
            "refused": refused,
        },
        status=status,
    )


@_role_page
@require_POST
def officer_role_revoke(request, issuer_id: int, grant_id: int):
    issuer = issuer_selectors.issuer_get_for_officer(issuer_id, actor=request.user)
    try:
        grant = issuer_services.role_revoke(actor=request.user, grant_id=grant_id, issuer_id=issuer.pk)
    except (NotPermitted, NotFound):
        raise
    except ServiceError as refusal:
        messages.error(request, f"Not revoked: {refusal.detail}")
    else:
        messages.success(
            request,
            f"{grant.user.username} is no longer {Role(grant.role).label.lower()} of {issuer.name}.",
        )
    return redirect("officer-issuer-roles", issuer_id=issuer.pk)


# --- distributions through the asset lock ------------------------------------------------


@_role_page
@require_http_methods(["GET", "POST"])
def officer_distributions(request, issuer_id: int):
    """Officers and auditors read the list; officers pay through the form."""
    issuer = ledger_selectors.ledger_issuer_get(issuer_id, actor=request.user)
    may_act = gates.may_act_as_officer(request.user, issuer.pk)
    form: DistributionForm | None = None
    status, refusal_shown = 200, None
    if request.method == "POST":
        # The officer before the form: an auditor is refused (403) whatever they sent.
        issuer_selectors.issuer_get_for_officer(issuer_id, actor=request.user)
        form = DistributionForm(request.POST)
        status = 400
        if form.is_valid():
            data = dict(form.cleaned_data)
            token = data.pop("token")
            try:
                distribution, created = distribution_services.distribution_request(
                    actor=request.user,
                    issuer_id=issuer.pk,
                    amount_pence=data.pop("amount"),
                    # The form's token, per officer: the same form sent twice pays once.
                    idempotency_key=f"web:{request.user.pk}:{token}",
                    **data,
                )
            except (NotPermitted, NotFound):
                raise
            except RuleViolation as refusal:
                refusal_shown = {"detail": refusal.detail, "source": refusal.extra.get("source", "")}
                status = refusal.status_code
            except ServiceError as refusal:
                _refusal_onto(form, refusal)
                status = refusal.status_code
            else:
                what = "Paid" if created else "Already paid (the same form was sent twice)"
                messages.success(
                    request,
                    f"{what}: {display_pounds(distribution.amount_pence)} to {distribution.recipient_name}, "
                    f"entry {distribution.ledger_entry.sequence} of the ledger.",
                )
                return redirect("officer-distributions", issuer_id=issuer.pk)
    elif may_act:
        form = DistributionForm(initial={"token": secrets.token_urlsafe(24)})
    distributions = distribution_services.distributions_of(actor=request.user, issuer_id=issuer.pk)
    return render(
        request,
        "investments/officer/distributions.html",
        {
            "issuer": issuer,
            "may_act": may_act,
            "form": form,
            "refusal": refusal_shown,
            "page": Paginator(distributions, PAGE_SIZE).get_page(request.GET.get("page")),
            "query": "",
        },
        status=status,
    )


# --- uses of funds -----------------------------------------------------------------------


@_role_page
@require_http_methods(["GET", "POST"])
def officer_uses_of_funds(request, issue_id: int):
    """Officers and auditors read what the issue's money paid for; officers add to it."""
    issue = selectors.issue_get(issue_id)
    ledger_selectors.ledger_issuer_get(issue.issuer_id, actor=request.user)
    may_act = gates.may_act_as_officer(request.user, issue.issuer_id)
    form: UseOfFundsForm | None = None
    status, refused = 200, None
    if request.method == "POST":
        issue = selectors.issue_get_for_officer(issue_id, actor=request.user)
        form = UseOfFundsForm(request.POST, payments=_spending_choices(request.user, issue.issuer_id))
        status = 400
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                use = use_of_funds_report(
                    actor=request.user, issue_id=issue.pk, amount_pence=data.pop("amount"), **data
                )
            except (NotPermitted, NotFound):
                raise
            except ServiceError as refusal:
                status = refusal.status_code
                if refusal.fields:
                    _refusal_onto(form, refusal)
                else:
                    refused = refusal.detail
            else:
                messages.success(request, f"Reported: {display_pounds(use.amount_pence)} for {use.purpose}.")
                return redirect("officer-uses-of-funds", issue_id=issue.pk)
    elif may_act:
        form = UseOfFundsForm(payments=_spending_choices(request.user, issue.issuer_id))
    uses = list(uses_of_funds_of(issue))
    return render(
        request,
        "investments/officer/uses_of_funds.html",
        {
            "issue": issue,
            "may_act": may_act,
            "form": form,
            "refused": refused,
            "uses": uses,
            "total": sum(u.amount_pence for u in uses),
            "today": timezone.localdate(),
        },
        status=status,
    )


def _spending_choices(actor, issuer_id: int) -> list[tuple[int, str]]:
    """The issuer's payments that a use of funds can point at: for goods and services, or to
    another asset-locked body, by the sequence of their ledger entry."""
    paid = distribution_services.distributions_of(actor=actor, issuer_id=issuer_id).filter(
        kind__in=SPENDING_KINDS
    )
    return [
        (
            d.ledger_entry.sequence,
            f"Entry {d.ledger_entry.sequence}: {display_pounds(d.amount_pence)} to {d.recipient_name} "
            f"on {day(d.paid_on)}",
        )
        for d in paid
    ]
