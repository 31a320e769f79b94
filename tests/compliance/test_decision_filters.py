"""The decision log's filters (issue, since, until) and its CSV download."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine

from compliance.models import Decision
from compliance.services import decision_record
from investments.interest import add_months
from investments.models import PayoutBatch, Refund
from investments.selectors_accountability import ISSUE_SUBJECTS
from investments.services.interest_runs import interest_run_execute
from issuers.models import RoleGrant

pytestmark = pytest.mark.django_db

PATH = "/api/v1/compliance/decisions/"


@pytest.fixture
def listed(api_client_for):
    def listed(reader, **query) -> list[dict]:
        response = api_client_for(reader).get(PATH, {"limit": 500, **query})
        assert response.status_code == 200, response.content
        return response.json()["results"]

    return listed


def test_an_issues_decisions_are_those_about_it_and_everything_it_holds(
    society,
    officer,
    auditor,
    make_user,
    allotted,
    ask_for_interest,
    api_client_for,
    make_issue,
    subscribe,
    pay_by_bank_transfer,
    listed,
):
    """A whole life on one issue (subscriptions, a refund, holdings, runs, payouts, a redemption), another
    issue beside it, and a distribution of the issuer's own: the filter finds exactly the first issue's."""
    ada, ben = make_user("ada"), make_user("ben")
    bonds = allotted(society, officer, ada)
    coupon = add_months(bonds.allotted_on, 12)
    ask_for_interest(officer, bonds, coupon, on=coupon)
    interest_run_execute(run_id=bonds.interest_runs.get().pk)
    for batch in PayoutBatch.objects.filter(issuer=society):
        assert (
            api_client_for(officer).post(f"/api/v1/payout-batches/{batch.pk}/mark-sent/").status_code == 200
        )
    holding = bonds.holdings.get()
    with time_machine.travel(dt.datetime.combine(coupon, dt.time(13), tzinfo=dt.UTC)):
        asked = api_client_for(ada).post(
            f"/api/v1/holdings/{holding.pk}/redemption-requests/", {"amount": "100.00"}, format="json"
        )
        assert asked.status_code == 201, asked.content
        approved = api_client_for(officer).post(
            f"/api/v1/redemption-requests/{asked.json()['id']}/approve/",
            {"reason": "Liquidity allows"},
            format="json",
        )
        assert approved.status_code == 200, approved.content

    other = make_issue(society, officer, name="Another issue")
    sub = subscribe(ben, other, "250.00").json()
    pay_by_bank_transfer(officer, sub)
    api_client_for(ben).post(f"/api/v1/subscriptions/{sub['id']}/cancel/")
    refund = Refund.objects.get(subscription_id=sub["id"])
    assert api_client_for(officer).post(f"/api/v1/refunds/{refund.pk}/mark-sent/").status_code == 200
    paid = api_client_for(officer).post(
        f"/api/v1/issuers/{society.pk}/distributions/",
        {
            "kind": "consideration",
            "recipient_name": "Roofers",
            "invoice_reference": "1",
            "amount": "5.00",
            "purpose": "x",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="roof",
    )
    assert paid.status_code == 201

    # Every subject a service judged is one the issue filter knows, or none (the issuer's own).
    assert set(Decision.objects.values_list("subject_type", flat=True)) <= {*ISSUE_SUBJECTS, ""}

    everything = listed(auditor, issuer=society.pk)
    mine = listed(auditor, issuer=society.pk, issue=bonds.pk)
    theirs = listed(auditor, issuer=society.pk, issue=other.pk)
    assert {d["subject"]["type"] for d in mine} >= {
        "bondissue",
        "subscription",
        "payoutbatch",
        "redemptionrequest",
    }
    assert {d["subject"]["type"] for d in theirs} >= {"bondissue", "subscription", "refund"}
    assert not {d["id"] for d in mine} & {d["id"] for d in theirs}
    unattached = [d for d in everything if not d["subject"]["type"]]
    assert [d["rule"] for d in unattached] == ["asset_lock"]  # the distribution
    assert len(mine) + len(theirs) + len(unattached) == len(everything)
    assert all(d["actor"] for d in everything)


def test_days_are_whole_and_both_ends_included(society, officer, auditor, listed):
    for day in (dt.date(2026, 1, 31), dt.date(2026, 2, 1), dt.date(2026, 2, 2)):
        # Just before midnight in London (UTC in winter): still that day.
        with time_machine.travel(dt.datetime.combine(day, dt.time(23, 59), tzinfo=dt.UTC)):
            decision_record(actor=officer, issuer=society, rule="example", allowed=True, reason=str(day))

    def reasons(**query):
        return [d["reason"] for d in listed(auditor, issuer=society.pk, rule="example", **query)]

    assert reasons(since="2026-02-01") == ["2026-02-02", "2026-02-01"]
    assert reasons(until="2026-02-01") == ["2026-02-01", "2026-01-31"]
    assert reasons(since="2026-02-01", until="2026-02-01") == ["2026-02-01"]


@pytest.mark.parametrize(
    "query",
    [
        {"since": "yesterday"},
        {"until": "2026-02-30"},
        {"since": "2026-02-02", "until": "2026-02-01"},
        {"issue": "one"},
        {"issue": "0"},
        {"issue": "99999999"},
        {"outcome": "maybe"},
        {"issuer": "x"},
    ],
)
def test_junk_in_the_query_is_400_with_a_code(society, auditor, query, assert_error, api_client_for):
    body = assert_error(
        api_client_for(auditor).get(PATH, {"issuer": society.pk, **query}), 400, "invalid_query"
    )
    assert set(body["fields"]) & set(query)
    assert_error(
        api_client_for(auditor).get("/api/v1/compliance/decisions.csv", {"issuer": society.pk, **query}),
        400,
        "invalid_query",
    )


def test_an_issue_of_another_issuer_is_refused(
    society, cic, officer, auditor, make_user, make_issue, assert_error, api_client_for
):
    cic_officer = make_user("cic_officer", resident=False)
    RoleGrant.objects.create(issuer=cic, user=cic_officer, role="finance_officer")
    elsewhere = make_issue(cic, cic_officer)
    assert_error(
        api_client_for(auditor).get(PATH, {"issuer": society.pk, "issue": elsewhere.pk}), 400, "invalid_query"
    )


FORMULAS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


def test_the_csv_has_every_decision_and_no_cell_a_spreadsheet_would_run(
    society, officer, auditor, resident, make_issue, api_client_for, assert_error
):
    make_issue(society, officer)
    for reason in FORMULAS:
        decision_record(
            actor=officer,
            issuer=society,
            rule="example",
            allowed=False,
            reason=reason,
            context={"note": reason},
        )
    response = api_client_for(auditor).get("/api/v1/compliance/decisions.csv", {"issuer": society.pk})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="decisions-issuer-{society.pk}.csv"' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert rows[0]["rule"] == "rate_cap"  # oldest first: the issue's opening
    examples = [r for r in rows if r["rule"] == "example"]
    assert [r["reason"] for r in examples] == ["'" + reason for reason in FORMULAS]
    assert all(r["actor"] == "olive_officer" for r in examples)
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
    assert len(rows) == Decision.objects.filter(issuer=society).count()
    # The filters apply to the download too; and so do the gates.
    only = api_client_for(auditor).get(
        "/api/v1/compliance/decisions.csv", {"issuer": society.pk, "outcome": "deny"}
    )
    assert len(list(csv.DictReader(io.StringIO(b"".join(only.streaming_content).decode())))) == len(FORMULAS)
    assert_error(
        api_client_for(resident).get("/api/v1/compliance/decisions.csv", {"issuer": society.pk}),
        403,
        "not_an_officer_or_auditor",
    )
    assert (
        api_client_for(None).get("/api/v1/compliance/decisions.csv", {"issuer": society.pk}).status_code
        == 401
    )
