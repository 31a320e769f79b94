"""Writing the audit trail (always inside the caller's transaction)."""

from __future__ import annotations

from typing import Any

from django.db import models

from bondplatform.actors import Actor, person_or_none, system_name
from bondplatform.models import AuditEvent


def audit_record(
    *,
    actor: Actor,
    issuer: Any,
    action: str,
    obj: models.Model,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=person_or_none(actor),
        system_actor=system_name(actor),
        issuer=issuer,
        action=action,
        object_type=obj._meta.model_name or "",
        object_id=str(obj.pk),
        data=data or {},
    )
