"""The officers' and auditors' pages (Django's test client, no browser).

Personas from tests/conftest.py: Olive the officer and Arthur the auditor of the
Citylife society, Rita the resident, Oscar the outsider. A refusal by a gate
is a 403 page everywhere; nobody signed in is sent to the sign-in page.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bondplatform.models import AuditEvent
from compliance.models import Decision
from investments.models import IssueStatus, Receipt, Refund, RefundStatus, Subscription
from investments.payments import receipts
from investments.services import issues as issue_services
from investments.services import subscriptions as subscription_services
from issuers.models import RoleGrant

pytestmark = pytest.mark.django_db


def browser_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def subscribe(issue, resident, pounds: int) -> Subscription:
    subscription, _ = subscription_services.subscription_create(
        actor=resident, issue_id=issue.pk, amount_pence=pounds * 100, payment_method="bank_transfer"
    )
    return subscription


def pay(officer, subscription, *, key: str | None = None) -> None:
    receipts.receipt_record(
        actor=officer,
        subscription_id=subscription.pk,
        amount_pence=subscription.amount_pence,
        reference=subscription.reference,
        received_on=timezone.localdate(),
        idempotency_key=key or f"test:{subscription.pk}",
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def payment_form_data(response, subscription, **changes) -> dict[str, str]:
    """What the officer's browser would send from the record-payment form of this row."""
    form = dict(response.context["rows"])[subscription]  # model instances compare by primary key
    data = {name: str(form.initial[name]) for name in ("amount", "reference", "received_on", "token")}
    data.update(changes)
    return {f"{form.prefix}-{name}": value for name, value in data.items()}


@pytest.fixture
def draft(society, officer, make_issue):
    return make_issue(society, officer, open_it=False, name="Citylife Community Bond")


@pytest.fixture
def open_issue(society, officer, make_issue):
    return make_issue(society, officer, name="Citylife Community Bond")


# --- who sees what -------------------------------------------------------------------


