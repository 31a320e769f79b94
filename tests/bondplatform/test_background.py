"""Work after COMMIT goes to the django-q2 queue (the database broker here), and runs from it."""

import pytest
from django_q.models import OrmQ

from investments.models import Refund
from tests.conftest import client_for
from tests.investments.bonds import make_issue
from tests.investments.test_subscriptions import record_payment, subscribe

pytestmark = pytest.mark.django_db


def test_a_refund_is_queued_for_the_worker_after_commit_and_the_task_settles_it(
    settings, society, officer, resident, django_capture_on_commit_callbacks
):
    if settings.REDIS_URL:
        pytest.skip("this test reads the database broker's queue; REDIS_URL points django-q2 at Redis")
    settings.BACKGROUND_INLINE = False
    issue = make_issue(society, officer)
    sub = subscribe(resident, issue, "250.00").json()
    record_payment(officer, sub["id"], "250.00", sub["payment"]["reference"])
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(resident).post(f"/api/v1/subscriptions/{sub['id']}/cancel/").status_code == 200
    queued = [q.task for q in OrmQ.objects.all()]
    assert [t["func"] for t in queued] == ["investments.payments.refunds.refund_settle_with_provider"]
    refund = Refund.objects.get(subscription_id=sub["id"])
    assert queued[0]["kwargs"] == {"refund_id": refund.pk}
    # What the worker would run: a bank refund stays owed until an officer sends it.
    from django.utils.module_loading import import_string

    assert import_string(queued[0]["func"])(**queued[0]["kwargs"]).status == "pending"
