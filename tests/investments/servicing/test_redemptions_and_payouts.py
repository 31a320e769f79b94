"""Early redemption, maturity and payouts, in pounds and pence.

Ada holds £1,000 of 4 % annual three-year bonds allotted on 2 March 2026,
with 90 days' notice. On 1 April she asks for £400 back: the redemption date
is 30 June 2026, and the £400 earns 120 days' interest, 400 x 4 % x 120/365 =
5.2603 -> £5.26.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine

from compliance.models import Decision
from investments.interest import add_months
from investments.models import Holding, Payout, PayoutAccount, RedemptionRequest

pytestmark = pytest.mark.django_db


def on(day: dt.date):
    return time_machine.travel(dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC))


@pytest.fixture
def ask(api_client_for):
    def ask(user, holding, amount, key=None):
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        return api_client_for(user).post(
            f"/api/v1/holdings/{holding.pk}/redemption-requests/",
            {"amount": amount},
            format="json",
            **headers,
        )

    return ask


@pytest.fixture
def decide(api_client_for):
    def decide(officer, request_id, verb, reason="Within the society's liquidity policy."):
        return api_client_for(officer).post(
            f"/api/v1/redemption-requests/{request_id}/{verb}/", {"reason": reason}, format="json"
        )

    return decide


@pytest.fixture
def ada_holds(society, officer, resident, allot):
    issue, h = allot(society, officer, {resident: "1000.00"})
    return issue, h["rita_resident"]


def test_an_early_redemption_owes_principal_and_interest_to_the_redemption_date(
    society, officer, resident, ada_holds, books, run_interest, ask, assert_error, decide
):
    issue, holding = ada_holds
    with on(dt.date(2026, 4, 1)):
        response = ask(resident, holding, "400.00", key="r1")
        assert response.status_code == 201, response.content
        asked = response.json()
        assert (asked["status"], asked["redemption_date"], asked["amount"]) == (
            "pending",
            "2026-06-30",
            "400.00",
        )
        replay = ask(resident, holding, "400.00", key="r1")
        assert (replay.status_code, replay.json()["id"], replay["Idempotent-Replayed"]) == (
            201,
            asked["id"],
            "true",
        )
        assert_error(ask(resident, holding, "300.00", key="r1"), 409, "idempotency_key_reused")
        # Nothing moves before the officer decides.
        assert Holding.objects.get(pk=holding.pk).redeemed_pence == 0
    with on(dt.date(2026, 4, 2)):
        approved = decide(officer, asked["id"], "approve")
    assert approved.status_code == 200, approved.content
    assert (approved.json()["status"], approved.json()["accrued_interest"]) == ("approved", "5.26")

    holding.refresh_from_db()
    assert (holding.outstanding_pence, holding.redeemed_pence, holding.status) == (600_00, 400_00, "active")
    assert books(society) == {
        "cash_at_bank": 1000_00,
        f"bond_principal:{holding.pk}": -600_00,
        f"redemption_payable:{holding.pk}": -400_00,
        "interest_expense": 5_26,
        f"interest_payable:{holding.pk}": -5_26,
    }
    request = RedemptionRequest.objects.get()
    assert request.redemption_date == dt.date(2026, 6, 30)
    entries = {e.idempotency_key: e.value_date for e in society.ledger_entries.all()}
    assert (
        entries[f"redemption:{request.pk}"]
        == entries[f"redemption:{request.pk}:interest"]
        == dt.date(2026, 6, 30)
    )
    decision = Decision.objects.get(rule="early_redemption")
    assert (decision.outcome, decision.reason, decision.actor) == (
        "allow",
        "Within the society's liquidity policy.",
        officer,
    )
    assert sorted(Payout.objects.values_list("kind", "amount_pence")) == [
        ("interest", 5_26),
        ("redemption", 400_00),
    ]

    # The coupon is on what is left: 600 x 4 % = 24.00; the £400 is not paid twice.
    coupon = add_months(issue.allotted_on, 12)
    with on(coupon):
        run = run_interest(officer, issue, coupon)
    assert run.total_gross_pence == 24_00
    # Approving again changes nothing.
    assert decide(officer, asked["id"], "approve").json()["status"] == "approved"
    assert Payout.objects.count() == 3


def test_a_redemption_approved_after_a_coupon_earns_from_that_coupon(
    society, officer, resident, ada_holds, run_interest, ask, decide, assert_error
):
    issue, holding = ada_holds
    coupon = add_months(issue.allotted_on, 12)  # 2 March 2027
    with on(dt.date(2027, 2, 1)):
        asked = ask(resident, holding, "1000.00").json()  # redemption date 2 May 2027
    with on(coupon):
        run_interest(officer, issue, coupon)
        approved = decide(officer, asked["id"], "approve").json()
    # 1,000 x 4 % x 61/365 (2 March to 2 May) = 6.6849 -> 6.68
    assert approved["accrued_interest"] == "6.68"
    holding.refresh_from_db()
    assert (holding.status, holding.interest_paid_pence) == ("redeemed", 40_00 + 6_68)
    assert_error(ask(resident, holding, "1.00"), 409, "holding_not_active")


def test_a_waiver_waives_the_interest_on_a_redemption_too(
    society, officer, resident, ada_holds, books, ask, decide
):
    _, holding = ada_holds
    Holding.objects.filter(pk=holding.pk).update(interest_preference="waive")
    with on(dt.date(2026, 4, 1)):
        asked = ask(resident, holding, "400.00").json()
        body = decide(officer, asked["id"], "approve").json()
    assert (body["accrued_interest"], body["interest_waived"]) == ("0.00", "5.26")
    assert books(society)[f"memo_interest_waived:{holding.pk}"] == -5_26
    assert [p.kind for p in Payout.objects.all()] == ["redemption"]


def test_refusals_of_a_redemption_request(society, officer, resident, outsider, ada_holds, assert_error, ask):
    _, holding = ada_holds
    with on(dt.date(2026, 4, 1)):
        assert_error(ask(resident, holding, "1000.01"), 422, "exceeds_principal")
        assert ask(resident, holding, "700.00").status_code == 201
        # Pending requests count: 300 is left to ask for.
        assert_error(ask(resident, holding, "300.01"), 422, "exceeds_principal")
        assert_error(ask(outsider, holding, "1.00"), 404, "holding_not_found")
        assert_error(ask(officer, holding, "1.00"), 403, "not_yours")
        assert ask(None, holding, "1.00").status_code == 401
        for amount in ("-1", "0", "1.001", "abc", 12.5):
            assert_error(ask(resident, holding, amount), 400, "invalid_amount")
        assert_error(ask(resident, Holding(pk=999999), "1.00"), 404, "holding_not_found")
    with on(dt.date(2028, 12, 20)):  # 90 days' notice would end after maturity, 2 March 2029
        assert_error(ask(resident, holding, "1.00"), 422, "matures_first")


def test_only_an_officer_decides_and_a_decline_keeps_its_reason(
    society, officer, auditor, resident, ada_holds, ask, assert_error, decide, api_client_for
):
    _, holding = ada_holds
    with on(dt.date(2026, 4, 1)):
        asked = ask(resident, holding, "100.00").json()
    for who in (resident, auditor):
        assert_error(decide(who, asked["id"], "approve"), 403, "not_an_officer")
    assert decide(None, asked["id"], "approve").status_code == 401
    assert_error(
        api_client_for(officer).post(
            f"/api/v1/redemption-requests/{asked['id']}/approve/", {}, format="json"
        ),
        400,
        "invalid",
    )
    assert_error(decide(officer, 999999, "approve"), 404, "redemption_request_not_found")
    declined = decide(officer, asked["id"], "decline", reason="Not enough cash this quarter.")
    assert (declined.json()["status"], declined.json()["reason"]) == (
        "declined",
        "Not enough cash this quarter.",
    )
    assert_error(decide(officer, asked["id"], "approve"), 409, "already_decided")
    assert Decision.objects.get(rule="early_redemption").outcome == "deny"
    assert Holding.objects.get(pk=holding.pk).redeemed_pence == 0


def test_maturity_repays_all_principal_and_the_final_interest(
    society,
    officer,
    resident,
    make_user,
    allot,
    books,
    run_interest,
    assert_error,
    api_client_for,
    ask,
    decide,
):
    ben = make_user("ben")
    issue, h = allot(society, officer, {resident: "1000.00", ben: "500.00"})
    maturity = add_months(issue.allotted_on, 36)
    with on(maturity - dt.timedelta(days=1)):
        assert_error(
            api_client_for(officer).post(f"/api/v1/issues/{issue.pk}/mature/"), 409, "not_yet_mature"
        )
    with on(add_months(issue.allotted_on, 12)):
        asked = ask(ben, h["ben"], "500.00").json()
        assert decide(officer, asked["id"], "decline").status_code == 200
        pending = ask(ben, h["ben"], "100.00").json()
    with on(maturity):
        assert_error(
            api_client_for(resident).post(f"/api/v1/issues/{issue.pk}/mature/"), 403, "not_an_officer"
        )
        response = api_client_for(officer).post(f"/api/v1/issues/{issue.pk}/mature/")
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "redeemed"
        # Asking again changes nothing.
        assert (
            api_client_for(officer).post(f"/api/v1/issues/{issue.pk}/mature/").json()["status"] == "redeemed"
        )
    # Three coupons each (the middle year holds 29 February 2028): 40.00 + 40.11 + 40.00, 20.00 + 20.05 + 20.00.
    rita, ben_h = (Holding.objects.get(pk=h[n].pk) for n in ("rita_resident", "ben"))
    assert (rita.interest_paid_pence, ben_h.interest_paid_pence) == (120_11, 60_05)
    assert (rita.status, rita.redeemed_pence, ben_h.status) == ("redeemed", 1000_00, "redeemed")
    balances = books(society)
    assert balances[f"redemption_payable:{rita.pk}"] == -1000_00
    assert balances[f"interest_payable:{rita.pk}"] == -120_11
    assert f"bond_principal:{rita.pk}" not in balances  # nets to zero
    assert RedemptionRequest.objects.get(pk=pending["id"]).status == "declined"
    assert sorted(Payout.objects.filter(kind="maturity").values_list("amount_pence", flat=True)) == [
        500_00,
        1000_00,
    ]


def test_payouts_go_in_batches_the_csv_lists_everyone_and_marking_sent_moves_the_cash(
    society, officer, auditor, resident, make_user, allot, books, run_interest, api_client_for, assert_error
):
    ben = make_user("ben", full_name="=cmd|' /C calc'!A0")
    issue, h = allot(society, officer, {resident: "1000.00", ben: "500.00"})
    assert (
        api_client_for(resident)
        .put(
            "/api/v1/me/payout-account/",
            {"account_name": "R Resident", "sort_code": "60-83-01", "account_number": "20345678"},
            format="json",
        )
        .status_code
        == 200
    )
    coupon = add_months(issue.allotted_on, 12)
    with on(coupon):
        run = run_interest(officer, issue, coupon)
        batches = (
            api_client_for(officer).get(f"/api/v1/issuers/{society.pk}/payout-batches/").json()["results"]
        )
    assert len(batches) == 1
    batch = batches[0]
    assert (batch["interest_run"], batch["payout_count"], batch["total"], batch["without_account"]) == (
        run.pk,
        2,
        "60.00",
        1,
    )

    response = api_client_for(officer).get(f"/api/v1/payout-batches/{batch['id']}/payouts.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    by_name = {r["holder_name"]: r for r in rows}
    assert by_name["Rita Resident"]["sort_code"] == "608301"
    assert by_name["Rita Resident"]["amount"] == "40.00"
    # Ben has no account: listed as owed, with a note; his name cannot start a formula.
    assert by_name["'=cmd|' /C calc'!A0"]["account_number"] == ""
    assert "no payout account" in by_name["'=cmd|' /C calc'!A0"]["note"]

    # The auditor may know the batch exists but not act on it; to a resident it does not exist.
    for who, status, code in ((auditor, 403, "not_an_officer"), (resident, 404, "payout_batch_not_found")):
        assert_error(
            api_client_for(who).get(f"/api/v1/payout-batches/{batch['id']}/payouts.csv"), status, code
        )
        assert_error(
            api_client_for(who).post(f"/api/v1/payout-batches/{batch['id']}/mark-sent/"), status, code
        )
        assert_error(
            api_client_for(who).get(f"/api/v1/issuers/{society.pk}/payout-batches/"), 403, "not_an_officer"
        )
    assert_error(
        api_client_for(officer).post("/api/v1/payout-batches/999999/mark-sent/"),
        404,
        "payout_batch_not_found",
    )

    before = books(society)
    assert before[f"interest_payable:{h['rita_resident'].pk}"] == -40_00
    sent = api_client_for(officer).post(f"/api/v1/payout-batches/{batch['id']}/mark-sent/")
    assert sent.status_code == 200, sent.content
    assert (sent.json()["status"], sent.json()["owed"]) == ("sent", "0.00")
    after = books(society)
    assert after["cash_at_bank"] == before["cash_at_bank"] - 60_00
    assert not [code for code in after if code.startswith("interest_payable")]
    assert Decision.objects.get(rule="asset_lock", outcome="allow").context["purpose"] == "bond_interest"
    # Marking it sent again moves nothing.
    assert api_client_for(officer).post(f"/api/v1/payout-batches/{batch['id']}/mark-sent/").status_code == 200
    assert books(society) == after
    mine = api_client_for(resident).get("/api/v1/me/holdings/").json()["results"][0]
    assert (mine["interest_paid"], mine["payout_pending"]) == ("40.00", "0.00")


def test_a_payout_above_what_is_owed_is_refused_by_the_asset_lock(
    society, officer, resident, ada_holds, run_interest, books, assert_error, api_client_for
):
    issue, _ = ada_holds
    coupon = add_months(issue.allotted_on, 12)
    with on(coupon):
        run_interest(officer, issue, coupon)
    Payout.objects.update(amount_pence=40_01)  # a bug, or a hand in the database
    batch = Payout.objects.get().batch
    before = books(society)
    assert_error(
        api_client_for(officer).post(f"/api/v1/payout-batches/{batch.pk}/mark-sent/"),
        422,
        "asset_lock_violation",
    )
    assert books(society) == before
    assert Decision.objects.filter(rule="asset_lock", outcome="deny").count() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"account_name": "R", "sort_code": "60-83-0", "account_number": "20345678"}, "sort_code"),
        ({"account_name": "R", "sort_code": "608301", "account_number": "2034567"}, "account_number"),
        ({"account_name": "R", "iban": "GB34BUKB20201555555555"}, "iban"),  # bad checksum
        ({"account_name": "R", "iban": "XX33BUKB20201555555555"}, "iban"),
        ({"account_name": "R", "iban": "GB33BUKB20201555555555", "sort_code": "608301"}, "iban"),
        ({"account_name": "", "iban": "GB33BUKB20201555555555"}, "account_name"),
        ({"account_name": "R"}, "non_field_errors"),
    ],
)
def test_a_payout_account_is_validated_never_guessed(resident, body, field, api_client_for):
    response = api_client_for(resident).put("/api/v1/me/payout-account/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert not PayoutAccount.objects.exists()


def test_a_payout_account_by_iban(resident, outsider, api_client_for, assert_error):
    client = api_client_for(resident)
    assert_error(client.get("/api/v1/me/payout-account/"), 404, "payout_account_not_found")
    response = client.put(
        "/api/v1/me/payout-account/",
        {"account_name": "Rita R", "iban": "gb33 bukb 2020 1555 5555 55"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert client.get("/api/v1/me/payout-account/").json() == {
        "account_name": "Rita R",
        "sort_code": "",
        "account_number": "",
        "iban": "GB33BUKB20201555555555",
    }
    assert_error(api_client_for(outsider).get("/api/v1/me/payout-account/"), 404, "payout_account_not_found")
    assert api_client_for(None).get("/api/v1/me/payout-account/").status_code == 401
