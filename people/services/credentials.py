"""Ending the credentials that a change to how someone signs in must end.

Setting up, removing or resetting a second factor rotates credentials: every
API token but the one the change was made with is deleted, and every web
session signed in before the change is ended at its next request (its
`credentials_epoch` is behind; `people.middleware`). A password change
deletes every token (`people.passwords`); Django itself ends the other web
sessions then, since their stored password hash no longer matches.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F

from people.models import AccountSecurity, AuthToken
from people.services.tokens import auth_tokens_revoke_all


@transaction.atomic
def credentials_rotate(*, user: Any, keep_token: AuthToken | None = None) -> int:
    """Returns the new epoch, which the caller's own web session (if any) takes on."""
    auth_tokens_revoke_all(user=user, keep=keep_token)
    AccountSecurity.objects.get_or_create(user_id=user.pk)
    AccountSecurity.objects.filter(user_id=user.pk).update(credentials_epoch=F("credentials_epoch") + 1)
    return AccountSecurity.objects.values_list("credentials_epoch", flat=True).get(user_id=user.pk)
