"""Keeping a refusal's deny decision, for the layers below the decision log.

The decision log and its `refusals_kept` live in `compliance`, above
`issuers` and `ledger` in the house (DESIGN.md §2), so a service down there
(a role grant refused for segregation of duties) cannot import it. Instead
`compliance` hands its `refusals_kept` to this module when the apps are ready
(`compliance.apps.ComplianceConfig.ready`), and the services below call it
through here: one mechanism still, the lower layers merely do not name it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from bondplatform.actors import Actor

Keeper = Callable[..., AbstractContextManager[None]]

_keeper: Keeper | None = None


def keeper_register(keeper: Keeper) -> None:
    """Called once by the app that keeps the decision log."""
    global _keeper  # one keeper per process, set at start-up
    _keeper = keeper


def refusals_kept(
    *, actor: Actor, issuer: Any, subject: Any = None, context: dict[str, Any] | None = None
) -> AbstractContextManager[None]:
    """`compliance.services.refusals_kept`: around a service's transaction, keep the deny
    decision of a `RuleViolation` raised inside, after the rollback."""
    if _keeper is None:
        raise ImproperlyConfigured("No decision log keeps refusals: is the compliance app installed?")
    return _keeper(actor=actor, issuer=issuer, subject=subject, context=context)
