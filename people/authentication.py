"""API authentication by token (`Authorization: Token <key>`), with expiry and two-factor state.

DRF's `TokenAuthentication` reads the header (so the schema and clients see the
same scheme); the token behind it is ours. DRF's own tokens never expire, are
one per person and remember nothing of how they were obtained. Here each
sign-in gets its own `AuthToken`; the user it authenticates carries
`two_factor_device_id`, the authenticator that sign-in was verified with
(None: the password alone), which `people.gates.require_two_factor` reads.
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from people import selectors


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        token = selectors.auth_token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or expired token: sign in again.")
        user = token.user
        if not user.is_active:
            raise exceptions.AuthenticationFailed("This account is disabled.")
        user.two_factor_device_id = token.verified_device_id
        return (user, token)
