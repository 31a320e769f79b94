"""Dissolution: an officer records that the issuer is being wound up.

From then on the asset lock (`compliance.asset_lock`, which reads
`Issuer.winding_up_on`) still lets the issuer pay its creditors (bondholders'
principal and interest, refunds, suppliers against invoices), and lets the
residual assets go only to another asset-locked body: no dividend, nothing
"other". An issuer without an asset lock is not restricted by it.

Recorded once and never cleared here: undoing a winding-up is a matter for a
court or the regulator, not a button. The date may lie in the past (the
resolution is usually recorded after the meeting that passed it), never in
the future.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from bondplatform.actors import Actor
from bondplatform.audit import audit_record
from bondplatform.errors import BadInput, InvalidState
from issuers import gates
from issuers.models import Issuer
from issuers.selectors import issuer_get


def winding_up_record(*, actor: Actor, issuer_id: int, date: dt.date, reason: str) -> Issuer:
    issuer = issuer_get(issuer_id)
    gates.require_officer(actor, issuer)
    reason = reason.strip()
    errors: dict[str, list[str]] = {}
    if date > timezone.localdate():
        errors["date"] = ["The day it was resolved or ordered: not in the future."]
    if not reason:
        errors["reason"] = ["Say why: the resolution, or the order, and its date."]
    if errors:
        raise BadInput(next(iter(errors.values()))[0], code="invalid", fields=errors)
    with transaction.atomic(durable=True):
        # The issuer's row: distributions judge under the same lock (compliance.distributions).
        issuer = Issuer.objects.select_for_update().get(pk=issuer.pk)
        if issuer.winding_up_on is not None:
            raise InvalidState(
                f"{issuer.name} is already being wound up (from {issuer.winding_up_on}).",
                code="already_winding_up",
                extra={"winding_up_on": issuer.winding_up_on.isoformat()},
            )
        issuer.winding_up_on = date
        issuer.winding_up_reason = reason
        issuer.save(update_fields=["winding_up_on", "winding_up_reason"])
        audit_record(
            actor=actor,
            issuer=issuer,
            action="issuer.winding_up",
            obj=issuer,
            data={"winding_up_on": date.isoformat(), "reason": reason},
        )
        return issuer
