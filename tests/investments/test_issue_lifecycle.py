"""A bond issue from draft to allotment, told as an accountant would, in pounds and pence."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from bondplatform.errors import BadInput
from investments.models import BondIssue, Holding, Refund
from investments.selectors import transparency_of
from investments.services.issues import issue_update_terms, issues_close_due
from investments.services.subscriptions import subscription_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def post(api_client_for):
    def post(user, path, body=None):
        return api_client_for(user).post(path, body or {}, format="json")

    return post


def test_citylife_story_from_draft_to_allotment(
    society, officer, auditor, make_user, post, api_client_for, subscribe, record_payment, balances
):
    """Sheffield Citylife Society offers five-year money-back bonds: £100 to £5,000 each,
    £500 minimum raise, £20,000 cap. Three neighbours subscribe; two pay, one lets it lapse."""
    now = timezone.now()
    created = post(
        officer,
        "/api/v1/issues/",
        {
            "issuer": society.pk,
            "name": "Citylife Money-Back Bond",
            "coupon_rate_percent": "0.00",
            "term_months": 60,
            "interest_frequency": "at_maturity",
            "day_count": "act_365f",
            "min_subscription": "100.00",
            "max_subscription": "5000.00",
            "min_raise": "500.00",
            "max_raise": "20000.00",
            "opens_at": (now - dt.timedelta(days=2)).isoformat(),
            "closes_at": (now + dt.timedelta(days=28)).isoformat(),
            "eligible_postcode_prefixes": ["S"],
        },
    )
    assert created.status_code == 201, created.json()
    issue_id = created.json()["id"]
    assert created.json()["status"] == "draft"
    assert post(officer, f"/api/v1/issues/{issue_id}/open/").json()["status"] == "open"

    ada, ben, cal = (
        make_user(n, postcode=p) for n, p in (("ada", "S1 2AB"), ("ben", "S11 8QB"), ("cal", "S6 3AA"))
    )
    a = subscribe(ada, BondIssue(pk=issue_id), "1500.00").json()
    b = subscribe(ben, BondIssue(pk=issue_id), "750.50").json()
    subscribe(cal, BondIssue(pk=issue_id), "200.00")
    record_payment(officer, a["id"], "1500.00", a["payment"]["reference"], key="stmt-1")
    record_payment(officer, b["id"], "750.50", b["payment"]["reference"], key="stmt-2")

    closed = post(officer, f"/api/v1/issues/{issue_id}/close/").json()
    assert (closed["status"], closed["raised"], closed["committed"]) == ("closed", "2250.50", "2250.50")

    allot_on = timezone.localdate() - dt.timedelta(days=1)
    active = post(officer, f"/api/v1/issues/{issue_id}/allot/", {"allotted_on": allot_on.isoformat()}).json()
    assert (active["status"], active["allotted_on"]) == ("active", allot_on.isoformat())

    register = api_client_for(auditor).get(f"/api/v1/issues/{issue_id}/register/").json()["results"]
    assert [(r["holder"]["name"], r["holder"]["postcode"], r["principal"]) for r in register] == [
        ("Ada", "S1 2AB", "1500.00"),
        ("Ben", "S11 8QB", "750.50"),
    ]
    holdings = {h.holder.username: h.pk for h in Holding.objects.filter(issue_id=issue_id)}
    assert balances(society) == {
        "cash_at_bank": 2250_50,
        f"bond_principal:{holdings['ada']}": -1500_00,
        f"bond_principal:{holdings['ben']}": -750_50,
    }

    # Allotting twice moves nothing twice.
    again = post(officer, f"/api/v1/issues/{issue_id}/allot/")
    assert again.status_code == 200
    assert Holding.objects.filter(issue_id=issue_id).count() == 2

    transparency = api_client_for(None).get(f"/api/v1/issues/{issue_id}/transparency/").json()
    assert transparency["raised"] == "2250.50"
    assert transparency["investor_count"] == 2
    assert transparency["local_investor_share"] == "1.00"
    assert transparency["ledger_tip"]["sequence"] == 4  # two receipts, two allotments
    assert transparency["ledger_head"]["sequence"] == 0  # none signed yet (daily, or at a statement)
    verify = api_client_for(auditor).get(f"/api/v1/ledger/verify/?issuer={society.pk}").json()
    assert verify["valid"] is True


def test_a_failed_raise_refunds_everyone_and_the_ledger_nets_to_zero(
    society, officer, make_user, post, make_issue, subscribe, record_payment, balances
):
    issue = make_issue(society, officer, min_raise_pence=1_000_00)
    ada, ben = make_user("ada"), make_user("ben")
    a = subscribe(ada, issue, "400.00").json()
    b = subscribe(ben, issue, "300.00").json()
    record_payment(officer, a["id"], "400.00", a["payment"]["reference"], key="s1")
    record_payment(officer, b["id"], "300.00", b["payment"]["reference"], key="s2")
    closed = post(officer, f"/api/v1/issues/{issue.pk}/close/").json()
    assert closed["status"] == "failed"
    assert (closed["raised"], closed["committed"]) == ("0.00", "0.00")
    refunds = Refund.objects.filter(subscription__issue=issue, reason="failed_raise")
    assert sorted(r.amount_pence for r in refunds) == [300_00, 400_00]
    assert balances(society) == {"cash_at_bank": 700_00, "refunds_payable": -700_00}
    for refund in refunds:
        assert post(officer, f"/api/v1/refunds/{refund.pk}/mark-sent/").status_code == 200
    assert balances(society) == {}


def test_wrong_transitions_are_409(society, officer, post, make_issue):
    issue = make_issue(society, officer, open_it=False)
    assert post(officer, f"/api/v1/issues/{issue.pk}/close/").json()["code"] == "invalid_state"
    assert post(officer, f"/api/v1/issues/{issue.pk}/allot/").status_code == 409
    assert post(officer, f"/api/v1/issues/{issue.pk}/open/").status_code == 200
    assert post(officer, f"/api/v1/issues/{issue.pk}/open/").status_code == 409


def test_the_coupon_may_not_exceed_the_issuers_declared_cap(society, officer, post, make_issue):
    issue = make_issue(society, officer, open_it=False, coupon_rate_percent=Decimal("5.01"))
    response = post(officer, f"/api/v1/issues/{issue.pk}/open/")
    assert response.status_code == 422
    assert response.json()["code"] == "rate_cap_exceeded"
    at_cap = make_issue(society, officer, open_it=False, coupon_rate_percent=Decimal("5.00"))
    assert post(officer, f"/api/v1/issues/{at_cap.pk}/open/").status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("min_subscription", "6000.00"),
        ("max_subscription", "30000.00"),
        ("min_raise", "30000.00"),
        ("term_months", 0),
        ("coupon_rate_percent", "-1.00"),
    ],
)
def test_inconsistent_terms_are_bad_input(society, officer, field, value, post, terms_body):
    response = post(officer, "/api/v1/issues/", terms_body(society, **{field: value}))
    assert response.status_code == 400, response.json()


def test_closes_at_must_follow_opens_at(society, officer, post, terms_body):
    now = timezone.now().isoformat()
    response = post(officer, "/api/v1/issues/", terms_body(society, opens_at=now, closes_at=now))
    assert response.status_code == 400
    assert "closes_at" in response.json()["fields"]


def test_only_an_officer_of_the_issuer_creates_and_runs_issues(
    society, cic, officer, auditor, resident, post, api_client_for, citylife_terms, make_issue
):
    body = {"issuer": cic.pk, **{k: v for k, v in citylife_terms.items() if not k.endswith("_pence")}}
    assert post(officer, "/api/v1/issues/", body).status_code in (400, 403)
    issue = make_issue(society, officer, open_it=False)
    assert post(auditor, f"/api/v1/issues/{issue.pk}/open/").status_code == 403
    assert post(resident, f"/api/v1/issues/{issue.pk}/open/").status_code == 403
    assert post(None, f"/api/v1/issues/{issue.pk}/open/").status_code == 401
    assert api_client_for(resident).get(f"/api/v1/issues/{issue.pk}/register/").status_code == 403


def test_issues_close_on_their_own_at_closes_at(society, officer, resident, make_issue):
    issue = make_issue(society, officer)
    assert issues_close_due(now=timezone.now()) == []
    assert issues_close_due(now=issue.closes_at) == [issue.pk]
    issue.refresh_from_db()
    assert issue.status == "failed"  # nothing was paid, so the minimum raise was missed


def test_withdrawing_an_open_issue_refunds_paid_subscriptions(
    society, officer, resident, post, make_issue, subscribe, record_payment
):
    issue = make_issue(society, officer)
    sub = subscribe(resident, issue, "250.00").json()
    record_payment(officer, sub["id"], "250.00", sub["payment"]["reference"])
    response = post(officer, f"/api/v1/issues/{issue.pk}/withdraw/")
    assert response.json()["status"] == "withdrawn"
    assert Refund.objects.get(subscription_id=sub["id"]).reason == "withdrawn"


def test_list_filters_by_status(society, officer, api_client_for, make_issue):
    make_issue(society, officer, name="Open one")
    make_issue(society, officer, name="Draft one", open_it=False)
    names = [i["name"] for i in api_client_for(None).get("/api/v1/issues/?status=open").json()["results"]]
    assert names == ["Open one"]
    assert api_client_for(None).get("/api/v1/issues/?status=bogus").status_code == 400


def test_terms_change_while_draft_and_are_frozen_once_open(
    society, officer, resident, api_client_for, post, make_issue
):
    issue = make_issue(society, officer, open_it=False)
    path = f"/api/v1/issues/{issue.pk}/"
    changed = api_client_for(officer).patch(path, {"max_subscription": "4000.00"}, format="json")
    assert changed.status_code == 200, changed.json()
    assert changed.json()["max_subscription"] == "4000.00"
    inconsistent = api_client_for(officer).patch(path, {"min_subscription": "4500.00"}, format="json")
    assert inconsistent.status_code == 400
    assert api_client_for(resident).patch(path, {"name": "Mine now"}, format="json").status_code == 403
    post(officer, f"/api/v1/issues/{issue.pk}/open/")
    frozen = api_client_for(officer).patch(path, {"max_subscription": "5000.00"}, format="json")
    assert frozen.status_code == 409
    assert frozen.json()["code"] == "terms_frozen"


def test_ledger_entries_filter_by_issue(
    society, officer, auditor, resident, post, api_client_for, make_issue, record_payment, subscribe
):
    homes = make_issue(society, officer, name="Homes", min_raise_pence=100_00)
    jobs = make_issue(society, officer, name="Jobs")
    for issue, key in ((homes, "h"), (jobs, "j")):
        sub = subscribe(resident, issue, "250.00").json()
        record_payment(officer, sub["id"], "250.00", sub["payment"]["reference"], key=key)
    post(officer, f"/api/v1/issues/{homes.pk}/close/")
    post(officer, f"/api/v1/issues/{homes.pk}/allot/")
    entries = (
        api_client_for(auditor).get(f"/api/v1/ledger/entries/?issuer={society.pk}&issue={homes.pk}").json()
    )
    assert [e["kind"] for e in entries["results"]] == ["subscription_payment", "allotment"]
    jobs_only = (
        api_client_for(auditor).get(f"/api/v1/ledger/entries/?issuer={society.pk}&issue={jobs.pk}").json()
    )
    assert [e["kind"] for e in jobs_only["results"]] == ["subscription_payment"]
    everything = api_client_for(auditor).get(f"/api/v1/ledger/entries/?issuer={society.pk}").json()
    assert everything["count"] == 3


def test_drafts_are_seen_only_by_the_issuers_people_and_staff(
    society, officer, auditor, staff, resident, api_client_for, make_issue
):
    draft = make_issue(society, officer, name="Secret plan", open_it=False)
    for viewer, sees in ((None, False), (resident, False), (officer, True), (auditor, True), (staff, True)):
        names = [i["name"] for i in api_client_for(viewer).get("/api/v1/issues/").json()["results"]]
        assert ("Secret plan" in names) is sees
        detail = api_client_for(viewer).get(f"/api/v1/issues/{draft.pk}/")
        assert detail.status_code == (200 if sees else 404)


def test_an_issue_may_not_move_to_another_issuer(
    society, cic, officer, api_client_for, make_issue, citylife_terms
):
    issue = make_issue(society, officer, open_it=False)
    path = f"/api/v1/issues/{issue.pk}/"

    moved = api_client_for(officer).patch(path, {"issuer": cic.pk, "name": "Moved"}, format="json")

    assert moved.status_code == 400
    assert moved.json() == {
        "code": "invalid",
        "detail": "issuer: An issue cannot move to another issuer.",
        "fields": {"issuer": ["An issue cannot move to another issuer."]},
    }
    issue.refresh_from_db()
    assert (issue.issuer_id, issue.name) == (society.pk, citylife_terms["name"])
    # Sending the issue back whole, with its own issuer, is fine.
    same = api_client_for(officer).patch(path, {"issuer": society.pk, "name": "Renamed"}, format="json")
    assert same.status_code == 200, same.json()
    assert same.json()["name"] == "Renamed"


def test_the_service_itself_refuses_to_move_an_issue_to_another_issuer(
    society, cic, officer, make_issue, citylife_terms
):
    """Not only the API: a page, a task or a command calling the service is refused too."""
    issue = make_issue(society, officer, open_it=False)

    with pytest.raises(BadInput) as refused:
        issue_update_terms(actor=officer, issue_id=issue.pk, issuer=cic, name="Moved")

    assert (refused.value.status_code, refused.value.code) == (400, "invalid")
    assert refused.value.fields == {"issuer": ["An issue cannot move to another issuer."]}
    issue.refresh_from_db()
    assert (issue.issuer_id, issue.name) == (society.pk, citylife_terms["name"])


def test_transparency_reads_a_share_and_the_api_shows_it_to_two_decimals(
    society, officer, make_user, api_client_for, make_issue
):
    """The selector returns a number; only the serializer turns it into "0.67"."""
    issue = make_issue(society, officer, eligible_postcode_prefixes=["S1", "S2"])
    assert transparency_of(issue)["local_investor_share"] is None  # nobody yet
    for name, postcode in (("ada", "S1 2AB"), ("ben", "S2 4QT"), ("cat", "S1 1AA")):
        subscription_create(
            actor=make_user(name, postcode=postcode),
            issue_id=issue.pk,
            amount_pence=250_00,
            payment_method="bank_transfer",
        )
    # Later the area shrinks to S1 (a draft's terms could; here it is set directly): two of three.
    BondIssue.objects.filter(pk=issue.pk).update(eligible_postcode_prefixes=["S1"])
    issue.refresh_from_db()

    share = transparency_of(issue)["local_investor_share"]
    assert share == pytest.approx(2 / 3)
    shown = api_client_for(None).get(f"/api/v1/issues/{issue.pk}/transparency/").json()
    assert shown["local_investor_share"] == "0.67"