@pytest.mark.parametrize("persona, role", [("officer", "Finance officer"), ("auditor", "Auditor")])
def test_the_officer_home_lists_my_issuers_and_their_issues(request, persona, role, open_issue, resident):
    subscribe(open_issue, resident, 250)
    response = browser_for(request.getfixturevalue(persona)).get("/officer/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Sheffield Citylife Society" in page
    assert f"You are: {role}" in page
    assert "Citylife Community Bond" in page
    assert "£250.00" in page  # committed
    assert "£19,750.00" in page  # remaining of the £20,000 maximum
    assert ("Upload a bank statement" in page) is (persona == "officer")


def test_drafts_are_listed_for_their_issuers_role_holders(auditor, draft):
    page = browser_for(auditor).get("/officer/").content.decode()
    assert "Citylife Community Bond" in page
    assert "Draft" in page


def test_the_issue_page_shows_terms_totals_and_only_the_allowed_buttons(officer, draft):
    response = browser_for(officer).get(f"/officer/issues/{draft.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "£100.00 to £5,000.00" in page
    assert "Open for subscriptions" in page
    assert "Close the offer" not in page
    assert "Allot the bonds" not in page
    assert f'href="/officer/issues/{draft.pk}/register/"' in page


def test_an_auditor_reads_the_issue_page_without_any_button(auditor, officer, open_issue, resident):
    subscription = subscribe(open_issue, resident, 250)
    response = browser_for(auditor).get(f"/officer/issues/{open_issue.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert subscription.reference in page
    assert "Rita Resident" in page
    assert "Close the offer" not in page
    assert "Record payment" not in page


@pytest.mark.parametrize("persona", ["officer", "auditor"])
def test_the_auditor_page_verifies_the_ledger_for_officers_and_auditors(
    request, persona, society, officer, open_issue, resident
):
    pay(officer, subscribe(open_issue, resident, 250))
    client = browser_for(request.getfixturevalue(persona))
    response = client.get(f"/auditor/issuers/{society.pk}/")
    assert response.status_code == 200
    assert response.context["verification"].valid
    page = response.content.decode()
    assert ">valid<" in page
    assert f'href="/api/v1/ledger/statement.csv?issuer={society.pk}"' in page
    assert f'href="/api/v1/ledger/statement.pdf?issuer={society.pk}"' in page
    assert f'href="/api/v1/ledger/public-key/?issuer={society.pk}"' in page
    assert "£250.00" in page  # the trial balance
    assert "Debits equal credits." in page
    assert "rate_cap" in page  # opening the issue checked the coupon against the cap
    # The download links work with the page's own sign-in (the API accepts the session).
    csv = client.get(f"/api/v1/ledger/statement.csv?issuer={society.pk}")
    assert csv.status_code == 200
    assert csv["Content-Type"].startswith("text/csv")


def test_the_register_page_lists_the_bondholders(officer, auditor, open_issue, resident):
    pay(officer, subscribe(open_issue, resident, 600))
    issue_services.issue_close(actor=officer, issue_id=open_issue.pk)
    issue_services.issue_allot(actor=officer, issue_id=open_issue.pk)
    response = browser_for(auditor).get(f"/officer/issues/{open_issue.pk}/register/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Rita Resident" in page
    assert "S1 2AB" in page
    assert "£600.00" in page


def _pages(society, issue, subscription, refund_id: int = 1):
    return {
        "GET": [
            "/officer/",
            f"/officer/issues/{issue.pk}/",
            f"/officer/issues/{issue.pk}/register/",
            f"/officer/issuers/{society.pk}/bank-statement/",
            f"/auditor/issuers/{society.pk}/",
        ],
        "POST": [
            f"/officer/issues/{issue.pk}/close/",
            f"/officer/issues/{issue.pk}/withdraw/",
            f"/officer/subscriptions/{subscription.pk}/record-payment/",
            f"/officer/issuers/{society.pk}/bank-statement/",
        ],
    }


@pytest.mark.parametrize("persona", ["resident", "outsider"])
def test_residents_and_outsiders_are_refused_with_403(request, persona, society, open_issue, resident):
    subscription = subscribe(open_issue, resident, 250)
    client = browser_for(request.getfixturevalue(persona))
    pages = _pages(society, open_issue, subscription)
    for path in pages["GET"]:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "You may not see this page" in response.content.decode(), path
    private = ("/officer/subscriptions/", "/officer/refunds/")  # a resident's own: 403; anyone else's: 404
    for path in pages["POST"]:
        expected = 404 if persona == "outsider" and path.startswith(private) else 403
        assert client.post(path).status_code == expected, path
    open_issue.refresh_from_db()
    assert open_issue.status == IssueStatus.OPEN
    assert not Receipt.objects.exists()


def test_an_auditor_cannot_act(auditor, society, open_issue, resident):
    subscription = subscribe(open_issue, resident, 250)
    client = browser_for(auditor)
    for path in _pages(society, open_issue, subscription)["POST"]:
        assert client.post(path).status_code == 403, path
    assert client.get(f"/officer/issuers/{society.pk}/bank-statement/").status_code == 403
    open_issue.refresh_from_db()
    assert open_issue.status == IssueStatus.OPEN


def test_an_officer_of_another_issuer_is_refused(make_user, cic, society, open_issue):
    carl = make_user("carl_cic_officer", resident=False)
    RoleGrant.objects.create(issuer=cic, user=carl, role="finance_officer")
    client = browser_for(carl)
    assert client.get("/officer/").status_code == 200
    assert "Sheffield Citylife Society" not in client.get("/officer/").content.decode()
    assert client.get(f"/officer/issues/{open_issue.pk}/").status_code == 403
    assert client.get(f"/auditor/issuers/{society.pk}/").status_code == 403
    assert client.post(f"/officer/issues/{open_issue.pk}/close/").status_code == 403


def test_nobody_signed_in_is_sent_to_sign_in(society, open_issue, resident):
    subscription = subscribe(open_issue, resident, 250)
    client = browser_for(None)
    pages = _pages(society, open_issue, subscription)
    for path in pages["GET"] + pages["POST"]:
        response = client.post(path) if path in pages["POST"] else client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/?next="), path


def test_what_does_not_exist_is_404(officer, society):
    client = browser_for(officer)
    assert client.get("/officer/issues/999999/").status_code == 404
    assert client.get("/auditor/issuers/999999/").status_code == 404
    assert client.post("/officer/subscriptions/999999/record-payment/").status_code == 404
    assert client.post("/officer/refunds/999999/mark-sent/").status_code == 404


def test_without_two_factor_where_it_is_required_an_officer_is_told_to_set_it_up(
    settings, officer, society, open_issue
):
    settings.TWO_FACTOR_REQUIRED = True
    client = browser_for(officer)
    for path in ("/officer/", f"/officer/issues/{open_issue.pk}/", f"/auditor/issuers/{society.pk}/"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "two-factor" in response.content.decode(), path


def test_the_navigation_offers_the_officer_pages_to_role_holders_only(officer, auditor, resident):
    assert 'href="/officer/"' in browser_for(officer).get("/").content.decode()
    assert 'href="/officer/"' in browser_for(auditor).get("/").content.decode()
    assert 'href="/officer/"' not in browser_for(resident).get("/").content.decode()
    assert 'href="/officer/"' not in browser_for(None).get("/").content.decode()


def test_the_issue_page_makes_the_same_queries_for_one_subscription_or_many(officer, open_issue, make_user):
    """Templates never query: more rows must not mean more queries."""
    client = browser_for(officer)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/officer/issues/{open_issue.pk}/").status_code == 200
        return len(captured)

    first = make_user("first_resident")
    pay(officer, subscribe(open_issue, first, 300))
    one = queries()
    for n in range(4):
        subscription = subscribe(open_issue, make_user(f"resident_{n}"), 200)
        if n % 2:
            pay(officer, subscription)
    assert queries() == one


# --- acting through the pages -------------------------------------------------------


def test_open_close_and_allot_through_the_pages(officer, draft, resident):
    client = browser_for(officer)

    response = client.post(f"/officer/issues/{draft.pk}/open/", follow=True)
    assert "Citylife Community Bond is now open." in messages_of(response)
    draft.refresh_from_db()
    assert draft.status == IssueStatus.OPEN
    assert "Close the offer" in response.content.decode()

    pay(officer, subscribe(draft, resident, 600))
    response = client.post(f"/officer/issues/{draft.pk}/close/", follow=True)
    assert "Citylife Community Bond is now closed." in messages_of(response)
    assert "Allot the bonds" in response.content.decode()

    allotted_on = timezone.localdate()
    response = client.post(
        f"/officer/issues/{draft.pk}/allot/", {"allotted_on": allotted_on.isoformat()}, follow=True
    )
    assert "Citylife Community Bond is now active." in messages_of(response)
    draft.refresh_from_db()
    assert draft.status == IssueStatus.ACTIVE
    assert draft.allotted_on == allotted_on
    assert response.context["actions"] == []

    actions = list(
        AuditEvent.objects.filter(object_type="bondissue", object_id=str(draft.pk), actor=officer)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["issue.create", "issue.open", "issue.closed", "issue.allot"]


def test_allotting_without_a_date_allots_today(officer, open_issue, resident):
    pay(officer, subscribe(open_issue, resident, 600))
    issue_services.issue_close(actor=officer, issue_id=open_issue.pk)
    browser_for(officer).post(f"/officer/issues/{open_issue.pk}/allot/", {"allotted_on": ""})
    open_issue.refresh_from_db()
    assert open_issue.status == IssueStatus.ACTIVE
    assert open_issue.allotted_on == timezone.localdate()


def test_withdrawing_refunds_everyone_and_the_refund_can_be_marked_sent(officer, open_issue, resident):
    subscription = subscribe(open_issue, resident, 250)
    pay(officer, subscription)
    client = browser_for(officer)
    response = client.post(f"/officer/issues/{open_issue.pk}/withdraw/", follow=True)
    assert "Citylife Community Bond is now withdrawn." in messages_of(response)
    refund = Refund.objects.get(subscription=subscription)
    assert refund.status == RefundStatus.PENDING
    assert f"/officer/refunds/{refund.pk}/mark-sent/" in response.content.decode()

    response = client.post(f"/officer/refunds/{refund.pk}/mark-sent/", follow=True)
    assert f"Refund {refund.pk} to {subscription.reference} is marked sent." in messages_of(response)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SENT
    assert "No refund is waiting to be sent." in response.content.decode()
    assert AuditEvent.objects.filter(action="refund.sent", object_id=str(refund.pk), actor=officer).exists()


@pytest.mark.parametrize(
    "action, status, sentence",
    [
        ("close", IssueStatus.DRAFT, "An issue that is draft cannot be closed."),
        ("allot", IssueStatus.OPEN, "An issue that is open cannot be allotted."),
        ("open", IssueStatus.OPEN, "An issue that is open cannot be opened."),
    ],
)
def test_a_transition_the_status_does_not_allow_is_a_message_not_an_error(
    officer, society, action, status, sentence, make_issue
):
    issue = make_issue(society, officer, open_it=status == IssueStatus.OPEN)
    response = browser_for(officer).post(f"/officer/issues/{issue.pk}/{action}/", follow=True)
    assert response.status_code == 200
    assert sentence in messages_of(response)
    issue.refresh_from_db()
    assert issue.status == status


def test_an_allotment_date_before_the_offer_opened_is_refused_with_a_message(officer, open_issue, resident):
    pay(officer, subscribe(open_issue, resident, 600))
    issue_services.issue_close(actor=officer, issue_id=open_issue.pk)
    too_early = timezone.localdate(open_issue.opens_at) - dt.timedelta(days=1)
    response = browser_for(officer).post(
        f"/officer/issues/{open_issue.pk}/allot/", {"allotted_on": too_early.isoformat()}, follow=True
    )
    assert any("The allotment date must lie between" in m for m in messages_of(response))
    open_issue.refresh_from_db()
    assert open_issue.status == IssueStatus.CLOSED


def test_recording_a_payment_twice_with_the_same_form_records_one_receipt(officer, open_issue, resident):
    subscription = subscribe(open_issue, resident, 250)
    client = browser_for(officer)
    page = client.get(f"/officer/issues/{open_issue.pk}/")
    data = payment_form_data(page, subscription)
    assert data[f"pay-{subscription.pk}-amount"] == "250.00"
    assert data[f"pay-{subscription.pk}-reference"] == subscription.reference
    # A browser's date picker takes YYYY-MM-DD only, whatever the locale.
    today = timezone.localdate().isoformat()
    assert f'type="date" name="pay-{subscription.pk}-received_on" value="{today}"' in page.content.decode()

    url = f"/officer/subscriptions/{subscription.pk}/record-payment/"
    first = client.post(url, data, follow=True)
    second = client.post(url, data, follow=True)  # the double click

    assert f"Recorded the payment for {subscription.reference}: Paid in full." in messages_of(first)
    assert second.status_code == 200
    assert Receipt.objects.filter(subscription=subscription).count() == 1
    subscription.refresh_from_db()
    assert subscription.status == "paid"
    assert subscription.received_pence == 250_00
    open_issue.refresh_from_db()
    assert open_issue.raised_pence == 250_00
    receipt = Receipt.objects.get(subscription=subscription)
    assert receipt.recorded_by == officer
    assert receipt.provider == "bank_transfer"
    assert AuditEvent.objects.filter(action="receipt.record", actor=officer).count() == 1


def test_each_rendering_of_the_page_gives_a_new_token(officer, open_issue, resident):
    subscription = subscribe(open_issue, resident, 250)
    client = browser_for(officer)
    first = payment_form_data(client.get(f"/officer/issues/{open_issue.pk}/"), subscription)
    again = payment_form_data(client.get(f"/officer/issues/{open_issue.pk}/"), subscription)
    assert first[f"pay-{subscription.pk}-token"] != again[f"pay-{subscription.pk}-token"]


def test_a_part_payment_then_the_rest_from_two_forms(officer, open_issue, resident):
    subscription = subscribe(open_issue, resident, 250)
    client = browser_for(officer)
    url = f"/officer/subscriptions/{subscription.pk}/record-payment/"
    data = payment_form_data(client.get(f"/officer/issues/{open_issue.pk}/"), subscription, amount="100")
    response = client.post(url, data, follow=True)
    assert f"Recorded the payment for {subscription.reference}: £150.00 is still to pay." in messages_of(
        response
    )
    rest = payment_form_data(response, subscription)
    assert rest[f"pay-{subscription.pk}-amount"] == "150.00"
    client.post(url, rest)
    subscription.refresh_from_db()
    assert subscription.status == "paid"
    assert Receipt.objects.filter(subscription=subscription).count() == 2


def test_a_wrong_reference_is_refused_with_a_message(officer, open_issue, resident):
    subscription = subscribe(open_issue, resident, 250)
    client = browser_for(officer)
    data = payment_form_data(
        client.get(f"/officer/issues/{open_issue.pk}/"), subscription, reference="MBWRONG234"
    )
    response = client.post(f"/officer/subscriptions/{subscription.pk}/record-payment/", data, follow=True)
    assert response.status_code == 200
    [message] = messages_of(response)
    assert message.startswith(
        f"Payment for {subscription.reference} not recorded: The reference 'MBWRONG234'"
    )
    assert not Receipt.objects.exists()
    subscription.refresh_from_db()
    assert subscription.status == "pending_payment"


@pytest.mark.parametrize(
    "changes, sentence",
    [
        ({"amount": "12.345"}, "Amount (£): Give the amount in pounds with at most two decimals"),
        ({"amount": "0"}, "Amount (£): The amount must be more than zero."),
        ({"token": ""}, "token: This field is required."),
        ({"received_on": "yesterday"}, "received on: Enter a valid date."),
    ],
)
def test_bad_input_in_the_payment_form_is_a_message(officer, open_issue, resident, changes, sentence):
    subscription = subscribe(open_issue, resident, 250)
    client = browser_for(officer)
    data = payment_form_data(client.get(f"/officer/issues/{open_issue.pk}/"), subscription, **changes)
    response = client.post(f"/officer/subscriptions/{subscription.pk}/record-payment/", data, follow=True)
    [message] = messages_of(response)
    assert sentence in message
    assert not Receipt.objects.exists()


def test_the_same_token_with_a_different_amount_is_refused(officer, open_issue, resident):
    subscription = subscribe(open_issue, resident, 250)
    client = browser_for(officer)
    url = f"/officer/subscriptions/{subscription.pk}/record-payment/"
    data = payment_form_data(client.get(f"/officer/issues/{open_issue.pk}/"), subscription, amount="100")
    client.post(url, data)
    response = client.post(url, {**data, f"pay-{subscription.pk}-amount": "150"}, follow=True)
    assert any("used before with a different payment" in m for m in messages_of(response))
    assert Receipt.objects.filter(subscription=subscription).count() == 1


# --- bank statements ------------------------------------------------------------------


def test_a_bank_statement_upload_shows_matched_and_unmatched_lines(
    officer, society, open_issue, resident, outsider
):
    rita = subscribe(open_issue, resident, 250)
    today = timezone.localdate().isoformat()
    csv = (
        "Date,Amount,Reference,Description\n"
        f"{today},250.00,{rita.reference},R AHMED\n"
        f"{today},75.00,MB99999999,SOMEONE ELSE\n"
        f"{today},-20.00,,BANK CHARGE\n"
        "31/02/2026,10.00,X,BAD DATE\n"
    ).encode()
    client = browser_for(officer)
    url = f"/officer/issuers/{society.pk}/bank-statement/"
    assert client.get(url).status_code == 200

    response = client.post(url, {"file": SimpleUploadedFile("statement.csv", csv, "text/csv")})
    assert response.status_code == 200
    report = response.context["report"]
    assert [line["reference"] for line in report["matched"]] == [rita.reference]
    assert [line["reference"] for line in report["unmatched"]] == ["MB99999999"]
    assert len(report["errors"]) == 1
    assert len(report["skipped"]) == 1
    page = response.content.decode()
    assert '<td class="money" id="matched-count">1</td>' in page
    assert '<td class="money" id="unmatched-count">1</td>' in page
    assert "£75.00" in page
    assert "No subscription of this issuer has this reference." in page
    rita.refresh_from_db()
    assert rita.status == "paid"

    again = client.post(url, {"file": SimpleUploadedFile("statement.csv", csv, "text/csv")})
    assert again.context["report"]["recorded_count"] == 0
    assert "already recorded" in again.content.decode()
    assert Receipt.objects.filter(subscription=rita).count() == 1


def test_a_statement_line_already_recorded_by_hand_is_said_so_in_words(
    officer, society, open_issue, resident
):
    rita = subscribe(open_issue, resident, 250)
    pay(officer, rita, key=f"web:{officer.pk}:token")  # the record-payment form, received today
    today = timezone.localdate()
    csv = f"Date,Amount,Reference\n{today.isoformat()},250.00,{rita.reference}\n".encode()
    client = browser_for(officer)
    url = f"/officer/issuers/{society.pk}/bank-statement/"
    response = client.post(url, {"file": SimpleUploadedFile("statement.csv", csv, "text/csv")})
    page = response.content.decode()
    assert f"already recorded by hand on {today.day} {today:%B %Y}" in page
    assert '<td class="money" id="recorded-count">0</td>' in page
    assert '<td class="money" id="hand-recorded-count">1</td>' in page
    assert Receipt.objects.filter(subscription=rita).count() == 1
    assert not Refund.objects.filter(subscription=rita).exists()


def test_a_payment_recorded_by_hand_under_another_amount_is_pointed_out(
    officer, society, open_issue, resident
):
    rita = subscribe(open_issue, resident, 250)
    receipts.receipt_record(
        actor=officer,
        subscription_id=rita.pk,
        amount_pence=205_00,
        reference=rita.reference,
        received_on=timezone.localdate(),
        idempotency_key=f"web:{officer.pk}:typo",
    )
    today = timezone.localdate()
    csv = f"Date,Amount,Reference\n{today.isoformat()},250.00,{rita.reference}\n".encode()
    response = browser_for(officer).post(
        f"/officer/issuers/{society.pk}/bank-statement/",
        {"file": SimpleUploadedFile("statement.csv", csv, "text/csv")},
    )
    page = response.content.decode()
    assert '<td class="money" id="recorded-count">1</td>' in page
    assert (
        f"Check: £205.00 was recorded by hand on {today.day} {today:%B %Y} for {rita.reference}"
        " and matches no statement line so far." in page
    )


def test_a_statement_that_is_not_csv_with_the_columns_is_a_message(officer, society):
    response = browser_for(officer).post(
        f"/officer/issuers/{society.pk}/bank-statement/",
        {"file": SimpleUploadedFile("statement.csv", b"when,how much\n1,2\n", "text/csv")},
    )
    assert response.status_code == 200
    assert response.context["report"] is None
    assert any("missing: date, amount, reference" in m for m in messages_of(response))


def test_the_auditor_page_shows_the_latest_hundred_decisions_newest_first(auditor, society):
    for n in range(105):
        Decision.objects.create(issuer=society, rule=f"rule_{n:03d}", outcome="allow", reason="Fine.")
    response = browser_for(auditor).get(f"/auditor/issuers/{society.pk}/")
    rules = [decision.rule for decision in response.context["decisions"]]
    assert len(rules) == 100
    assert rules[0] == "rule_104"
    assert "rule_004" not in rules
