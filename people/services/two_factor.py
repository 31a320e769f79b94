"""Two-factor sign-in (TOTP): setting up an authenticator, recovery codes, removal, staff reset.

Setting up or removing an authenticator needs the current password (a stolen
token alone must not let its holder enrol their own phone and lock the owner
out), and rotates credentials (`credentials.credentials_rotate`): the sign-in
that made the change carries on, every other token and session ends.
Confirmation gives ten one-time recovery codes, shown once and stored as
digests; any of them stands in for the authenticator's code at sign-in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from bondplatform.actors import Actor
from bondplatform.audit import audit_record
from bondplatform.errors import BadInput, InvalidState, NotFound
from people import gates, keys, selectors, totp
from people.models import AuthToken, RecoveryCode, TotpDevice
from people.services.credentials import credentials_rotate
from people.services.lockout import lockout_check, password_confirm, sign_in_failure_record, username_key

RECOVERY_CODES = 10


@dataclass(frozen=True)
class Enrolment:
    device: TotpDevice
    recovery_codes: list[str]  # shown once: only their digests are kept
    credentials_epoch: int  # for the caller's own web session to carry on


@dataclass(frozen=True)
class Removal:
    credentials_epoch: int


def totp_begin(*, actor: Actor, password: str | None) -> TotpDevice:
    """Start setting up an authenticator: a new secret, not yet required at sign-in."""
    person = gates.require_person(actor)
    password_confirm(user=person, password=password)
    device = TotpDevice.objects.filter(user=person).first()
    if device is not None and device.confirmed:
        raise InvalidState("Two-factor sign-in is already set up.", code="two_factor_already_confirmed")
    if device is None:
        return TotpDevice.objects.create(user=person, secret=totp.new_secret())
    device.secret = totp.new_secret()
    device.save(update_fields=["secret"])
    return device


def totp_confirm(*, actor: Actor, otp: str | None, keep_token: AuthToken | None = None) -> Enrolment:
    """The first code from the app proves it holds the secret; from now on sign-in needs a code.

    `keep_token`: the token the request came with, which stays valid and counts as
    verified with the new authenticator (its holder just gave the code)."""
    person = gates.require_person(actor)
    key = username_key(person.get_username())
    lockout_check(key)
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=person).first()
        if device is None:
            raise InvalidState("Start setting up two-factor sign-in first.", code="two_factor_not_started")
        if device.confirmed:
            raise InvalidState("Two-factor sign-in is already set up.", code="two_factor_already_confirmed")
        step = totp.matching_step(device.secret, otp, unix_time=time.time(), after_step=device.last_step)
        if step is not None:
            device.confirmed_at = timezone.now()
            device.last_step = step
            device.save(update_fields=["confirmed_at", "last_step"])
            codes = _recovery_codes_issue(user=person)
            epoch = credentials_rotate(user=person, keep_token=keep_token)
            if keep_token is not None:
                AuthToken.objects.filter(pk=keep_token.pk).update(verified_device=device)
            audit_record(actor=actor, issuer=None, action="two_factor.confirm", obj=device)
            return Enrolment(device=device, recovery_codes=codes, credentials_epoch=epoch)
    sign_in_failure_record(key)  # outside the block above: the count must stay
    raise BadInput(
        "That code is not right (or has expired).", code="invalid_otp", fields={"otp": ["Wrong code."]}
    )


def totp_remove(*, actor: Actor, password: str | None, keep_token: AuthToken | None = None) -> Removal:
    """Stop asking for a code at sign-in. Needs the password, and a sign-in that gave a code."""
    person = gates.require_person(actor)
    if not selectors.two_factor_confirmed(person):
        raise InvalidState("Two-factor sign-in is not set up.", code="two_factor_not_set_up")
    gates.require_two_factor(actor)
    password_confirm(user=person, password=password)  # before the transaction: a failure must count
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=person).first()
        if device is None:
            raise InvalidState("Two-factor sign-in is not set up.", code="two_factor_not_set_up")
        audit_record(actor=actor, issuer=None, action="two_factor.remove", obj=device)
        _forget_second_factor(user=person)
        return Removal(credentials_epoch=credentials_rotate(user=person, keep_token=keep_token))


@transaction.atomic
def two_factor_reset(*, actor: Actor, user_id: int) -> None:
    """Staff, for someone who lost both their phone and their recovery codes: the
    authenticator and codes are forgotten, every sign-in of theirs ends, and their
    next sign-in is with the password alone (then they set up a new one)."""
    gates.require_staff(actor)
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound("No such person.", code="user_not_found")
    device = TotpDevice.objects.select_for_update().filter(user=user).first()
    if device is None:
        raise InvalidState(f"{user} has no two-factor sign-in to reset.", code="two_factor_not_set_up")
    audit_record(
        actor=actor,
        issuer=None,
        action="two_factor.reset",
        obj=device,
        data={"user": user.pk, "username": user.get_username()},
    )
    _forget_second_factor(user=user)
    credentials_rotate(user=user)


def second_factor_check(*, user: Any, otp: str | None) -> TotpDevice | None:
    """For a sign-in whose password was right: the authenticator it was verified with, or
    None if the person has none. A recovery code is accepted in place of the code, once."""
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
        if device is None:
            return None
        if not otp:
            raise BadInput(
                "Enter the code from your authenticator app.",
                code="otp_required",
                fields={"otp": ["Required."]},
            )
        step = totp.matching_step(device.secret, otp, unix_time=time.time(), after_step=device.last_step)
        if step is not None:
            device.last_step = step
            device.save(update_fields=["last_step"])
            return device
        if _recovery_code_use(user=user, code=otp):
            return device
    raise BadInput(
        "That code is not right (or has expired).", code="invalid_otp", fields={"otp": ["Wrong code."]}
    )


def _recovery_codes_issue(*, user: Any) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = [keys.new_recovery_code() for _ in range(RECOVERY_CODES)]
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, digest=keys.digest(keys.normalise_recovery_code(c) or "")) for c in codes]
    )
    return codes


def _recovery_code_use(*, user: Any, code: str) -> bool:
    normalised = keys.normalise_recovery_code(code)
    if normalised is None:
        return False
    recovery = (
        RecoveryCode.objects.select_for_update()
        .filter(user=user, digest=keys.digest(normalised), used_at__isnull=True)
        .first()
    )
    if recovery is None:
        return False
    recovery.used_at = timezone.now()
    recovery.save(update_fields=["used_at"])
    audit_record(actor=user, issuer=None, action="two_factor.recovery_code_used", obj=recovery)
    return True


def _forget_second_factor(*, user: Any) -> None:
    RecoveryCode.objects.filter(user=user).delete()
    TotpDevice.objects.filter(user=user).delete()
