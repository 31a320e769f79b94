"""Fixtures for the people tests: an authenticator set up for a user."""

from __future__ import annotations

import time

import pytest

from people import totp
from people.services import two_factor

PASSWORD = "correct horse battery"  # every persona's (tests/conftest.py, make_user)


@pytest.fixture
def two_factor_device_for():
    """two_factor_device_for(user) -> the authenticator set up for `user` through the services."""

    def set_up(user):
        device = two_factor.totp_begin(actor=user, password=PASSWORD)
        enrolment = two_factor.totp_confirm(
            actor=user, otp=totp.code_at(device.secret, totp.step_of(time.time()) - 1)
        )
        return enrolment.device

    return set_up
