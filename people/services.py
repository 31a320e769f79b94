"""Writes for people: registration and two-factor sign-in."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from bondplatform.audit import audit_record
from bondplatform.errors import BadInput, InvalidState
from people import totp
from people.models import Profile, TotpDevice
from people.postcodes import normalise_postcode


@transaction.atomic
def resident_register(
    *,
    username: str,
    email: str,
    password: str,
    full_name: str,
    date_of_birth: dt.date,
    postcode: str,
) -> Profile:
    User = get_user_model()
    normalised = normalise_postcode(postcode)
    if normalised is None:
        raise BadInput(
            "That is not a UK postcode.", code="invalid_postcode", fields={"postcode": ["Not a UK postcode."]}
        )
    candidate = User(username=username, email=email)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise BadInput(exc.messages[0], code="weak_password", fields={"password": exc.messages}) from None
    if User.objects.filter(username__iexact=username).exists():
        raise BadInput(
            "That username is taken.", code="username_taken", fields={"username": ["Already taken."]}
        )
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password)
    except IntegrityError:
        raise BadInput(
            "That username is taken.", code="username_taken", fields={"username": ["Already taken."]}
        ) from None
    return Profile.objects.create(
        user=user, full_name=full_name, date_of_birth=date_of_birth, postcode=normalised
    )


# --- two-factor sign-in (TOTP) -------------------------------------------------------


def totp_begin(*, actor: Any) -> TotpDevice:
    """Start setting up an authenticator: a new secret, not yet required at sign-in."""
    device = TotpDevice.objects.filter(user=actor).first()
    if device is not None and device.confirmed:
        raise InvalidState("Two-factor sign-in is already set up.", code="two_factor_already_confirmed")
    if device is None:
        return TotpDevice.objects.create(user=actor, secret=totp.new_secret())
    device.secret = totp.new_secret()
    device.save(update_fields=["secret"])
    return device


@transaction.atomic
def totp_confirm(*, actor: Any, otp: str) -> TotpDevice:
    """The first code from the app proves it holds the secret; from now on sign-in needs a code."""
    device = TotpDevice.objects.select_for_update().filter(user=actor).first()
    if device is None:
        raise InvalidState("Start setting up two-factor sign-in first.", code="two_factor_not_started")
    if device.confirmed:
        raise InvalidState("Two-factor sign-in is already set up.", code="two_factor_already_confirmed")
    step = totp.matching_step(device.secret, otp, unix_time=time.time(), after_step=device.last_step)
    if step is None:
        raise BadInput(
            "That code is not right (or has expired).", code="invalid_otp", fields={"otp": ["Wrong code."]}
        )
    device.confirmed_at = timezone.now()
    device.last_step = step
    device.save(update_fields=["confirmed_at", "last_step"])
    audit_record(actor=actor, issuer=None, action="two_factor.confirm", obj=device)
    return device


@transaction.atomic
def totp_check_sign_in(*, user: Any, otp: str | None) -> None:
    """Refuse a sign-in without the current code when the person has set up an authenticator."""
    device = TotpDevice.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
    if device is None:
        return
    if not otp:
        raise BadInput(
            "Enter the code from your authenticator app.", code="otp_required", fields={"otp": ["Required."]}
        )
    step = totp.matching_step(device.secret, otp, unix_time=time.time(), after_step=device.last_step)
    if step is None:
        raise BadInput(
            "That code is not right (or has expired).", code="invalid_otp", fields={"otp": ["Wrong code."]}
        )
    device.last_step = step
    device.save(update_fields=["last_step"])


def two_factor_confirmed(user: Any) -> bool:
    return bool(
        user.is_authenticated and TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()
    )
