"""Registering a resident."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from bondplatform.errors import BadInput
from people.models import Profile
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
