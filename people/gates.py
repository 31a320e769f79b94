"""Gates about the person acting, whatever they act on: signed in, staff, two-factor, e-mail.

The issuer gates (`issuers.gates`) build on these; people's own services call
them directly, since `people` sits below `issuers`. A gate returns nothing or
raises: 401 for nobody signed in, 403 for the wrong person. The `SYSTEM`
actor passes the staff and two-factor gates (it runs the service's own work).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from rest_framework.exceptions import NotAuthenticated

from bondplatform.actors import Actor, SystemActor, is_system
from bondplatform.errors import NotPermitted
from people import selectors


def is_staff(user: Actor) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.is_staff))


def require_signed_in(user: Actor) -> None:
    if not user.is_authenticated and not is_system(user):
        raise NotAuthenticated()


def require_person(actor: Actor) -> User:
    """A signed-in person (not the system): for what only a person can do, such as subscribing."""
    require_signed_in(actor)
    if isinstance(actor, SystemActor | AnonymousUser):
        raise NotPermitted("Only a signed-in person can do this.", code="person_only")
    return actor


def require_two_factor(user: Actor) -> None:
    """Once a person has an authenticator, whatever they do for an issuer or as staff needs
    a sign-in that gave its code: *this* session or token, not merely the account
    (`selectors.two_factor_verified`). Where the service requires it
    (TWO_FACTOR_REQUIRED), people without one must set it up first."""
    if is_system(user):
        return
    device = selectors.confirmed_device(user)
    if device is None:
        if settings.TWO_FACTOR_REQUIRED:
            raise NotPermitted(
                "Set up two-factor sign-in (me/two-factor/) before acting for an issuer or as staff.",
                code="two_factor_required",
            )
        return
    if getattr(user, "two_factor_device_id", None) != device.pk:
        raise NotPermitted(
            "Sign in again with the code from your authenticator app: this sign-in did not give one.",
            code="two_factor_required",
        )


def require_staff(user: Actor) -> None:
    require_signed_in(user)
    if is_system(user):
        return
    if not is_staff(user):
        raise NotPermitted("Only staff can do this.", code="staff_only")
    require_two_factor(user)


def require_email_verified(user: Actor) -> None:
    """Where EMAIL_VERIFICATION_REQUIRED, money moves only for people whose e-mail address
    was proven by a signed link (`people.services.registration`)."""
    require_signed_in(user)
    if is_system(user) or not settings.EMAIL_VERIFICATION_REQUIRED:
        return
    if not selectors.email_verified(user):
        raise NotPermitted(
            "Confirm your e-mail address first: follow the link we sent you "
            "(or ask for a new one: POST auth/verify-email/resend/).",
            code="email_not_verified",
        )
