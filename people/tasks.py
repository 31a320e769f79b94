"""Background work for people (run by the django-q2 worker after COMMIT)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.mail import send_mail

from people import selectors
from people.services import registration


def email_verification_send(*, user_id: int) -> None:
    """The e-mail with the verification link. Safe to run again: it sends nothing once the
    address is verified (e.g. the demo's accounts, verified as they are made)."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or not user.email or selectors.email_verified(user):
        return
    link = registration.email_verification_link(user)
    token = registration.email_verification_token(user)
    send_mail(
        subject="Confirm your e-mail address for Mutual Bonds",
        message=(
            f"Hello {user.get_username()},\n\n"
            f"To confirm that this is your address, open this link:\n\n{link}\n\n"
            f"(Or send POST /api/v1/auth/verify-email/ with the token {token}.)\n"
            f"The link works for {registration.EMAIL_VERIFICATION_DAYS} days. "
            "You can subscribe to bond issues once your address is confirmed.\n\n"
            "If you did not register, ignore this e-mail.\n"
        ),
        from_email=None,
        recipient_list=[user.email],
    )
