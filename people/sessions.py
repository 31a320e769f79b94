"""Web sessions: which sign-in they came from, checked on every request.

A session remembers, beside Django's own keys:
- the account's `credentials_epoch` when it signed in: a session from before a
  change to the second factor (set up, removed, reset) is ended at its next
  request, so that it does not outlive the change;
- the authenticator whose code its sign-in gave, if any: the user object of
  the request carries it as `two_factor_device_id` (as a token's user does,
  `people.authentication`), for `people.gates.require_two_factor`.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.utils.functional import SimpleLazyObject

from people import selectors
from people.models import TotpDevice

EPOCH_KEY = "_people_credentials_epoch"
DEVICE_KEY = "_people_two_factor_device"


def session_stamp(session: Any, *, epoch: int, device: TotpDevice | None = None) -> None:
    """Called once the person is signed in (`login()`), or after a change they made themselves."""
    session[EPOCH_KEY] = epoch
    if device is not None:
        session[DEVICE_KEY] = device.pk
    else:
        session.pop(DEVICE_KEY, None)


def session_mark_verified(session: Any, device: TotpDevice) -> None:
    """This session's sign-in gave a code from `device` (the sign-in views, after `login()`)."""
    session[DEVICE_KEY] = device.pk


def stamp_on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """`user_logged_in` receiver: every sign-in, whichever view made it, starts unverified at
    the current epoch; the sign-in views mark it verified once the code was given."""
    if request is not None and hasattr(request, "session"):
        session_stamp(request.session, epoch=selectors.credentials_epoch(user))


class SignInStateMiddleware:
    """After Django's AuthenticationMiddleware: ends stale sessions, tells the two-factor state."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        request.user = SimpleLazyObject(lambda: self._checked(request, user))
        return self.get_response(request)

    @staticmethod
    def _checked(request: Any, user: Any) -> Any:
        if not user.is_authenticated:
            return user
        if request.session.get(EPOCH_KEY, 0) != selectors.credentials_epoch(user):
            request.session.flush()
            return AnonymousUser()
        user.two_factor_device_id = request.session.get(DEVICE_KEY)
        return user
