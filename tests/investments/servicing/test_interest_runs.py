"""Interest runs, told as an accountant would: who got what, and what the books say.

Three neighbours hold 4 % annual bonds, allotted today; a year later the
coupon is £40 on each £1,000 (act/365F, 365 days: 1,000 x 4 % x 365/365).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from compliance.models import Decision
from investments.interest import add_months
from investments.models import (
    Holding,
    InterestLine,
    InterestRun,
    Payout,
)
from investments.services import interest_runs
from investments.services.interest_runs import (
    interest_run_execute,
    interest_run_request,
    interest_runs_start_due,
)
from issuers.models import RoleGrant
from ledger.verify import ledger_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def neighbours(make_user):
    return [make_user(name) for name in ("ada", "ben", "cal")]


def a_year_on(issue):
    return add_months(issue.allotted_on, 12)


def after(day: dt.date):
    return time_machine.travel(dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC))


def test_one_pays_one_waives_one_reinvests_and_the_books_say_so(
    society, officer, neighbours, allot, run_interest, books
):
    ada, ben, cal = neighbours
    issue, h = allot(
        society, officer, {ada: "1000.00", ben: "1000.00", cal: "1000.00"}, reinvestment_allowed=True
    )
    Holding.objects.filter(pk=h["ben"].pk).update(interest_preference="waive")
    Holding.objects.filter(pk=h["cal"].pk).update(interest_preference="reinvest")
    coupon = a_year_on(issue)
    with after(coupon):
        run = run_interest(officer, issue, coupon)

    assert run.status == "completed"
    assert (run.holdings_total, run.holdings_done) == (3, 3)
    # Society: gross, no tax. Ada is paid, Ben waives, Cal reinvests.
    assert (run.total_gross_pence, run.total_tax_withheld_pence, run.total_waived_pence) == (80_00, 0, 40_00)
    assert run.total_reinvested_pence == 40_00
    a, b, c = (Holding.objects.get(pk=h[n].pk) for n in ("ada", "ben", "cal"))
    assert (a.principal_pence, a.interest_paid_pence, a.interest_waived_pence) == (1000_00, 40_00, 0)
    assert (b.principal_pence, b.interest_paid_pence, b.interest_waived_pence) == (1000_00, 0, 40_00)
    assert (c.principal_pence, c.interest_paid_pence, c.interest_reinvested_pence) == (1040_00, 40_00, 40_00)
    assert books(society) == {
        "cash_at_bank": 3000_00,
        f"bond_principal:{a.pk}": -1000_00,
        f"bond_principal:{b.pk}": -1000_00,
        f"bond_principal:{c.pk}": -1040_00,
        "interest_expense": 80_00,
        f"interest_payable:{a.pk}": -40_00,
        # The memorandum pair: the auditor sees what Ben forwent; it nets to nothing.
        "memo_interest_waived_contra": 40_00,
        f"memo_interest_waived:{b.pk}": -40_00,
    }
    # Only Ada's money leaves: one payout owed, in the run's batch.
    payouts = list(Payout.objects.all())
    assert [(p.holding_id, p.kind, p.amount_pence, p.status) for p in payouts] == [
        (a.pk, "interest", 40_00, "owed")
    ]
    assert payouts[0].batch.interest_run == run
    keys = set(InterestLine.objects.filter(run=run).values_list("ledger_entry__idempotency_key", flat=True))
    assert keys == {f"interest:{issue.pk}:{coupon.isoformat()}:{x.pk}" for x in (a, b, c)}
    assert ledger_verify(society).valid


def test_a_company_withholds_basic_rate_tax_a_society_does_not(
    cic, make_user, neighbours, allot, run_interest, books
):
    officer = make_user("cora_officer", resident=False)
    RoleGrant.objects.create(issuer=cic, user=officer, role="finance_officer")
    ada = neighbours[0]
    issue, h = allot(cic, officer, {ada: "1234.56"}, coupon_rate_percent=Decimal("5.00"))
    coupon = a_year_on(issue)
    with after(coupon):
        run = run_interest(officer, issue, coupon)
    assert run.status == "completed", run.failure_reason
    # 1,234.56 x 5 % = 61.728 -> 61.73 gross; 20 % of it 12.3456 -> 12.35; net 49.38.
    assert (run.total_gross_pence, run.total_tax_withheld_pence, run.total_net_pence) == (61_73, 12_35, 49_38)
    holding = Holding.objects.get(pk=h["ada"].pk)
    assert (holding.interest_paid_pence, holding.tax_withheld_pence) == (49_38, 12_35)
    assert books(cic)["tax_payable"] == -12_35
    assert books(cic)[f"interest_payable:{holding.pk}"] == -49_38


def test_the_withholding_rate_is_a_setting_per_issuer(cic, make_user, neighbours, allot, run_interest):
    cic.interest_tax_withholding_percent = Decimal("0.00")
    cic.save()
    officer = make_user("cora_officer", resident=False)
    RoleGrant.objects.create(issuer=cic, user=officer, role="finance_officer")
    issue, _ = allot(cic, officer, {neighbours[0]: "1000.00"})
    with after(a_year_on(issue)):
        run = run_interest(officer, issue, a_year_on(issue))
    assert (run.total_gross_pence, run.total_tax_withheld_pence) == (40_00, 0)


def test_asking_again_returns_the_same_run_and_posts_nothing_twice(
    society, officer, neighbours, allot, entry_count, django_capture_on_commit_callbacks, api_client_for
):
    issue, _ = allot(society, officer, {neighbours[0]: "1000.00"})
    coupon = a_year_on(issue)
    with after(coupon):
        with django_capture_on_commit_callbacks(execute=True):
            first = api_client_for(officer).post(
                f"/api/v1/issues/{issue.pk}/interest-runs/", {"period_end": coupon.isoformat()}, format="json"
            )
        assert first.json()["status"] == "queued"
        posted = entry_count(society)
        again = api_client_for(officer).post(
            f"/api/v1/issues/{issue.pk}/interest-runs/", {"period_end": coupon.isoformat()}, format="json"
        )
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert again.json()["status"] == "completed"
    assert again.json()["total_interest"] == "40.00"
    assert entry_count(society) == posted
    assert InterestRun.objects.count() == 1


def test_the_same_idempotency_key_for_another_period_is_refused(
    society, officer, neighbours, allot, api_client_for, assert_error
):
    issue, _ = allot(society, officer, {neighbours[0]: "1000.00"})
    first, second = a_year_on(issue), add_months(issue.allotted_on, 24)
    with after(second):
        url = f"/api/v1/issues/{issue.pk}/interest-runs/"
        client = api_client_for(officer)
        assert (
            client.post(
                url, {"period_end": first.isoformat()}, format="json", HTTP_IDEMPOTENCY_KEY="k"
            ).status_code
            == 202
        )
        response = client.post(
            url, {"period_end": second.isoformat()}, format="json", HTTP_IDEMPOTENCY_KEY="k"
        )
    assert_error(response, 409, "idempotency_key_reused")


@pytest.mark.parametrize(
    "day, status, code",
    [
        (lambda issue: a_year_on(issue) - dt.timedelta(days=1), 422, "not_a_coupon_date"),
        (lambda issue: add_months(issue.allotted_on, 24), 422, "earlier_period_not_run"),
        (lambda issue: add_months(issue.allotted_on, 48), 422, "not_a_coupon_date"),
    ],
)
def test_refusals(society, officer, neighbours, allot, day, status, code, api_client_for, assert_error):
    issue, _ = allot(society, officer, {neighbours[0]: "1000.00"})
    with after(add_months(issue.allotted_on, 25)):
        response = api_client_for(officer).post(
            f"/api/v1/issues/{issue.pk}/interest-runs/", {"period_end": day(issue).isoformat()}, format="json"
        )
    assert_error(response, status, code)
    assert Decision.objects.filter(outcome="deny", rule__startswith="interest_run").exists()


def test_a_period_that_has_not_ended_is_refused(
    society, officer, neighbours, allot, api_client_for, assert_error
):
    issue, _ = allot(society, officer, {neighbours[0]: "1000.00"})
    response = api_client_for(officer).post(
        f"/api/v1/issues/{issue.pk}/interest-runs/",
        {"period_end": a_year_on(issue).isoformat()},
        format="json",
    )
    assert_error(response, 422, "period_not_ended")


def test_only_the_issuers_officers_run_interest_and_only_they_and_auditors_read_runs(
    society,
    officer,
    auditor,
    neighbours,
    outsider,
    allot,
    django_capture_on_commit_callbacks,
    assert_error,
    api_client_for,
):
    ada = neighbours[0]
    issue, _ = allot(society, officer, {ada: "1000.00"})
    coupon = a_year_on(issue)
    url = f"/api/v1/issues/{issue.pk}/interest-runs/"
    with after(coupon):
        for who in (ada, auditor, outsider):
            assert_error(
                api_client_for(who).post(url, {"period_end": str(coupon)}, format="json"),
                403,
                "not_an_officer",
            )
        assert api_client_for(None).post(url, {"period_end": str(coupon)}, format="json").status_code == 401
        with django_capture_on_commit_callbacks(execute=True):
            run_id = (
                api_client_for(officer).post(url, {"period_end": str(coupon)}, format="json").json()["id"]
            )
    for who in (officer, auditor):
        body = api_client_for(who).get(f"/api/v1/interest-runs/{run_id}/").json()
        assert (body["status"], body["holdings_done"], body["total_interest"]) == ("completed", 1, "40.00")
    for who in (ada, outsider):  # an issuer's runs are its own business: not found for others
        assert_error(
            api_client_for(who).get(f"/api/v1/interest-runs/{run_id}/"), 404, "interest_run_not_found"
        )
    assert_error(api_client_for(officer).get("/api/v1/interest-runs/999999/"), 404, "interest_run_not_found")


def test_bad_input(society, officer, neighbours, allot, assert_error, api_client_for):
    issue, _ = allot(society, officer, {neighbours[0]: "1000.00"})
    url = f"/api/v1/issues/{issue.pk}/interest-runs/"
    for body in ({}, {"period_end": "soon"}, {"period_end": 20270101}):
        assert_error(api_client_for(officer).post(url, body, format="json"), 400, "invalid")
    assert_error(
        api_client_for(officer).post(
            "/api/v1/issues/999999/interest-runs/", {"period_end": "2027-01-01"}, format="json"
        ),
        404,
        "issue_not_found",
    )


def test_an_issue_not_yet_allotted_has_no_interest(
    society, officer, api_client_for, assert_error, make_issue
):
    issue = make_issue(society, officer)
    response = api_client_for(officer).post(
        f"/api/v1/issues/{issue.pk}/interest-runs/", {"period_end": "2027-01-01"}, format="json"
    )
    assert_error(response, 409, "issue_not_active")


def test_a_zero_coupon_issue_posts_nothing_and_completes(
    society, officer, neighbours, allot, run_interest, entry_count
):
    issue, _ = allot(
        society,
        officer,
        {neighbours[0]: "1000.00"},
        coupon_rate_percent=Decimal("0.00"),
        interest_frequency="annual",
    )
    before = entry_count(society)
    with after(a_year_on(issue)):
        run = run_interest(officer, issue, a_year_on(issue))
    assert (run.status, run.holdings_done, run.total_gross_pence) == ("completed", 1, 0)
    assert entry_count(society) == before
    assert not Payout.objects.exists()


def test_reinvesting_beyond_the_cap_pays_instead_and_says_why(
    society, officer, neighbours, allot, run_interest
):
    ada = neighbours[0]
    issue, h = allot(society, officer, {ada: "5000.00"}, reinvestment_allowed=True)  # max_subscription 5,000
    Holding.objects.filter(pk=h["ada"].pk).update(interest_preference="reinvest")
    with after(a_year_on(issue)):
        run_interest(officer, issue, a_year_on(issue))
    line = InterestLine.objects.get()
    assert (line.preference, line.net_pence, line.reinvested_pence) == ("pay", 200_00, 0)
    assert Holding.objects.get(pk=h["ada"].pk).principal_pence == 5000_00
    assert Payout.objects.get().amount_pence == 200_00
    denial = Decision.objects.get(rule="cap_exceeded_per_investor", outcome="deny")
    assert "paid instead" in denial.reason


def _interest_books(issuer, issue, books):
    """The issue's interest balances per holding, in holding order (ids differ between issues)."""
    balances = books(issuer)
    holdings = list(Holding.objects.filter(issue=issue).order_by("id"))
    return [
        tuple(
            balances.get(f"{prefix}:{holding.pk}", 0)
            for prefix in ("bond_principal", "interest_payable", "memo_interest_waived")
        )
        for holding in holdings
    ]


