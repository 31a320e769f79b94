"""HTML pages for residents: thin, they call selectors and services and render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from bondplatform.errors import NotFound, NotPermitted, ServiceError
from investments import selectors
from investments.forms import SubscribeForm
from investments.models import LIVE_SUBSCRIPTION_STATUSES, IssueStatus
from investments.services import subscriptions as subscription_services


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
            "holdings": selectors.holdings_of(request.user),
        },
    )


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
