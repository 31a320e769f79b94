"""Fixtures for the e-mails: what was sent to whom, and a bond a year into its life."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone


@pytest.fixture
def sent():
    """sent(address) -> the e-mails sent to that address so far, oldest first."""

    def to(address: str) -> list[mail.EmailMultiAlternatives]:
        return [message for message in mail.outbox if address in message.to]

    return to


@pytest.fixture
def html_of():
    """html_of(message) -> the HTML part of an e-mail."""

    def html(message) -> str:
        (content, mimetype), *_ = message.alternatives
        assert mimetype == "text/html"
        return content

    return html


@pytest.fixture
def year_old_holding(allotted_holding):
    """The resident's £1,000 holding, allotted 400 days ago (its first coupon date has passed)."""
    return allotted_holding(allotted_on=timezone.localdate() - dt.timedelta(days=400))


@pytest.fixture
def first_coupon():
    def date_of(holding) -> dt.date:
        return holding.allotted_on.replace(year=holding.allotted_on.year + 1)

    return date_of