@pytest.mark.parametrize("crash", [RuntimeError, KeyboardInterrupt])
def test_a_run_killed_half_way_and_run_again_leaves_the_same_ledger(
    society, officer, make_user, allot, run_interest, books, monkeypatch, crash
):
    """Two identical issues; one run goes through, the other dies after its first batch
    (an error, or the worker killed: the run is left `running`), and is run again."""
    people = {make_user(f"holder{i}"): f"{100 + 7 * i}.{i:02d}" for i in range(7)}
    steady, _ = allot(society, officer, people, reinvestment_allowed=True)
    broken, _ = allot(society, officer, people, reinvestment_allowed=True)
    for issue in (steady, broken):
        ids = list(Holding.objects.filter(issue=issue).order_by("id").values_list("pk", flat=True))
        Holding.objects.filter(pk__in=ids[1::3]).update(interest_preference="waive")
        Holding.objects.filter(pk__in=ids[2::3]).update(interest_preference="reinvest")
    coupon = a_year_on(steady)

    with after(coupon):
        monkeypatch.setattr(interest_runs, "BATCH_SIZE", 3)
        run_interest(officer, steady, coupon)

        real_batch = interest_runs._run_batch
        calls = []

        def dies_after_one_batch(run_id, batch_size):
            calls.append(run_id)
            if len(calls) == 2:
                raise crash("the worker died")
            return real_batch(run_id, batch_size)

        monkeypatch.setattr(interest_runs, "_run_batch", dies_after_one_batch)
        run, _ = interest_run_request(actor=officer, issue_id=broken.pk, period_end=coupon)
        try:
            interest_run_execute(run_id=run.pk)
        except KeyboardInterrupt:
            pass
        run.refresh_from_db()
        assert run.status == ("failed" if crash is RuntimeError else "running")
        assert run.holdings_done == 3
        if crash is RuntimeError:
            assert "the worker died" in run.failure_reason

        monkeypatch.setattr(interest_runs, "_run_batch", real_batch)
        run = interest_run_execute(run_id=run.pk)

    assert run.status == "completed"
    steady_run = InterestRun.objects.get(issue=steady)
    fields = (
        "holdings_done",
        "total_gross_pence",
        "total_net_pence",
        "total_reinvested_pence",
        "total_waived_pence",
    )
    assert [getattr(run, f) for f in fields] == [getattr(steady_run, f) for f in fields]
    assert _interest_books(society, broken, books) == _interest_books(society, steady, books)
    for issue in (steady, broken):
        assert InterestLine.objects.filter(run__issue=issue).exclude(ledger_entry=None).count() == 7
    assert (
        Payout.objects.filter(holding__issue=broken).count()
        == Payout.objects.filter(holding__issue=steady).count()
    )
    assert ledger_verify(society).valid


