"""Pages for updates to bondholders: an officer posts one; anyone sees its photo.

The offer's public page lists the updates (`views.issue_detail`), and the officer's
page of an issue carries the form (`views_officer.officer_issue`), which posts here.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from bondplatform.errors import NotFound, NotPermitted, ServiceError
from investments import selectors
from investments.forms import BondholderUpdateForm
from investments.selectors_updates import update_photo_get_public
from investments.services.updates import bondholder_update_post
from investments.views_officer import _role_page

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


@_role_page
@require_http_methods(["GET", "POST"])
def officer_update_post(request, issue_id: int):
    # Who asks before what they send: 404, then 403, before the form (and its photo) is read.
    issue = selectors.issue_get_for_officer(issue_id, actor=request.user)
    form = BondholderUpdateForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            update = bondholder_update_post(
                actor=request.user,
                issue_id=issue.pk,
                title=data["title"],
                body=data["body"],
                photo=data["photo"].read() if data["photo"] else None,
                photo_alt=data["photo_alt"],
                published_on=data["published_on"],
            )
        except (NotFound, NotPermitted):
            raise
        except ServiceError as refusal:
            for field, problems in refusal.fields.items():
                form.add_error(field if field in form.fields else None, problems)
            if not refusal.fields:
                form.add_error(None, refusal.detail)
        else:
            messages.success(
                request, "Your update is posted on the offer's page and is on its way to the bondholders."
            )
            return redirect(reverse("issue-page", args=[issue.pk]) + f"#update-{update.pk}")
    return render(request, "investments/officer/update_form.html", {"issue": issue, "form": form})


@require_GET
def bondholder_update_photo(request, update_id: int):
    """The photo, exactly as the service re-encoded it, as an image and nothing else."""
    try:
        update, content = update_photo_get_public(update_id)
    except ServiceError:
        raise Http404 from None
    response = HttpResponse(content, content_type=update.photo_content_type)
    response["Content-Disposition"] = (
        f'inline; filename="update-{update.pk}.{EXTENSIONS[update.photo_content_type]}"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Opened on its own, it may run nothing and load nothing (the page's policy is for pages).
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
