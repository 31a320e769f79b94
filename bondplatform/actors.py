"""Who acts: a signed-in person, or the service itself.

Every service takes a keyword-only `actor`. Tasks, commands and the
scheduler pass `SYSTEM`, a named actor that the audit trail and the decision
log record as such; there is no anonymous "None" actor that skips a check.
A person is a Django user; gates decide what each may do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


@dataclass(frozen=True)
class SystemActor:
    """The service acting on its own (a scheduled task, a command, a webhook)."""

    name: str = "system"

    # Duck-typed like a user where the gates look, so that a SystemActor is
    # never mistaken for a signed-in person or staff.
    is_authenticated = False
    is_staff = False
    is_superuser = False
    pk = None

    def __str__(self) -> str:
        return self.name


SYSTEM = SystemActor()

Actor: TypeAlias = "User | AnonymousUser | SystemActor"


def is_system(actor: object) -> bool:
    return isinstance(actor, SystemActor)


def person_or_none(actor: object):
    """The user to store in an `actor` foreign key: None for SYSTEM and anonymous callers."""
    return actor if getattr(actor, "is_authenticated", False) else None


def system_name(actor: object) -> str:
    """What to store beside it: the system actor's name, or "" for a person."""
    return actor.name if isinstance(actor, SystemActor) else ""
