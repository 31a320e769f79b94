"""Checking a sign-in, and locking an account out after repeated failures.

One function, `sign_in_check`, serves every way in: the token endpoint, the
web sign-in page and the admin's (which use the same form). It checks, in
order: the lock-out, the password, then the second factor. A wrong password
and a wrong two-factor code both count as failures against the account name
typed; a missing code does not (the password was right: the person is asked
for it). After SIGN_IN_LOCKOUT_FAILURES failures within SIGN_IN_LOCKOUT_SECONDS
of each other the name is locked for SIGN_IN_LOCKOUT_SECONDS: every attempt
is refused (429 `account_locked`, with Retry-After), the right password
included, so guessing gains nothing. A successful sign-in clears the count.

The counters are rows in the database (`SignInFailures`), shared by every web
process; the per-address rate limit (DRF's throttle, SIGN_IN_RATE) comes on
top. Anyone can lock an account by failing on purpose: the price of lock-out,
bounded by its short duration, and the owner's existing sessions and tokens
keep working.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import authenticate

from bondplatform.errors import BadInput
from people.models import TotpDevice
from people.services import two_factor
from people.services.lockout import (
    lockout_check,
    sign_in_failure_record,
    sign_in_failures_clear,
    username_key,
)


@dataclass(frozen=True)
class SignIn:
    user: Any
    # The authenticator whose code (or recovery code) this sign-in gave; None when
    # the person has none set up.
    device: TotpDevice | None


def sign_in_check(*, username: str, password: str, otp: str | None) -> SignIn:
    key = username_key(username)
    lockout_check(key)
    user = authenticate(None, username=username, password=password)
    if user is None:
        sign_in_failure_record(key)
        raise BadInput("Those are not a valid username and password.", code="invalid_credentials")
    try:
        device = two_factor.second_factor_check(user=user, otp=otp)
    except BadInput as refusal:
        if refusal.code == "invalid_otp":
            sign_in_failure_record(key)
        raise
    sign_in_failures_clear(key)
    return SignIn(user=user, device=device)