def test_the_daily_schedule_runs_each_coupon_date_reached_in_order(
    society, officer, neighbours, allot, django_capture_on_commit_callbacks
):
    issue, _ = allot(society, officer, {neighbours[0]: "1000.00"})
    assert interest_runs_start_due() == []
    with after(add_months(issue.allotted_on, 25)):
        with django_capture_on_commit_callbacks(execute=True):
            first = interest_runs_start_due()
        with django_capture_on_commit_callbacks(execute=True):
            second = interest_runs_start_due()
        assert interest_runs_start_due() == []
    runs = list(InterestRun.objects.filter(issue=issue).order_by("period_end"))
    assert [r.pk for r in runs] == first + second
    assert [(r.period_end, r.status, r.requested_by_system) for r in runs] == [
        (a_year_on(issue), "completed", "system"),
        (add_months(issue.allotted_on, 24), "completed", "system"),
    ]


def test_a_preference_change_applies_to_runs_after_it_only(society, officer, neighbours, allot, run_interest):
    issue, h = allot(society, officer, {neighbours[0]: "1000.00"})
    with after(a_year_on(issue)):
        run_interest(officer, issue, a_year_on(issue))
    Holding.objects.filter(pk=h["ada"].pk).update(interest_preference="waive")
    with after(add_months(issue.allotted_on, 24)):
        run_interest(officer, issue, add_months(issue.allotted_on, 24))
    lines = list(
        InterestLine.objects.order_by("run__period_end").values_list(
            "preference", "net_pence", "waived_pence"
        )
    )
    # The second year holds 29 February 2028: 1,000 x 4 % x 366/365 = 40.1096 -> 40.11.
    assert lines == [("pay", 40_00, 0), ("waive", 0, 40_11)]
