"""Writing the decision log and the audit trail (always inside the caller's transaction)."""

from __future__ import annotations

from typing import Any

from django.db import models

from compliance.models import AuditEvent, Decision, Outcome


def _actor(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def decision_record(
    *,
    actor: Any,
    issuer: Any,
    rule: str,
    allowed: bool,
    reason: str,
    subject: models.Model | None = None,
    context: dict[str, Any] | None = None,
) -> Decision:
    return Decision.objects.create(
        actor=_actor(actor),
        issuer=issuer,
        rule=rule,
        outcome=Outcome.ALLOW if allowed else Outcome.DENY,
        reason=reason,
        subject_type=(subject._meta.model_name or "") if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
        context=context or {},
    )


def audit_record(
    *,
    actor: Any,
    issuer: Any,
    action: str,
    obj: models.Model,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=_actor(actor),
        issuer=issuer,
        action=action,
        object_type=obj._meta.model_name or "",
        object_id=str(obj.pk),
        data=data or {},
    )
