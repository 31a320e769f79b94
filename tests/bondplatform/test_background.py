"""Work after COMMIT goes to the django-q2 queue (the database broker here), and runs from it."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from django_q.models import OrmQ

from bondplatform.background import work_dispatch_stranded, work_run
from bondplatform.models import QueuedWork
from investments.models import Refund

pytestmark = pytest.mark.django_db


def test_a_refund_is_queued_for_the_worker_after_commit_and_the_task_settles_it(
    settings,
    society,
    officer,
    resident,
    django_capture_on_commit_callbacks,
    api_client_for,
    make_issue,
    subscribe,
    record_payment,
):
    if settings.REDIS_URL:
        pytest.skip("this test reads the database broker's queue; REDIS_URL points django-q2 at Redis")
    settings.BACKGROUND_INLINE = False
    issue = make_issue(society, officer)
    sub = subscribe(resident, issue, "250.00").json()
    record_payment(officer, sub["id"], "250.00", sub["payment"]["reference"])
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client_for(resident).post(f"/api/v1/subscriptions/{sub['id']}/cancel/").status_code == 200
    queued = [q.task for q in OrmQ.objects.all()]
    assert [t["func"] for t in queued] == ["bondplatform.background.work_run"]
    refund = Refund.objects.get(subscription_id=sub["id"])
    work = QueuedWork.objects.get(pk=queued[0]["kwargs"]["work_id"])
    assert (work.func, work.kwargs) == (
        "investments.payments.refunds.refund_settle_with_provider",
        {"refund_id": refund.pk},
    )
    # What the worker runs: the refund is settled (a bank refund stays owed until an officer
    # sends it) and the work is marked done, so nothing runs it again.
    assert work_run(work_id=work.pk) is True
    work.refresh_from_db()
    assert work.done_at is not None and work.attempts == 1
    assert work_run(work_id=work.pk) is False
    assert Refund.objects.get(pk=refund.pk).status == "pending"


def test_work_committed_but_never_handed_to_the_worker_runs_within_a_minute(
    settings,
    society,
    officer,
    resident,
    django_capture_on_commit_callbacks,
    monkeypatch,
    api_client_for,
    make_issue,
    subscribe,
    record_payment,
):
    """The process dies between COMMIT and the hand-over: the on-commit callback never runs.
    The work's row committed with the refund, and the minute job runs it."""
    settings.BACKGROUND_INLINE = False
    settled = []
    monkeypatch.setattr(
        "investments.payments.refunds.refund_settle_with_provider",
        lambda *, refund_id: settled.append(refund_id),
    )
    issue = make_issue(society, officer)
    sub = subscribe(resident, issue, "250.00").json()
    record_payment(officer, sub["id"], "250.00", sub["payment"]["reference"])
    with django_capture_on_commit_callbacks(execute=False):  # the crash: nothing after COMMIT happens
        assert api_client_for(resident).post(f"/api/v1/subscriptions/{sub['id']}/cancel/").status_code == 200
    refund = Refund.objects.get(subscription_id=sub["id"])
    assert not OrmQ.objects.exists()
    assert work_dispatch_stranded() == 0  # still in its grace period: a live worker may be on it
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=1)):
        # The refund, and the two e-mails (how to pay, payment received) whose hand-over this
        # test's never-committed transaction also swallowed.
        assert work_dispatch_stranded() == 3
    assert settled == [refund.pk]
    assert not QueuedWork.objects.filter(done_at__isnull=True).exists()
    assert QueuedWork.objects.get(func__endswith="refund_settle_with_provider").done_at is not None


def test_failed_work_is_tried_again_and_a_claimed_row_is_left_to_its_worker(db):
    QueuedWork.objects.create(func="tests.bondplatform.test_background.explode", kwargs={})
    later = timezone.now() + dt.timedelta(minutes=1)
    assert work_dispatch_stranded(now=later) == 0  # it failed...
    work = QueuedWork.objects.get()
    assert (work.attempts, work.done_at, work.claimed_until) == (1, None, None)
    assert "boom" in work.last_error
    QueuedWork.objects.filter(pk=work.pk).update(claimed_until=later + dt.timedelta(minutes=5))
    assert work_dispatch_stranded(now=later) == 0  # ...and a row another worker holds is left alone
    assert QueuedWork.objects.get().attempts == 1


def explode():
    raise RuntimeError("boom")
