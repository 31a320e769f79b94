"""The recurring jobs exist once each after migrate, and their tasks are importable."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import Schedule

from investments.schedules import SCHEDULES, schedules_ensure

pytestmark = pytest.mark.django_db


def test_every_schedule_exists_once_and_runs_a_real_task():
    for recurring in SCHEDULES:
        row = Schedule.objects.get(name=recurring.name)
        assert (row.func, row.schedule_type, row.minutes) == (
            recurring.func,
            recurring.schedule_type,
            recurring.minutes,
        )
        assert callable(import_string(recurring.func))
    schedules_ensure()
    assert Schedule.objects.filter(name__in=[r.name for r in SCHEDULES]).count() == len(SCHEDULES)


def test_a_changed_interval_reaches_the_stored_schedule():
    recurring = next(r for r in SCHEDULES if r.minutes)
    Schedule.objects.filter(name=recurring.name).update(minutes=999)
    schedules_ensure()
    assert Schedule.objects.get(name=recurring.name).minutes == recurring.minutes


def test_the_close_task_closes_issues_past_their_time(society, officer, make_issue):
    issue = make_issue(society, officer)
    with time_machine.travel(issue.closes_at + dt.timedelta(seconds=1)):
        assert import_string("investments.tasks.close_due_issues")() == [issue.pk]
    issue.refresh_from_db()
    assert issue.status == "failed"
    assert issue.closed_at is not None and issue.closed_at > timezone.now() - dt.timedelta(days=400)
