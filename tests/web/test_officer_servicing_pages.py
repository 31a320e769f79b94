"""The officers' pages for a bond's life: interest runs with their progress, early repayment
decisions, payout batches."""

import datetime as dt

import pytest
from django.utils import timezone

from bondplatform.money import display_pounds
from investments.models import InterestRun, PayoutBatch, RedemptionRequest
from investments.services.redemptions import redemption_request_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def year_old_holding(allotted_holding):
    return allotted_holding(allotted_on=timezone.localdate() - dt.timedelta(days=400))


def test_an_officer_runs_interest_and_sees_its_progress(
    client, officer, resident, year_old_holding, django_capture_on_commit_callbacks
):
    issue = year_old_holding.issue
    client.force_login(officer)
    page = client.get(f"/officer/issues/{issue.pk}/").content.decode()
    assert "Run the interest" in page
    coupon = year_old_holding.allotted_on.replace(year=year_old_holding.allotted_on.year + 1)
    # The run is queued after COMMIT (here: run in this process as the test's transaction "commits").
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/officer/issues/{issue.pk}/interest-runs/", {"period_end": coupon.isoformat()}
        )
    run = InterestRun.objects.get(issue=issue)
    assert response.status_code == 302 and response["Location"] == f"/officer/interest-runs/{run.pk}/"
    page = client.get(response["Location"]).content.decode()
    run.refresh_from_db()
    # 3 % of £1,000 for a year: £30.00, or £30.08 over a 366-day year (act/365 fixed).
    paid = display_pounds(run.total_gross_pence)
    assert paid in ("£30.00", "£30.08"), (run.status, run.failure_reason, run.holdings_total)
    assert "<progress" in page and "Completed" in page and paid in page
    assert "js/interest_run.js" in page

    client.force_login(resident)
    assert paid in client.get("/me/").content.decode()


def test_a_date_that_is_not_a_coupon_date_is_explained(client, officer, year_old_holding):
    client.force_login(officer)
    issue = year_old_holding.issue
    response = client.post(
        f"/officer/issues/{issue.pk}/interest-runs/", {"period_end": "2020-01-01"}, follow=True
    )
    assert "is not a coupon date" in response.content.decode()


def test_an_officer_declines_early_repayment_with_a_reason(client, officer, resident, year_old_holding):
    request, _ = redemption_request_create(
        actor=resident, holding_id=year_old_holding.pk, amount_pence=100_00
    )
    client.force_login(officer)
    assert (
        "Requests for early repayment"
        in client.get(f"/officer/issues/{year_old_holding.issue_id}/").content.decode()
    )
    client.post(
        f"/officer/redemption-requests/{request.pk}/decide/",
        {"decision": "decline", "reason": "The kitchen opens next month."},
    )
    request.refresh_from_db()
    assert request.status == "declined" and request.reason == "The kitchen opens next month."


def test_the_payout_batches_page_lists_money_owed(client, officer, resident, year_old_holding, society):
    request, _ = redemption_request_create(
        actor=resident, holding_id=year_old_holding.pk, amount_pence=100_00
    )
    client.force_login(officer)
    client.post(f"/officer/redemption-requests/{request.pk}/decide/", {"decision": "approve", "reason": ""})
    assert RedemptionRequest.objects.get(pk=request.pk).status == "approved"
    page = client.get(f"/officer/issuers/{society.pk}/payout-batches/").content.decode()
    batch = PayoutBatch.objects.get(issuer=society)
    assert f"/api/v1/payout-batches/{batch.pk}/payouts.csv" in page


def test_an_outsider_is_refused_the_payout_batches(client, outsider, society):
    client.force_login(outsider)
    response = client.get(f"/officer/issuers/{society.pk}/payout-batches/")
    assert response.status_code in (403, 404)
