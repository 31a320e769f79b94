"""A bank statement line that an officer already recorded by hand is recognised, not recorded again.

Every bank transfer an officer records by hand came from a line of the issuer's
bank statement. When that statement is uploaded, the line claims the receipt
(same subscription, same amount, within a week of the line's date, nearest
first) instead of putting the money in the books a second time.
(Two uploads at once: test_bank_statement_races.py.)
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bondplatform.models import AuditEvent
from investments.models import Receipt, Refund, StatementLineClaim, Subscription
from investments.payments.bank_statements import CLAIM_WINDOW, bank_statement_import
from investments.payments.receipts import receipt_record
from investments.services.subscriptions import subscription_create
from ledger.models import LedgerEntry
from ledger.verify import ledger_verify

pytestmark = pytest.mark.django_db

# Money for an issue is taken from a week before it opened, and never after today.
DAYS_OPEN = 40


@pytest.fixture
def issue(society, officer, make_issue):
    return make_issue(
        society, officer, opens_at=timezone.now() - dt.timedelta(days=DAYS_OPEN), max_raise_pence=10**9
    )


@pytest.fixture
def anna(issue, make_user, subscribe):
    """Anna's £250 subscription (its JSON), paid by bank transfer."""
    response = subscribe(make_user("anna"), issue, "250.00")
    assert response.status_code == 201, response.content
    return response.json()


def days_ago(n: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=n)


def statement(*lines: tuple[dt.date, str, str]) -> str:
    """A bank's CSV export with these (date, amount, reference) lines."""
    return "Date,Amount,Reference,Description\n" + "".join(
        f"{when.strftime('%d/%m/%Y')},{amount},{reference},FASTER PAYMENT\n"
        for when, amount, reference in lines
    )


def test_a_payment_recorded_by_hand_is_not_recorded_again_from_the_statement(
    society, officer, issue, anna, record_payment, upload, balances
):
    """The reviewer's case: record by hand, then upload the statement that holds the same bank line."""
    reference, paid_on = anna["payment"]["reference"], days_ago(10)
    by_hand = record_payment(officer, anna["id"], "250.00", reference, received_on=paid_on.isoformat())
    assert by_hand.status_code == 200 and by_hand.json()["status"] == "paid"
    receipt = Receipt.objects.get(subscription_id=anna["id"])
    assert receipt.idempotency_key.startswith("manual:")
    books, entries = balances(society), LedgerEntry.objects.filter(issuer=society).count()
    assert books == {"cash_at_bank": 250_00, f"subscriptions_held:{issue.pk}": -250_00}

    report = upload(officer, society, statement((paid_on, "250.00", reference))).json()

    [line] = report["matched"]
    assert line["already_recorded"] is True
    assert line["matched_to_hand_recorded_receipt"] == {
        "receipt": receipt.pk,
        "amount": "250.00",
        "received_on": paid_on.isoformat(),
    }
    assert line["unclaimed_hand_recorded_receipts"] == []
    assert (line["status"], line["received"], line["refund_owed"]) == ("paid", "250.00", None)
    assert report["totals"]["recorded"] == 0 and report["totals"]["recorded_amount"] == "0.00"
    assert report["totals"]["matched_amount"] == "250.00"
    # Nothing new: one receipt, no refund owed, the same books, and a ledger that verifies.
    assert Receipt.objects.filter(subscription_id=anna["id"]).count() == 1
    assert not Refund.objects.exists()
    assert balances(society) == books
    assert LedgerEntry.objects.filter(issuer=society).count() == entries
    assert ledger_verify(society).valid
    claim = StatementLineClaim.objects.get()
    assert (claim.receipt_id, claim.line_date, claim.claimed_by) == (receipt.pk, paid_on, officer)
    assert AuditEvent.objects.filter(action="bank_statement.claim", object_id=str(claim.pk)).count() == 1

    # Uploading it again, or a longer statement around it: the claimed line stays claimed, once.
    again = upload(officer, society, statement((paid_on, "250.00", reference))).json()
    assert again["matched"][0]["matched_to_hand_recorded_receipt"]["receipt"] == receipt.pk
    assert again["totals"]["recorded"] == 0
    longer = upload(
        officer,
        society,
        statement((paid_on - dt.timedelta(days=1), "12.00", "MB9Z9Z9Z9Z"), (paid_on, "250.00", reference)),
    ).json()
    assert longer["totals"]["recorded"] == 0 and longer["matched"][0]["already_recorded"]
    assert StatementLineClaim.objects.count() == 1
    assert Receipt.objects.filter(subscription_id=anna["id"]).count() == 1
    assert balances(society) == books and ledger_verify(society).valid


