"""Fixtures for the compliance tests: an officer asking for an interest run on a given day."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine


@pytest.fixture
def ask_for_interest(api_client_for):
    """ask_for_interest(officer, issue, period_end, *, on) -> the API's answer to the officer asking,
    on the day `on`, for the interest run of the period ending `period_end`."""

    def ask(officer, issue, period_end, *, on):
        with time_machine.travel(dt.datetime.combine(on, dt.time(12), tzinfo=dt.UTC)):
            return api_client_for(officer).post(
                f"/api/v1/issues/{issue.pk}/interest-runs/",
                {"period_end": period_end.isoformat()},
                format="json",
            )

    return ask
