"""The auditors' page of large PDF statements: ask for one, watch it being made, download it.

Thin like the other officer pages (`views_officer`): the services in
`ledger.statement_jobs` check who may; the form posts here and the page
redirects back, and reloads itself every few seconds while a statement is
being made, so the progress moves without any script.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from bondplatform.errors import NotPermitted, ServiceError
from investments.views_officer import _role_page
from ledger.models import StatementJobStatus
from ledger.statement_jobs import statement_job_create, statement_job_progress, statement_jobs_of

# Seconds between reloads while a statement is being made.
REFRESH_SECONDS = 3


class StatementJobForm(forms.Form):
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="to", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("The period ends before it starts.")
        return data


@_role_page
@require_http_methods(["GET", "POST"])
def auditor_statement_jobs(request, issuer_id: int):
    # The reader before the form: someone else is refused (403) whatever they sent.
    jobs = statement_jobs_of(actor=request.user, issuer_id=issuer_id)
    if request.method == "POST":
        form = StatementJobForm(request.POST)
        if not form.is_valid():
            messages.error(request, "; ".join(str(e) for errors in form.errors.values() for e in errors))
        else:
            try:
                job = statement_job_create(
                    actor=request.user,
                    issuer_id=issuer_id,
                    date_from=form.cleaned_data["date_from"],
                    date_to=form.cleaned_data["date_to"],
                )
            except NotPermitted:
                raise
            except ServiceError as refusal:
                messages.error(request, refusal.detail)
            else:
                messages.success(request, f"Statement {job.pk} is being made; this page shows its progress.")
        return redirect("auditor-statement-jobs", issuer_id=issuer_id)
    unfinished = any(j.status in (StatementJobStatus.QUEUED, StatementJobStatus.RUNNING) for j in jobs)
    return render(
        request,
        "investments/officer/statement_jobs.html",
        {
            "issuer_id": issuer_id,
            "form": StatementJobForm(),
            "rows": [(job, statement_job_progress(job)) for job in jobs],
            "refresh_seconds": REFRESH_SECONDS if unfinished else None,
        },
    )
