"""Public pages of horizontal accountability: anyone can see what an issue's money did, who
took part in the issuer's offers (never a group of fewer than 5), and check it."""

from __future__ import annotations

from fractions import Fraction

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from bondplatform.errors import ServiceError
from investments import selectors
from investments.selectors_accountability import (
    issues_counted_in_participation,
    participation_of,
    uses_of_funds_of,
)
from issuers.selectors import issuer_get
from ledger.signing import public_key_info


def _percent(share: Fraction | float | None) -> int | None:
    """A share as a whole percentage (half to even), or None where the figure is withheld."""
    return None if share is None else round(100 * Fraction(share))


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
            "local_percent": _percent(figures["local_investor_share"]),
            "public_key": public_key_info(),
        },
    )


def issuer_participation(request, issuer_id: int):
    try:
        issuer = issuer_get(issuer_id)
    except ServiceError:
        raise Http404 from None
    audit = participation_of(issuer)
    counted = audit["investor_count"]
    sizes = audit["subscription_sizes"]
    first_time = audit["first_time_investors"]
    return render(
        request,
        "investments/participation.html",
        {
            "issuer": issuer,
            "audit": audit,
            "issues": list(issues_counted_in_participation(issuer)),
            "districts": [
                {"name": name, "investors": n, "percent": _percent(Fraction(n, counted)) if counted else None}
                for name, n in audit["districts"]
            ],
            "quartiles": [
                ("A quarter put in less than", sizes["lower_quartile_pence"]),
                ("Half put in less than (the median)", sizes["median_pence"]),
                ("Three quarters put in less than", sizes["upper_quartile_pence"]),
            ]
            if sizes["median_pence"] is not None
            else [],
            "under_500_percent": _percent(sizes["share_under_500"]),
            "first_time_percent": _percent(Fraction(first_time, counted))
            if first_time is not None and counted
            else None,
            "local_percent": _percent(audit["local_share"]),
            "today": timezone.localdate(),
        },
    )
