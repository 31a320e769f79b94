"""The auditors' pages (also open to the issuer's officers and to staff): read-only.

The ledger browser and the decision log, each filtered by a GET form and paginated.
Each page lets the reader in through the gated selector first (404 for no such
issuer, 403 for anyone who may not read its books), then reads; a filter that does
not make sense is shown beside its field, with no rows, never a 500.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from compliance import selectors as compliance_selectors
from investments import selectors
from investments.forms import DecisionFilterForm, LedgerFilterForm
from investments.selectors_accountability import decision_subjects_of_issue
from investments.views_officer import _role_page
from ledger import selectors as ledger_selectors

# Entries and decisions a page.
PAGE_SIZE = 50
# Characters of a hash shown in a table (the full value is beside it, to copy).
HASH_SHOWN = 12


def _query_without_page(request) -> str:
    """The filters, to carry from page to page."""
    return urlencode([(k, v) for k, v in request.GET.items() if k != "page" and v])


def _filter_form(form_class, request, **choices: Any):
    """A bound form when the reader filtered (so errors show beside fields), else a blank one."""
    filtering = any(value for key, value in request.GET.items() if key != "page")
    return form_class(request.GET if filtering else None, **choices)


@_role_page
@require_GET
def auditor_ledger(request, issuer_id: int):
    issuer = ledger_selectors.ledger_issuer_get(issuer_id, actor=request.user)
    issues = list(selectors.issues_of_issuer(issuer.pk))
    account_codes = [row.account for row in ledger_selectors.account_balances(issuer=issuer)]
    form = _filter_form(LedgerFilterForm, request, issues=issues, account_codes=sorted(set(account_codes)))
    page = None
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        codes: list[str] | None = None
        if data.get("issue"):
            codes = selectors.issue_ledger_accounts(data["issue"])
        if data.get("account"):
            codes = [data["account"]] if codes is None else [c for c in codes if c == data["account"]]
        entries = ledger_selectors.entry_list(
            issuer=issuer,
            account_codes=codes,
            since=data.get("date_from"),
            until=data.get("date_to"),
            kinds=[data["kind"]] if data.get("kind") else None,
        )
        page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "investments/officer/ledger.html",
        {
            "issuer": issuer,
            "form": form,
            "page": page,
            "query": _query_without_page(request),
            "hash_shown": HASH_SHOWN,
        },
    )


@_role_page
@require_GET
def auditor_decisions(request, issuer_id: int):
    issuer = ledger_selectors.ledger_issuer_get(issuer_id, actor=request.user)
    every = compliance_selectors.decision_list(actor=request.user, issuer_id=issuer.pk)
    rules = sorted(set(every.order_by().values_list("rule", flat=True)))
    issues = list(selectors.issues_of_issuer(issuer.pk))
    form = _filter_form(DecisionFilterForm, request, issues=issues, rules=rules)
    page = None
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        decisions = compliance_selectors.decision_list(
            actor=request.user,
            issuer_id=issuer.pk,
            rule=data.get("rule") or None,
            outcome=data.get("outcome") or None,
            since=data.get("date_from"),
            until=data.get("date_to"),
            subjects=decision_subjects_of_issue(data["issue"]) if data.get("issue") else None,
        )
        page = Paginator(decisions, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "investments/officer/decisions.html",
        {
            "issuer": issuer,
            "form": form,
            "page": page,
            "query": _query_without_page(request),
        },
    )
