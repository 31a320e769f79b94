"""Bank statement import: lines matched to subscriptions by reference, the rest listed back.

(Recording a payment by hand twice with one Idempotency-Key is in test_subscriptions.py.)
"""

from __future__ import annotations

import datetime as dt

import pytest
from drf_spectacular.generators import SchemaGenerator

from bondplatform.models import AuditEvent
from investments.models import Receipt, Refund, Subscription
from issuers.models import RoleGrant
from ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db


# The statements below are dated from 20 November 2026: money for an issue is taken from a
# week before it opened (investments.payments.receipts.received_on_check).
OPENED = dt.datetime(2026, 11, 19, 9, tzinfo=dt.UTC)


@pytest.fixture
def three_subscriptions(society, officer, make_user, make_issue, subscribe):
    issue = make_issue(society, officer, opens_at=OPENED)
    subs = {}
    for name, amount in (("anna", "250.00"), ("bert", "300.00"), ("cara", "500.00")):
        subs[name] = subscribe(make_user(name), issue, amount).json()
    return issue, subs


def test_matched_unmatched_overpaid_and_malformed_lines(
    society, officer, three_subscriptions, upload, balances
):
    issue, subs = three_subscriptions
    anna, bert, cara = (subs[n]["payment"]["reference"] for n in ("anna", "bert", "cara"))
    statement = (
        "Date,Description,Amount,Reference\n"
        f"2026-11-20,FASTER PAYMENT A SMITH,250.00,{anna}\n"  # 2: exact
        f"21/11/2026,BANK GIRO CREDIT,310.00,{bert.lower()} B JONES\n"  # 3: overpaid by £10, lower case, extra words
        "21/11/2026,FASTER PAYMENT,75.00,BIRTHDAY MONEY\n"  # 4: no reference
        "22/11/2026,FASTER PAYMENT,80.00,MB9Z9Z9Z9Z\n"  # 5: a reference nobody has
        "22/11/2026,CARD PAYMENT,-12.50,STATIONERY\n"  # 6: money out
        "31/02/2026,FASTER PAYMENT,500.00," + cara + "\n"  # 7: no such date
        "2026-11-23,FASTER PAYMENT,5e2," + cara + "\n"  # 8: not an amount
        "2026-11-23,FASTER PAYMENT\n"  # 9: too few fields
        f'2026-11-24,FASTER PAYMENT,"£200.00",{cara[:4]} {cara[4:]}\n'  # 10: short, spaced by the bank
    )
    response = upload(officer, society, statement)
    assert response.status_code == 200, response.json()
    report = response.json()

    matched = {line["line"]: line for line in report["matched"]}
    assert set(matched) == {2, 3, 10}
    assert (matched[2]["subscription"], matched[2]["status"], matched[2]["refund_owed"]) == (
        subs["anna"]["id"],
        "paid",
        None,
    )
    assert (matched[3]["status"], matched[3]["received"], matched[3]["refund_owed"]) == (
        "paid",
        "300.00",
        "10.00",
    )
    assert (matched[10]["status"], matched[10]["received"]) == ("pending_payment", "200.00")
    assert not any(line["already_recorded"] for line in report["matched"])

    unmatched = {line["line"]: line["reason"] for line in report["unmatched"]}
    assert unmatched == {
        4: "No subscription reference in the line.",
        5: "No subscription of this issuer has this reference.",
    }
    assert [line["line"] for line in report["skipped"]] == [6]
    errors = {line["line"]: line["detail"] for line in report["errors"]}
    assert set(errors) == {7, 8, 9}
    assert "YYYY-MM-DD or DD/MM/YYYY" in errors[7]
    assert "two decimals" in errors[8]
    assert report["totals"] == {
        "lines": 9,
        "matched": 3,
        "recorded": 3,
        "unmatched": 2,
        "skipped": 1,
        "errors": 3,
        "matched_amount": "760.00",
        "recorded_amount": "760.00",
        "unmatched_amount": "155.00",
    }
    # The books: £760 at the bank = £750 held (Anna 250, Bert 300, Cara 200 of 500) + Bert's £10 owed back.
    assert balances(society) == {
        "cash_at_bank": 760_00,
        f"subscriptions_held:{issue.pk}": -750_00,
        "refunds_payable": -10_00,
    }
    refund = Refund.objects.get(subscription_id=subs["bert"]["id"])
    assert (refund.reason, refund.status, refund.amount_pence) == ("overpayment", "pending", 10_00)
    assert Receipt.objects.get(subscription_id=subs["anna"]["id"]).received_on.isoformat() == "2026-11-20"
    assert AuditEvent.objects.filter(action="bank_statement.import").count() == 1


