"""What a password change ends: every API token of the person.

`EndTokensOnPasswordChange` is listed among AUTH_PASSWORD_VALIDATORS but judges
no password: Django calls `password_changed` on each validator whenever a
password is saved (`set_password` then `save`), which makes it the one hook that
sees every change: the API, the web page, the admin, `manage.py changepassword`,
a password reset. Web sessions need nothing here: Django ends every session
whose stored password hash no longer matches (keeping the one that made the
change, through `update_session_auth_hash`).
"""

from __future__ import annotations

from typing import Any

from people.services.tokens import auth_tokens_revoke_all


class EndTokensOnPasswordChange:
    def validate(self, password: str, user: Any = None) -> None:
        return None

    def password_changed(self, password: str, user: Any = None) -> None:
        if user is not None and user.pk is not None:
            auth_tokens_revoke_all(user=user)

    def get_help_text(self) -> str:
        return "Changing your password signs you out of the apps that use it (their API tokens end)."
