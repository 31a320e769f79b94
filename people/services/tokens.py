"""API tokens: one per sign-in, expiring after TOKEN_TTL seconds, revocable one by one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bondplatform.actors import Actor
from bondplatform.errors import NotPermitted
from people import keys
from people.models import AuthToken, TotpDevice


@transaction.atomic
def auth_token_create(*, user: Any, verified_device: TotpDevice | None) -> tuple[AuthToken, str]:
    """A new token for a checked sign-in (`sign_in.sign_in_check`). Returns the row and the key,
    which exists only in this answer: the database keeps its digest."""
    now = timezone.now()
    AuthToken.objects.filter(user=user, expires_at__lte=now).delete()  # tidy as we go
    key = keys.new_token_key()
    token = AuthToken.objects.create(
        user=user,
        digest=keys.digest(key),
        verified_device=verified_device,
        expires_at=now + timedelta(seconds=settings.TOKEN_TTL),
    )
    return token, key


def auth_token_revoke(*, actor: Actor, token: AuthToken) -> None:
    """Sign out: the token stops working at once."""
    if token.user_id != actor.pk:
        raise NotPermitted("This token belongs to someone else.", code="not_yours")
    token.delete()


def auth_tokens_revoke_all(*, user: Any, keep: AuthToken | None = None) -> int:
    """Every token of this person but `keep` (the one the change was made with)."""
    tokens = AuthToken.objects.filter(user_id=user.pk)
    if keep is not None:
        tokens = tokens.exclude(pk=keep.pk)
    deleted, _ = tokens.delete()
    return deleted
