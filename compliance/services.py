"""Writing the decision log, and keeping a refusal's decision when the refused action rolls back.

An allowed action records its allow decision inside its own transaction. A
refusal cannot: the transaction it would be written in rolls back. So every
service that applies a rule wraps its transaction in `refusals_kept`, which
writes the deny decision of a refusal raised inside it, in a transaction of
its own after the rollback, and then lets the error go on to the caller (a
422 at the API). One mechanism, so no refusal is logged "its own way" or
lost with the rollback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.db import models, transaction

from bondplatform.actors import Actor, person_or_none, system_name
from bondplatform.errors import RuleViolation, ServiceError
from compliance.models import Decision, Outcome


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


@contextlib.contextmanager
def refusals_kept(
    *,
    actor: Actor,
    issuer: Any,
    subject: models.Model | None = None,
    context: dict[str, Any] | None = None,
    refusals: tuple[type[ServiceError], ...] = (RuleViolation,),
) -> Iterator[None]:
    """Around a service's transaction: keep the deny decision of a refusal raised inside.

    Records `refusals` (rule violations; a service may add others, such as
    "not open", that it also treats as rule decisions) under the error's
    `rule`, with the error's machine-readable facts added to `context`. Must
    sit outside the transaction it guards, so that the decision is written
    after that transaction has rolled back.
    """
    try:
        yield
    except refusals as error:
        if not error.deny_recorded:
            with transaction.atomic():
                decision_record(
                    actor=actor,
                    issuer=issuer,
                    rule=error.rule,
                    allowed=False,
                    reason=error.detail,
                    subject=subject,
                    context={**(context or {}), **error.extra},
                )
            error.deny_recorded = True
        raise
