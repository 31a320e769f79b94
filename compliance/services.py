"""Writing the decision log, and keeping a refusal's decision when the refused action rolls back.

An allowed action records its allow decision inside its own transaction.
A refusal cannot: the transaction it would be written in rolls back. So a
rule refuses by raising `refusal(...)`, a `RuleViolation` carrying the facts
of its deny decision, and the service is wrapped in `refusals_kept`, which
writes that decision in a transaction of its own after the rollback and then
lets the error go on to the caller (a 422 at the API).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from django.db import models, transaction

from bondplatform.actors import Actor, person_or_none, system_name
from bondplatform.errors import RuleViolation
from compliance.models import Decision, Outcome

P = ParamSpec("P")
R = TypeVar("R")


def decision_record(
    *,
    actor: Actor,
    issuer: Any,
    rule: str,
    allowed: bool,
    reason: str,
    subject: models.Model | None = None,
    context: dict[str, Any] | None = None,
) -> Decision:
    return Decision.objects.create(
        actor=person_or_none(actor),
        system_actor=system_name(actor),
        issuer=issuer,
        rule=rule,
        outcome=Outcome.ALLOW if allowed else Outcome.DENY,
        reason=reason,
        subject_type=(subject._meta.model_name or "") if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
        context=context or {},
    )


@dataclass(frozen=True)
class DenyFacts:
    """What a deny decision records, carried by the refusal until it can be written."""

    actor: Actor
    issuer: Any
    rule: str
    subject: models.Model | None = None
    context: dict[str, Any] = field(default_factory=dict)


def refusal(
    reason: str,
    *,
    code: str,
    actor: Actor,
    issuer: Any,
    rule: str | None = None,
    subject: models.Model | None = None,
    context: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> RuleViolation:
    """A 422 refusal whose deny decision `refusals_kept` will record after the rollback.

    `rule` defaults to the error code; `context` holds the figures the rule
    used (kept in the decision), `extra` what the error body shows the caller.
    """
    error = RuleViolation(reason, code=code, extra=extra)
    error.deny = DenyFacts(
        actor=actor, issuer=issuer, rule=rule or code, subject=subject, context=dict(context or extra or {})
    )
    return error


def deny_record(error: RuleViolation) -> Decision | None:
    """Write the deny decision a refusal carries (once), in a transaction of its own."""
    facts = error.deny
    if not isinstance(facts, DenyFacts) or error.deny_recorded:
        return None
    with transaction.atomic():
        decision = decision_record(
            actor=facts.actor,
            issuer=facts.issuer,
            rule=facts.rule,
            allowed=False,
            reason=error.detail,
            subject=facts.subject if facts.subject is not None and facts.subject.pk else None,
            context=facts.context,
        )
    error.deny_recorded = True
    return decision


def refusals_kept(service: Callable[P, R]) -> Callable[P, R]:
    """Decorate a service so that the deny decision of any refusal it raises survives its rollback."""

    @functools.wraps(service)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return service(*args, **kwargs)
        except RuleViolation as error:
            deny_record(error)
            raise

    return run