def test_uploading_the_same_statement_again_records_nothing_twice(
    society, officer, three_subscriptions, upload
):
    _, subs = three_subscriptions
    anna = subs["anna"]["payment"]["reference"]
    statement = f"date,amount,reference\n2026-11-20,100.00,{anna}\n2026-11-20,100.00,{anna}\n"
    first = upload(officer, society, statement).json()
    # Two identical lines are two payments.
    assert [line["received"] for line in first["matched"]] == ["100.00", "200.00"]
    entries = LedgerEntry.objects.filter(issuer=society).count()
    again = upload(officer, society, statement).json()
    assert [line["already_recorded"] for line in again["matched"]] == [True, True]
    assert again["totals"]["recorded"] == 0 and again["totals"]["recorded_amount"] == "0.00"
    assert LedgerEntry.objects.filter(issuer=society).count() == entries
    assert Subscription.objects.get(pk=subs["anna"]["id"]).received_pence == 200_00
    # A longer statement that overlaps: only the new line is recorded.
    longer = statement + f"2026-11-21,50.00,{anna}\n"
    third = upload(officer, society, longer).json()
    assert [line["already_recorded"] for line in third["matched"]] == [True, True, False]
    assert Subscription.objects.get(pk=subs["anna"]["id"]).status == "paid"
    assert Receipt.objects.filter(subscription_id=subs["anna"]["id"]).count() == 3


def test_another_issuers_reference_is_not_matched(
    society, cic, officer, make_user, upload, subscribe, make_issue
):
    cic_officer = make_user("cyril", resident=False)
    RoleGrant.objects.create(issuer=cic, user=cic_officer, role="finance_officer")
    theirs = subscribe(make_user("dora"), make_issue(cic, cic_officer), "250.00").json()
    report = upload(
        officer, society, f"date,amount,reference\n2026-11-20,250.00,{theirs['payment']['reference']}\n"
    ).json()
    assert report["matched"] == []
    assert report["unmatched"][0]["reason"] == "No subscription of this issuer has this reference."
    assert not Receipt.objects.exists()


def test_two_references_in_one_line_are_not_guessed(society, officer, three_subscriptions, upload):
    _, subs = three_subscriptions
    anna, bert = subs["anna"]["payment"]["reference"], subs["bert"]["payment"]["reference"]
    report = upload(officer, society, f"date,amount,reference\n2026-11-20,550.00,{anna} {bert}\n").json()
    assert report["matched"] == []
    assert report["unmatched"][0]["reason"].startswith("More than one reference")


def test_a_windows_1252_export_with_a_pound_sign_is_read(society, officer, three_subscriptions, upload):
    _, subs = three_subscriptions
    anna = subs["anna"]["payment"]["reference"]
    content = f"Date,Amount,Reference\r\n20/11/2026,£250.00,{anna}\r\n".encode("cp1252")
    report = upload(officer, society, content).json()
    assert [line["status"] for line in report["matched"]] == ["paid"]


def test_a_statement_without_the_needed_columns_is_refused(society, officer, upload):
    response = upload(officer, society, "when,how much\n2026-11-20,10.00\n")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_statement"
    assert "reference" in response.json()["detail"]
    empty = upload(officer, society, "")
    assert empty.status_code == 400


def test_only_an_officer_of_the_issuer_imports(society, officer, auditor, resident, outsider, upload):
    statement = "date,amount,reference\n"
    assert upload(auditor, society, statement).status_code == 403
    assert upload(resident, society, statement).status_code == 403
    assert upload(None, society, statement).status_code == 401
    assert upload(officer, society, statement).status_code == 200


def test_json_instead_of_a_file_is_refused(society, officer, api_client_for):
    response = api_client_for(officer).post(
        f"/api/v1/issuers/{society.pk}/bank-statements/", {"file": "a,b"}, format="json"
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    missing = api_client_for(officer).post(
        f"/api/v1/issuers/{society.pk}/bank-statements/", {}, format="multipart"
    )
    assert missing.status_code == 400
    assert "file" in missing.json()["fields"]


def test_the_upload_is_documented_as_multipart_in_the_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/issuers/{issuer_id}/bank-statements/"]["post"]
    assert list(operation["requestBody"]["content"]) == ["multipart/form-data"]
    webhook = schema["paths"]["/api/v1/payments/stripe/webhook/"]["post"]
    assert any(p["name"] == "Stripe-Signature" for p in webhook["parameters"])
