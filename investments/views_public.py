"""Public pages of horizontal accountability: anyone can see what an issue's money did, and check it."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render

from bondplatform.errors import ServiceError
from investments import selectors
from investments.selectors_accountability import uses_of_funds_of
from ledger.signing import public_key_info


def issue_transparency(request, issue_id: int):
    try:
        issue = selectors.issue_get_public(issue_id)
    except ServiceError:
        raise Http404 from None
    figures = selectors.transparency_of(issue)
    raised, used = figures["raised_pence"], figures["uses_of_funds_total_pence"]
    return render(
        request,
        "investments/transparency.html",
        {
            "issue": issue,
            "figures": figures,
            "uses": list(uses_of_funds_of(issue)),
            "used_percent": round(100 * used / raised) if raised else None,
            "local_percent": (
                round(100 * figures["local_investor_share"])
                if figures["local_investor_share"] is not None
                else None
            ),
            "public_key": public_key_info(),
        },
    )
