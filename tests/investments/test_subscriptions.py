"""Subscribing, paying by bank transfer, cancelling and expiring, through the API."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from bondplatform.actors import SYSTEM
from bondplatform.errors import NotPermitted
from bondplatform.models import AuditEvent
from compliance.models import Decision
from investments.models import BondIssue, Refund, Subscription
from investments.services.subscriptions import subscription_create, subscriptions_expire_unpaid
from issuers.models import RoleGrant
from ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db


def test_a_resident_subscribes_and_gets_bank_details_and_a_reference(
    society, officer, resident, make_issue, subscribe, api_client_for
):
    issue = make_issue(society, officer)
    response = subscribe(resident, issue, "250.00")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending_payment"
    assert body["amount"] == "250.00"
    assert body["payment"]["provider"] == "bank_transfer"
    assert body["payment"]["reference"].startswith("MB")
    assert body["payment"]["sort_code"] == "60-83-01"
    assert body["payment"]["account_number"] == "20345678"
    detail = api_client_for(None).get(f"/api/v1/issues/{issue.pk}/").json()
    assert (detail["committed"], detail["raised"], detail["remaining"]) == ("250.00", "0.00", "19750.00")
    assert detail["investor_count"] == 1


@pytest.mark.parametrize(
    ("amount", "status", "code"),
    [
        ("100.00", 201, None),
        ("99.99", 422, "below_minimum"),
        ("5000.00", 201, None),
        ("5000.01", 422, "cap_exceeded_per_investor"),
        ("12.345", 400, "invalid_amount"),
        ("-5.00", 400, "invalid_amount"),
        ("1e3", 400, "invalid_amount"),
        ("abc", 400, "invalid_amount"),
    ],
)
def test_amount_boundaries(society, officer, resident, amount, status, code, make_issue, subscribe):
    issue = make_issue(society, officer)
    response = subscribe(resident, issue, amount)
    assert response.status_code == status, response.json()
    if code:
        assert response.json()["code"] == code


def test_a_float_amount_is_refused(society, officer, resident, make_issue, api_client_for):
    issue = make_issue(society, officer)
    response = api_client_for(resident).post(
        f"/api/v1/issues/{issue.pk}/subscriptions/",
        {"amount": 250.0, "payment_method": "bank_transfer"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_amount"


def test_pending_and_paid_count_together_against_the_per_investor_cap(
    society, officer, resident, make_issue, subscribe, record_payment
):
    issue = make_issue(society, officer)
    first = subscribe(resident, issue, "3000.00").json()
    record_payment(officer, first["id"], "3000.00", first["payment"]["reference"])
    assert subscribe(resident, issue, "1500.00").status_code == 201  # pending
    refused = subscribe(resident, issue, "500.01")
    assert refused.status_code == 422
    assert refused.json()["code"] == "cap_exceeded_per_investor"
    assert "you can subscribe at most £500.00 more" in refused.json()["detail"]
    assert subscribe(resident, issue, "500.00").status_code == 201


def test_issue_capacity_exactly_full_then_a_penny_over(society, officer, make_user, make_issue, subscribe):
    issue = make_issue(society, officer, max_raise_pence=1_000_00, max_subscription_pence=600_00)
    a, b, c = (make_user(n) for n in ("anna", "bert", "cara"))
    assert subscribe(a, issue, "600.00").status_code == 201
    refused = subscribe(b, issue, "400.01")
    assert refused.status_code == 422
    assert refused.json()["code"] == "issue_full"
    assert refused.json()["remaining"] == "400.00"
    assert subscribe(b, issue, "400.00").status_code == 201
    assert subscribe(c, issue, "100.00").json()["code"] == "issue_full"
    issue.refresh_from_db()
    assert issue.committed_pence == issue.max_raise_pence


def test_society_member_cap_across_the_issuers_issues(society, officer, resident, make_issue, subscribe):
    big = {"max_subscription_pence": 80_000_00, "max_raise_pence": 500_000_00}
    first = make_issue(society, officer, name="Homes bond", **big)
    second = make_issue(society, officer, name="Jobs bond", **big)
    assert subscribe(resident, first, "80000.00").status_code == 201
    assert subscribe(resident, second, "20000.00").status_code == 201  # exactly £100,000 in all
    refused = subscribe(resident, second, "100.00")
    assert refused.status_code == 422
    assert refused.json()["code"] == "cap_exceeded_issuer_aggregate"


def test_the_member_cap_does_not_bind_a_cic(cic, make_user, resident, make_issue, subscribe):
    cic_officer = make_user("cyril", resident=False)
    RoleGrant.objects.create(issuer=cic, user=cic_officer, role="finance_officer")
    issue = make_issue(cic, cic_officer, max_subscription_pence=150_000_00, max_raise_pence=500_000_00)
    assert subscribe(resident, issue, "150000.00").status_code == 201


def test_under_18_and_outside_the_local_area_are_not_eligible(
    society, officer, make_user, make_issue, subscribe
):
    issue = make_issue(society, officer, eligible_postcode_prefixes=["S1", "S2"])
    today = timezone.localdate()
    child = make_user("kid", date_of_birth=today.replace(year=today.year - 17))
    away = make_user("manc", postcode="M1 1AA")
    local = make_user("local", postcode="S2 4QT")
    assert subscribe(child, issue).json()["code"] == "not_eligible"
    assert subscribe(away, issue).json()["code"] == "not_eligible"
    assert subscribe(local, issue).status_code == 201
    denials = Decision.objects.filter(issuer=society, outcome="deny", rule="not_eligible")
    assert denials.count() == 2


def test_a_draft_issue_does_not_exist_for_a_subscriber(society, officer, resident, make_issue, subscribe):
    issue = make_issue(society, officer, open_it=False)
    response = subscribe(resident, issue)
    assert response.status_code == 404
    assert response.json()["code"] == "issue_not_found"
    # Nothing about the resident lands in the issuer's decision log.
    assert not Decision.objects.filter(issuer=society, outcome="deny").exists()


def test_card_without_stripe_is_unavailable(society, officer, resident, settings, make_issue, subscribe):
    settings.STRIPE_SECRET_KEY = ""
    issue = make_issue(society, officer)
    response = subscribe(resident, issue, method="card")
    assert response.status_code == 422
    assert response.json()["code"] == "payment_method_unavailable"


def test_officers_and_outsiders_cannot_subscribe_without_a_resident_profile(
    society, officer, resident, make_issue, subscribe, api_client_for
):
    issue = make_issue(society, officer)
    assert subscribe(officer, issue).status_code == 403
    assert (
        api_client_for(None)
        .post(
            f"/api/v1/issues/{issue.pk}/subscriptions/",
            {"amount": "250.00", "payment_method": "bank_transfer"},
            format="json",
        )
        .status_code
        == 401
    )


def test_the_service_acting_on_its_own_cannot_subscribe(society, officer, make_issue):
    """SYSTEM passes the signed-in gate (it runs scheduled work) but is no person, so no resident."""
    issue = make_issue(society, officer)
    with pytest.raises(NotPermitted) as refused:
        subscription_create(
            actor=SYSTEM, issue_id=issue.pk, amount_pence=250_00, payment_method="bank_transfer"
        )
    assert refused.value.code == "person_only"
    assert not Subscription.objects.exists()


def test_same_idempotency_key_returns_the_first_subscription(
    society, officer, resident, make_issue, subscribe
):
    issue = make_issue(society, officer)
    first = subscribe(resident, issue, "250.00", key="tab-1")
    again = subscribe(resident, issue, "250.00", key="tab-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == again.json()["id"]
    different = subscribe(resident, issue, "300.00", key="tab-1")
    assert different.status_code == 409
    assert different.json()["code"] == "idempotency_key_reused"
    assert Subscription.objects.filter(investor=resident).count() == 1


def test_record_payment_marks_paid_once_per_idempotency_key(
    society, officer, resident, make_issue, subscribe, record_payment
):
    issue = make_issue(society, officer)
    sub = subscribe(resident, issue, "250.00").json()
    ref = sub["payment"]["reference"]
    first = record_payment(officer, sub["id"], "250.00", ref, key="bank-line-1")
    again = record_payment(officer, sub["id"], "250.00", ref, key="bank-line-1")
    assert first.status_code == again.status_code == 200
    assert again.json()["status"] == "paid"

    assert LedgerEntry.objects.filter(issuer=society, kind="subscription_payment").count() == 1
    issue.refresh_from_db()
    assert issue.raised_pence == 250_00
    changed = record_payment(officer, sub["id"], "251.00", ref, key="bank-line-1")
    assert changed.status_code == 409


def test_only_an_officer_of_the_issuer_records_payments(
    society, cic, officer, auditor, resident, make_issue, subscribe, record_payment
):
    issue = make_issue(society, officer)
    sub = subscribe(resident, issue, "250.00").json()
    ref = sub["payment"]["reference"]
    assert record_payment(auditor, sub["id"], "250.00", ref).status_code == 403
    assert record_payment(resident, sub["id"], "250.00", ref).status_code == 403


def test_wrong_reference_is_refused(society, officer, resident, make_issue, subscribe, record_payment):
    issue = make_issue(society, officer)
    sub = subscribe(resident, issue, "250.00").json()
    response = record_payment(officer, sub["id"], "250.00", "MBWRONG000")
    assert response.status_code == 422
    assert response.json()["code"] == "reference_mismatch"


def test_a_short_payment_stays_pending_and_an_overpayment_is_refunded(
    society, officer, resident, make_issue, subscribe, record_payment
):
    issue = make_issue(society, officer)
    sub = subscribe(resident, issue, "250.00").json()
    ref = sub["payment"]["reference"]
    short = record_payment(officer, sub["id"], "200.00", ref, key="line-1").json()
    assert (short["status"], short["received"]) == ("pending_payment", "200.00")
    paid = record_payment(officer, sub["id"], "60.00", ref, key="line-2").json()
    assert (paid["status"], paid["received"]) == ("paid", "250.00")
    refund = Refund.objects.get(subscription_id=sub["id"])
    assert (refund.amount_pence, refund.reason, refund.status) == (10_00, "overpayment", "pending")


def test_cancel_within_cooling_off_refunds_a_paid_subscription(
    society, officer, resident, make_issue, subscribe, record_payment, api_client_for
):
    issue = make_issue(society, officer)
    sub = subscribe(resident, issue, "250.00").json()
    record_payment(officer, sub["id"], "250.00", sub["payment"]["reference"])
    response = api_client_for(resident).post(f"/api/v1/subscriptions/{sub['id']}/cancel/")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    refund = Refund.objects.get(subscription_id=sub["id"])
    assert (refund.amount_pence, refund.reason) == (250_00, "cooling_off")
    issue.refresh_from_db()
    assert (issue.committed_pence, issue.raised_pence) == (0, 0)


def test_cancel_after_cooling_off_is_refused(
    society, officer, resident, make_issue, subscribe, record_payment, api_client_for
):
    issue = make_issue(society, officer, closes_at=timezone.now() + dt.timedelta(days=60))
    sub = subscribe(resident, issue, "250.00").json()
    record_payment(officer, sub["id"], "250.00", sub["payment"]["reference"])
    with time_machine.travel(timezone.now() + dt.timedelta(days=15)):
        response = api_client_for(resident).post(f"/api/v1/subscriptions/{sub['id']}/cancel/")
    assert response.status_code == 422
    assert response.json()["code"] == "cooling_off_expired"


def test_only_its_resident_can_cancel(
    society, officer, resident, outsider, make_issue, subscribe, api_client_for
):
    issue = make_issue(society, officer)
    sub = subscribe(resident, issue, "250.00").json()
    assert api_client_for(outsider).post(f"/api/v1/subscriptions/{sub['id']}/cancel/").status_code == 404
    assert api_client_for(officer).post(f"/api/v1/subscriptions/{sub['id']}/cancel/").status_code == 403


def test_unpaid_subscriptions_expire_and_release_capacity(society, officer, resident, make_issue, subscribe):
    issue = make_issue(society, officer)
    sub = subscribe(resident, issue, "250.00").json()
    assert subscriptions_expire_unpaid(now=timezone.now() + dt.timedelta(hours=71)) == 0
    assert subscriptions_expire_unpaid(now=timezone.now() + dt.timedelta(hours=73)) == 1
    assert Subscription.objects.get(pk=sub["id"]).status == "expired"
    assert BondIssue.objects.get(pk=issue.pk).committed_pence == 0
    # The scheduled task acted as the named system actor, and the audit trail says so.
    event = AuditEvent.objects.get(action="subscription.expired", object_id=str(sub["id"]))
    assert (event.actor, event.system_actor) == (None, "system")


def test_my_subscriptions_lists_only_my_own(
    society, officer, resident, outsider, make_issue, subscribe, api_client_for
):
    issue = make_issue(society, officer)
    subscribe(resident, issue, "250.00")
    subscribe(outsider, issue, "300.00")
    mine = api_client_for(resident).get("/api/v1/me/subscriptions/").json()
    assert [s["amount"] for s in mine["results"]] == ["250.00"]


def test_a_part_payment_that_expires_is_refunded_as_unpaid_in_time(
    society, officer, resident, make_issue, subscribe, record_payment
):
    issue = make_issue(society, officer)
    sub = subscribe(resident, issue, "250.00").json()
    record_payment(officer, sub["id"], "100.00", sub["payment"]["reference"], key="part")
    assert subscriptions_expire_unpaid(now=timezone.now() + dt.timedelta(hours=73)) == 1
    assert Subscription.objects.get(pk=sub["id"]).status == "refunded"
    refund = Refund.objects.get(subscription_id=sub["id"])
    assert (refund.amount_pence, refund.reason) == (100_00, "unpaid_in_time")
    assert BondIssue.objects.get(pk=issue.pk).committed_pence == 0