def test_a_claimed_receipt_is_found_again_by_the_line_not_by_a_second_receipt(
    society, officer, anna, record_payment, upload
):
    """Two hand-recorded £100 payments, a statement with one of them: re-uploading it claims no second."""
    reference = anna["payment"]["reference"]
    record_payment(officer, anna["id"], "100.00", reference, key="a", received_on=days_ago(9).isoformat())
    record_payment(officer, anna["id"], "100.00", reference, key="b", received_on=days_ago(8).isoformat())
    one = statement((days_ago(9), "100.00", reference))
    first = upload(officer, society, one).json()
    assert first["matched"][0]["matched_to_hand_recorded_receipt"]["received_on"] == days_ago(9).isoformat()
    for _ in range(2):
        again = upload(officer, society, one).json()
        assert (
            again["matched"][0]["matched_to_hand_recorded_receipt"]
            == first["matched"][0]["matched_to_hand_recorded_receipt"]
        )
    assert StatementLineClaim.objects.count() == 1
    assert Receipt.objects.filter(subscription_id=anna["id"]).count() == 2
    # The other hand-recorded £100 is still waiting for its line; the next statement claims it.
    later = upload(officer, society, statement((days_ago(8), "100.00", reference))).json()
    assert later["matched"][0]["matched_to_hand_recorded_receipt"]["received_on"] == days_ago(8).isoformat()
    assert Subscription.objects.get(pk=anna["id"]).received_pence == 200_00


def test_two_identical_lines_and_one_payment_recorded_by_hand(
    society, officer, issue, anna, record_payment, upload, balances
):
    """The first line claims the hand-recorded receipt; the second is money the officer did not record:
    recorded, and as Anna had already paid in full, it is owed back whole."""
    reference, paid_on = anna["payment"]["reference"], days_ago(5)
    record_payment(officer, anna["id"], "250.00", reference, received_on=paid_on.isoformat())
    twice = statement((paid_on, "250.00", reference), (paid_on, "250.00", reference))
    report = upload(officer, society, twice).json()
    first, second = report["matched"]
    assert first["matched_to_hand_recorded_receipt"] is not None and first["already_recorded"]
    assert first["refund_owed"] is None
    assert second["matched_to_hand_recorded_receipt"] is None and not second["already_recorded"]
    assert (second["status"], second["received"], second["refund_owed"]) == ("paid", "250.00", "250.00")
    assert (report["totals"]["recorded"], report["totals"]["recorded_amount"]) == (1, "250.00")
    refund = Refund.objects.get(subscription_id=anna["id"])
    # As for any money for a subscription already paid: owed back whole (receipt_record's rule).
    assert (refund.reason, refund.amount_pence) == ("late_payment", 250_00)
    assert balances(society) == {
        "cash_at_bank": 500_00,
        f"subscriptions_held:{issue.pk}": -250_00,
        "refunds_payable": -250_00,
    }
    # Again: nothing new, neither line.
    again = upload(officer, society, twice).json()
    assert [line["already_recorded"] for line in again["matched"]] == [True, True]
    assert (
        again["matched"][0]["matched_to_hand_recorded_receipt"] == first["matched_to_hand_recorded_receipt"]
    )
    assert again["matched"][1]["matched_to_hand_recorded_receipt"] is None
    assert Receipt.objects.filter(subscription_id=anna["id"]).count() == 2
    assert ledger_verify(society).valid


def test_a_payment_recorded_by_hand_under_another_amount_is_not_claimed_but_pointed_out(
    society, officer, anna, record_payment, upload
):
    """£205 typed for £250: the line is recorded as before, and the report points at the £205."""
    reference, paid_on = anna["payment"]["reference"], days_ago(3)
    record_payment(officer, anna["id"], "205.00", reference, received_on=paid_on.isoformat())
    typo = Receipt.objects.get(subscription_id=anna["id"])
    report = upload(officer, society, statement((paid_on, "250.00", reference))).json()
    [line] = report["matched"]
    assert line["matched_to_hand_recorded_receipt"] is None
    assert not line["already_recorded"] and report["totals"]["recorded"] == 1
    assert line["unclaimed_hand_recorded_receipts"] == [
        {"receipt": typo.pk, "amount": "205.00", "received_on": paid_on.isoformat()}
    ]
    assert not StatementLineClaim.objects.exists()
    assert Subscription.objects.get(pk=anna["id"]).received_pence == 250_00
    # The warning stays on the line while the £205 matches no line.
    again = upload(officer, society, statement((paid_on, "250.00", reference))).json()
    assert again["matched"][0]["unclaimed_hand_recorded_receipts"] == line["unclaimed_hand_recorded_receipts"]


