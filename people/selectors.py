"""Reads for people: authenticators, tokens, and what a credential was verified with."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from people import keys
from people.models import AccountSecurity, AuthToken, Profile, TotpDevice


def confirmed_device(user: Any) -> TotpDevice | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return TotpDevice.objects.filter(user_id=user.pk, confirmed_at__isnull=False).first()


def two_factor_confirmed(user: Any) -> bool:
    """Whether the person has set up an authenticator (so every sign-in needs its code)."""
    return confirmed_device(user) is not None


def two_factor_verified(user: Any) -> bool:
    """Whether *this* sign-in (the session or token the request came with) gave a code
    from the person's current authenticator.

    The authentication layer says which authenticator a credential was verified
    with: `user.two_factor_device_id`, set by `people.authentication` for tokens
    and by `people.middleware` for web sessions. A user object from anywhere else
    (a test, a command) carries none, and so is not verified."""
    device = confirmed_device(user)
    return device is not None and getattr(user, "two_factor_device_id", None) == device.pk


def credentials_epoch(user: Any) -> int:
    epoch = (
        AccountSecurity.objects.filter(user_id=user.pk).values_list("credentials_epoch", flat=True).first()
    )
    return epoch or 0


def email_verified(user: Any) -> bool:
    """Whether the account's current e-mail address was proven by a signed link."""
    if not getattr(user, "is_authenticated", False) or not user.email:
        return False
    security = AccountSecurity.objects.filter(user_id=user.pk, email_verified_at__isnull=False).first()
    return security is not None and security.verified_email.lower() == user.email.lower()


def auth_token_for_key(key: str) -> AuthToken | None:
    """The live token with this key (expired ones are as good as absent)."""
    return (
        AuthToken.objects.select_related("user")
        .filter(digest=keys.digest(key), expires_at__gt=timezone.now())
        .first()
    )


def email_updates_wanted(user: Any) -> bool | None:
    """Whether a resident receives the non-essential e-mails about their bonds (None: not a resident)."""
    return Profile.objects.filter(user=user).values_list("email_updates", flat=True).first()
