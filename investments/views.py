"""HTML pages for residents: thin, they call selectors and services and render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from bondplatform.errors import NotFound, NotPermitted, ServiceError
from investments import selectors, selectors_servicing
from investments.forms import (
    EmailUpdatesForm,
    PayoutAccountForm,
    PreferenceForm,
    RedemptionForm,
    SubscribeForm,
)
from investments.models import LIVE_SUBSCRIPTION_STATUSES, IssueStatus
from investments.selectors_updates import updates_of
from investments.services import holdings as holding_services
from investments.services import payouts as payout_services
from investments.services import redemptions as redemption_services
from investments.services import subscriptions as subscription_services
from people import selectors as people_selectors
from people.services import preferences as people_preferences

# Updates to bondholders shown at once on an offer's page.
UPDATES_SHOWN = 5


def home(request):
    return render(request, "investments/home.html", {"issues": selectors.issue_list(status=IssueStatus.OPEN)})


@require_http_methods(["GET", "POST"])
def issue_detail(request, issue_id: int):
    issue = _issue_or_404(issue_id)
    form = SubscribeForm(request.POST or None)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"/accounts/login/?next={request.path}")
        if form.is_valid():
            try:
                subscription, _ = subscription_services.subscription_create(
                    actor=request.user,
                    issue_id=issue.pk,
                    amount_pence=form.cleaned_data["amount"],
                    payment_method=form.cleaned_data["payment_method"],
                )
            except ServiceError as refusal:
                form.add_error(None, refusal.detail)
            else:
                messages.success(request, "Thank you: your subscription is reserved. Here is how to pay.")
                return redirect("subscription-detail", subscription_id=subscription.pk)
    return render(
        request,
        "investments/issue_detail.html",
        {
            "issue": issue,
            "form": form,
            "transparency": selectors.transparency_of(issue),
            "allowance": selectors.allowance_of(issue, request.user),
            # News from the project, newest first (`?updates=2`: older ones).
            "updates": Paginator(updates_of(issue.pk), UPDATES_SHOWN).get_page(request.GET.get("updates")),
        },
    )


@login_required
def subscription_detail(request, subscription_id: int):
    subscription = _own_subscription_or_404(request, subscription_id)
    return render(
        request,
        "investments/subscription_detail.html",
        {
            "subscription": subscription,
            "payment": subscription_services.payment_instructions(subscription),
            "live": subscription.status in LIVE_SUBSCRIPTION_STATUSES,
        },
    )


@login_required
@require_POST
def subscription_cancel(request, subscription_id: int):
    try:
        subscription_services.subscription_cancel(actor=request.user, subscription_id=subscription_id)
    except (NotFound, NotPermitted):
        # None, or someone else's: not found, as on the subscription's own page.
        raise Http404 from None
    except ServiceError as refusal:
        messages.error(request, refusal.detail)
    else:
        messages.success(request, "Your subscription is cancelled; anything you paid will be refunded.")
    return redirect("my-investments")


@login_required
def my_investments(request):
    return render(
        request,
        "investments/my_investments.html",
        {
            "subscriptions": selectors.subscriptions_of(request.user),
            "holdings": [
                (
                    view,
                    PreferenceForm(
                        initial={"preference": view.holding.interest_preference}, prefix=f"h{view.holding.pk}"
                    ),
                )
                for view in selectors_servicing.holdings_of_holder(request.user)
            ],
            "redemptions": selectors_servicing.redemption_requests_of_holder(request.user),
            "payout_account": selectors_servicing.payout_account_of(request.user),
            "statement_years": _tax_years_to_date(),
            "email_form": _email_updates_form(request.user),
        },
    )


def _email_updates_form(user) -> EmailUpdatesForm | None:
    wanted = people_selectors.email_updates_wanted(user)
    return None if wanted is None else EmailUpdatesForm(initial={"email_updates": "on" if wanted else "off"})


@login_required
@require_POST
def email_updates(request):
    form = EmailUpdatesForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Please choose which e-mails you would like.")
        return redirect("my-investments")
    try:
        people_preferences.email_updates_set(actor=request.user, receive=form.cleaned_data["email_updates"])
    except ServiceError as refusal:
        messages.error(request, refusal.detail)
    else:
        messages.success(
            request,
            "Saved: we will send you every update."
            if form.cleaned_data["email_updates"]
            else "Saved: we will send you only what you must know.",
        )
    return redirect("my-investments")


def _tax_years_to_date() -> list[int]:
    """The UK tax years (named by the year they start, 6 April) a statement may be asked for: the
    last three."""
    today = timezone.localdate()
    current = today.year if (today.month, today.day) >= (4, 6) else today.year - 1
    return [current, current - 1, current - 2]


@login_required
@require_POST
def holding_preference(request, holding_id: int):
    form = PreferenceForm(request.POST, prefix=f"h{holding_id}")
    if not form.is_valid():
        messages.error(request, "Please choose what to do with your interest.")
        return redirect("my-investments")
    try:
        holding_services.holding_preference_set(
            actor=request.user, holding_id=holding_id, preference=form.cleaned_data["preference"]
        )
    except (NotFound, NotPermitted):
        raise Http404 from None
    except ServiceError as refusal:
        messages.error(request, refusal.detail)
    else:
        messages.success(request, "Your interest preference is saved; it applies from the next payment.")
    return redirect("my-investments")


@login_required
@require_http_methods(["GET", "POST"])
def payout_account(request):
    current = selectors_servicing.payout_account_of(request.user)
    initial = {"account_name": current.account_name} if current else {}
    form = PayoutAccountForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            payout_services.payout_account_set(actor=request.user, **form.cleaned_data)
        except ServiceError as refusal:
            for field, problems in refusal.fields.items():
                form.add_error(field if field in form.fields else None, problems)
            if not refusal.fields:
                form.add_error(None, refusal.detail)
        else:
            messages.success(request, "Thank you: interest and repayments will go to this account.")
            return redirect("my-investments")
    return render(request, "investments/payout_account.html", {"form": form, "current": current})


@login_required
@require_http_methods(["GET", "POST"])
def holding_redeem(request, holding_id: int):
    view = next(
        (v for v in selectors_servicing.holdings_of_holder(request.user) if v.holding.pk == holding_id), None
    )
    if view is None:
        raise Http404
    form = RedemptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            redemption_services.redemption_request_create(
                actor=request.user, holding_id=holding_id, amount_pence=form.cleaned_data["amount"]
            )
        except (NotFound, NotPermitted):
            raise Http404 from None
        except ServiceError as refusal:
            form.add_error(None, refusal.detail)
        else:
            messages.success(
                request, "Your request is sent to the finance officers; we will e-mail you their decision."
            )
            return redirect("my-investments")
    return render(request, "investments/redeem.html", {"view": view, "form": form})


def _issue_or_404(issue_id: int):
    try:
        return selectors.issue_get_public(issue_id)
    except ServiceError:
        raise Http404 from None


def _own_subscription_or_404(request, subscription_id: int):
    try:
        return selectors.subscription_get_for(subscription_id, actor=request.user)
    except ServiceError:
        raise Http404 from None