def test_the_line_claims_within_a_week_of_its_date_the_nearest_first(
    society, officer, anna, record_payment, upload
):
    reference, line_on = anna["payment"]["reference"], days_ago(20)
    for key, distance in (("far", CLAIM_WINDOW.days + 1), ("week", CLAIM_WINDOW.days), ("near", -2)):
        when = (line_on - dt.timedelta(days=distance)).isoformat()
        assert (
            record_payment(officer, anna["id"], "50.00", reference, key=key, received_on=when).status_code
            == 200
        )
    near, week, far = (
        Receipt.objects.get(idempotency_key=f"manual:{officer.pk}:{key}") for key in ("near", "week", "far")
    )
    report = upload(
        officer,
        society,
        statement(
            (line_on, "50.00", reference), (line_on, "50.00", reference), (line_on, "50.00", reference)
        ),
    ).json()
    claimed = [line["matched_to_hand_recorded_receipt"] for line in report["matched"]]
    assert [c and c["receipt"] for c in claimed] == [near.pk, week.pk, None]
    # Eight days away is another payment as far as the statement knows: pointed out on the recorded line.
    assert [r["receipt"] for r in report["matched"][2]["unclaimed_hand_recorded_receipts"]] == [far.pk]


def test_a_receipt_recorded_from_a_statement_or_by_stripe_is_never_claimed(
    society, officer, issue, make_user, upload
):
    """Only money an officer recorded by hand is a line of a statement still to come."""
    bea, _ = subscription_create(
        actor=make_user("bea"), issue_id=issue.pk, amount_pence=250_00, payment_method="bank_transfer"
    )
    receipt_record(
        actor=officer,
        subscription_id=bea.pk,
        amount_pence=250_00,
        reference=bea.reference,
        received_on=days_ago(4),
        idempotency_key="stripe:pi_123",
        provider="stripe",
    )
    report = upload(officer, society, statement((days_ago(4), "250.00", bea.reference))).json()
    assert report["matched"][0]["matched_to_hand_recorded_receipt"] is None
    assert report["totals"]["recorded"] == 1
    assert not StatementLineClaim.objects.exists()


def test_the_schema_documents_the_new_facts_of_a_line():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    line = schema["components"]["schemas"]["BankStatementMatchedLine"]
    claimed = line["properties"]["matched_to_hand_recorded_receipt"]
    assert claimed.get("nullable") and "recorded by hand" in claimed["description"]
    assert "recorded by hand" in line["properties"]["unclaimed_hand_recorded_receipts"]["description"]
    assert "matched_to_hand_recorded_receipt" in line["required"]


# --- a property: the books hold the money of the real bank lines, whatever the order ----------

_names = itertools.count()
PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def bank_history(draw):
    """Real bank lines for one subscription (day, pence), and what happened to them, in order:
    ("hand", i, slip) an officer records line i by hand, dated `slip` days off (at most two);
    ("upload", first, last) a statement of the whole days from line `first`'s to line `last`'s."""
    lines = sorted(
        draw(
            st.lists(
                st.tuples(st.integers(3, 25), st.sampled_from([50_00, 50_00, 100_00])), min_size=1, max_size=6
            )
        )
    )
    events = []
    uploaded: set[int] = set()
    for _ in range(draw(st.integers(0, 8))):
        if draw(st.booleans()):
            # An officer records by hand only money that no uploaded statement has shown yet.
            waiting = [i for i in range(len(lines)) if i not in uploaded]
            if waiting:
                events.append(("hand", draw(st.sampled_from(waiting)), draw(st.integers(-2, 2))))
        else:
            first = draw(st.integers(0, len(lines) - 1))
            last = draw(st.integers(first, len(lines) - 1))
            days = {lines[i][0] for i in range(first, last + 1)}
            uploaded |= {i for i, (day, _) in enumerate(lines) if day in days}
            events.append(("upload", min(days), max(days)))
    events.append(("upload", lines[0][0], lines[-1][0]))  # at last, a statement with every line
    return lines, events


@PROPERTY_SETTINGS
@given(history=bank_history())
def test_the_money_recorded_is_the_money_on_the_real_bank_lines(history, society, officer, issue, make_user):
    lines, events = history
    resident = make_user(f"payer{next(_names)}")
    subscription, _ = subscription_create(
        actor=resident, issue_id=issue.pk, amount_pence=100_00, payment_method="bank_transfer"
    )
    hand_recorded: set[int] = set()
    for event in events:
        if event[0] == "hand":
            _, i, slip = event
            if i in hand_recorded:
                continue  # the officer sees it is recorded
            hand_recorded.add(i)
            day, pence = lines[i]
            receipt_record(
                actor=officer,
                subscription_id=subscription.pk,
                amount_pence=pence,
                reference=subscription.reference,
                received_on=days_ago(max(day + slip, 0)),
                idempotency_key=f"manual:{uuid.uuid4().hex}",
            )
        else:
            _, newest, oldest = event
            shown = [
                (days_ago(day), f"{pence // 100}.00", subscription.reference)
                for day, pence in lines
                if newest <= day <= oldest
            ]
            bank_statement_import(actor=officer, issuer_id=society.pk, content=statement(*shown).encode())
    receipts = Receipt.objects.filter(subscription=subscription)
    assert sum(r.amount_pence for r in receipts) == sum(pence for _, pence in lines)
    assert receipts.count() == len(lines)
    assert StatementLineClaim.objects.filter(receipt__subscription=subscription).count() == len(hand_recorded)
