"""Registering a resident, and verifying their e-mail address.

Usernames and e-mail addresses are normalised before the duplicate checks:
NFKC (so fullwidth `RITA` is `RITA`), then compared case-insensitively, so a
look-alike of an existing account is refused (issue 9, finding 8). Django's
`create_user` applies NFKC itself, but only when it saves, after the check had
run on the raw name. The database holds the same rule (unique indexes on the
lower-cased username and e-mail, migration 0004), for two registrations racing.

An e-mail address is verified by a signed link (django.core.signing, salted,
valid for EMAIL_VERIFICATION_DAYS) sent after registration; where
EMAIL_VERIFICATION_REQUIRED, a resident subscribes only once it is verified
(`people.gates.require_email_verified`).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from bondplatform.actors import Actor
from bondplatform.audit import audit_record
from bondplatform.background import after_commit
from bondplatform.errors import BadInput, NotFound
from people import gates, selectors
from people.models import AccountSecurity, Profile
from people.postcodes import normalise_postcode

_USERNAME = re.compile(r"[\w.@+-]+")
EMAIL_VERIFICATION_SALT = "people.email-verification"
EMAIL_VERIFICATION_DAYS = 7


def normalise_username(username: str) -> str:
    return unicodedata.normalize("NFKC", username or "").strip()


def normalise_email(email: str) -> str:
    email = unicodedata.normalize("NFKC", email or "").strip()
    return get_user_model().objects.normalize_email(email)  # the domain in lower case


def _taken(field: str, what: str) -> BadInput:
    return BadInput(f"That {what} is taken.", code=f"{field}_taken", fields={field: ["Already taken."]})


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
    username = normalise_username(username)
    email = normalise_email(email)
    if not _USERNAME.fullmatch(username) or len(username) > 150:
        raise BadInput(
            "Use letters, digits and . @ + - _ only.",
            code="invalid_username",
            fields={"username": ["Letters, digits and . @ + - _ only."]},
        )
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
        raise _taken("username", "username")
    if User.objects.filter(email__iexact=email).exists():
        raise _taken("email", "e-mail address")
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password)
    except IntegrityError:
        # Another registration of the same name or address won the race (the unique indexes).
        if User.objects.filter(email__iexact=email).exists():
            raise _taken("email", "e-mail address") from None
        raise _taken("username", "username") from None
    profile = Profile.objects.create(
        user=user, full_name=full_name, date_of_birth=date_of_birth, postcode=normalised
    )
    after_commit("people.tasks.email_verification_send", user_id=user.pk)
    return profile


def email_verification_token(user: Any) -> str:
    """A signed, URL-safe token naming the person and the address it proves."""
    return signing.dumps({"user": user.pk, "email": user.email}, salt=EMAIL_VERIFICATION_SALT)


def email_verification_request(*, actor: Actor) -> None:
    """Send the link (again), e.g. when the first e-mail went astray."""
    person = gates.require_person(actor)
    if not person.email:
        raise BadInput("There is no e-mail address on this account.", code="no_email")
    after_commit("people.tasks.email_verification_send", user_id=person.pk)


@transaction.atomic
def email_verify(*, token: str) -> Any:
    """Follow a link: the address it names is verified, if it is still the account's.
    The link is the credential (whoever has it read the mailbox): no sign-in needed."""
    try:
        payload = signing.loads(
            token, salt=EMAIL_VERIFICATION_SALT, max_age=dt.timedelta(days=EMAIL_VERIFICATION_DAYS)
        )
    except signing.SignatureExpired:
        raise BadInput(
            "This link has expired: ask for a new one.", code="verification_link_expired"
        ) from None
    except signing.BadSignature:
        raise BadInput("This link is not valid.", code="invalid_verification_link") from None
    user = get_user_model().objects.filter(pk=payload.get("user")).first()
    if user is None:
        raise NotFound("No such account.", code="user_not_found")
    if (user.email or "").lower() != str(payload.get("email", "")).lower():
        raise BadInput(
            "This link was for an address the account no longer has.", code="invalid_verification_link"
        )
    _email_mark_verified(actor=user, user=user)
    return user


@transaction.atomic
def email_verified_set(*, actor: Actor, user: Any) -> None:
    """Staff (or the demo's seeding, as SYSTEM) vouch for an address without a link."""
    gates.require_staff(actor)
    _email_mark_verified(actor=actor, user=user)


def _email_mark_verified(*, actor: Actor, user: Any) -> None:
    if selectors.email_verified(user):
        return
    security, _ = AccountSecurity.objects.select_for_update().get_or_create(user=user)
    security.verified_email = user.email
    security.email_verified_at = timezone.now()
    security.save(update_fields=["verified_email", "email_verified_at"])
    audit_record(actor=actor, issuer=None, action="email.verify", obj=security, data={"email": user.email})


def email_verification_link(user: Any) -> str:
    return f"{settings.SITE_URL.rstrip('/')}/accounts/verify-email/{email_verification_token(user)}/"
