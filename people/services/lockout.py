"""The per-account lock-out: failed sign-ins counted in the database (see `sign_in`)."""

from __future__ import annotations

import unicodedata
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bondplatform.actors import SYSTEM
from bondplatform.audit import audit_record
from bondplatform.errors import BadInput, TooManyAttempts
from people.models import SignInFailures


def username_key(username: str) -> str:
    """The name the failures count against: NFKC and case-folded, so `RITA` in fullwidth letters, `Rita`
    and `rita` share one count."""
    return unicodedata.normalize("NFKC", username or "").casefold()[:150]


def password_confirm(*, user: Any, password: str | None) -> None:
    """The current password again, before a change to how the person signs in.

    Counts against the lock-out like a sign-in: a stolen token must not become a
    way to guess the password at leisure."""
    key = username_key(user.get_username())
    lockout_check(key)
    if not password or not user.check_password(password):
        sign_in_failure_record(key)
        raise BadInput(
            "Enter your current password.",
            code="invalid_password",
            fields={"password": ["Not your current password."]},
        )


def lockout_check(key: str) -> None:
    locked_until = (
        SignInFailures.objects.filter(username_key=key, locked_until__gt=timezone.now())
        .values_list("locked_until", flat=True)
        .first()
    )
    if locked_until is not None:
        raise _locked(locked_until)


def sign_in_failure_record(key: str) -> None:
    """Count one failure; raise 429 if it is the one that locks the account.

    Its own transaction, committed before the refusal is raised: the count must
    survive whatever the caller rolls back."""
    window = timedelta(seconds=settings.SIGN_IN_LOCKOUT_SECONDS)
    with transaction.atomic():
        # Insert-if-absent, then lock the row: two workers failing at once both count.
        SignInFailures.objects.bulk_create([SignInFailures(username_key=key)], ignore_conflicts=True)
        row = SignInFailures.objects.select_for_update().get(username_key=key)
        now = timezone.now()
        if row.last_failure_at is None or now - row.last_failure_at > window:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        locked = row.failures >= settings.SIGN_IN_LOCKOUT_FAILURES
        if locked:
            row.locked_until = now + window
            row.failures = 0
        row.save()
        if locked:
            audit_record(
                actor=SYSTEM,
                issuer=None,
                action="sign_in.locked",
                obj=row,
                data={"username": key, "until": row.locked_until.isoformat()},
            )
    if locked:
        raise _locked(row.locked_until)


def sign_in_failures_clear(key: str) -> None:
    SignInFailures.objects.filter(username_key=key).delete()


def _locked(until: Any) -> TooManyAttempts:
    seconds = int((until - timezone.now()).total_seconds()) + 1
    minutes = max(1, round(seconds / 60))
    return TooManyAttempts(
        f"Too many failed sign-ins for this account: try again in {minutes} minute"
        f"{'' if minutes == 1 else 's'}.",
        code="account_locked",
        retry_after_seconds=seconds,
    )
