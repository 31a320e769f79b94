"""Reads for a bond's life after allotment: runs, holdings as their holder sees them, payouts."""

from __future__ import annotations

from typing import Any

from bondplatform.errors import NotFound
from investments.models import InterestRun
from issuers import gates


def interest_run_get_for(viewer: Any, run_id: int) -> InterestRun:
    """A run, for the officers and auditors of its issuer (and staff)."""
    run = InterestRun.objects.select_related("issue").filter(pk=run_id).first()
    if run is None:
        gates.require_signed_in(viewer)
        raise NotFound("No such interest run.", code="interest_run_not_found")
    gates.require_ledger_reader(viewer, run.issue.issuer_id)
    return run
