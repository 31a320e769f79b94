"""Every main page, as each person who uses it, in Chromium: screenshotted at a phone's and a
desktop's width into test-artefacts/screenshots/ and checked with axe-core (the `look` fixture).

The journeys (test_web_journey, test_auditor_journey) look at the pages they pass through;
this walks the rest, in a world with enough investors for the participation audit to show
its figures, an interest run with its payout batch, a use of funds and a statement made.
"""

import datetime as dt

import pytest
from django.utils import timezone

from compliance.distributions import distribution_request
from investments.interest import add_months
from investments.models import Holding, InterestRun, PayoutBatch
from investments.payments.receipts import receipt_record
from investments.services import interest_runs
from investments.services import issues as issue_services
from investments.services.accountability import use_of_funds_report
from investments.services.subscriptions import subscription_create
from ledger.statement_jobs import statement_job_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Thirteen neighbours: two districts of five, and three who are merged into "other".
NEIGHBOURS = [
    ("S1 2AB", 250_00),
    ("S1 4QT", 1_000_00),
    ("S1 3JD", 500_00),
    ("S1 1WB", 5_000_00),
    ("S3 8AT", 100_00),
    ("S3 7RL", 750_00),
    ("S3 9DD", 2_000_00),
    ("S3 8BN", 300_00),
    ("S3 7QP", 1_250_00),
    ("S10 2TN", 400_00),
    ("S10 5BG", 3_000_00),
    ("S11 8YA", 600_00),
]


@pytest.fixture
def busy_issue(society, officer, auditor, resident, make_user, open_issue):
    """An issue with Rita and twelve neighbours as bondholders, a year's interest run, a use of
    its money reported, and a statement made for the auditor."""
    now = timezone.now()
    issue = open_issue(
        society,
        officer,
        name="Kelham Kitchen Bond",
        min_raise_pence=100_00,
        opens_at=now - dt.timedelta(days=800),
        eligible_postcode_prefixes=["S"],
    )
    people = [(resident, 1_000_00)] + [
        (make_user(f"neighbour_{n}", full_name=f"Neighbour {n}", postcode=postcode), amount)
        for n, (postcode, amount) in enumerate(NEIGHBOURS)
    ]
    for person, amount in people:
        subscription, _ = subscription_create(
            actor=person, issue_id=issue.pk, amount_pence=amount, payment_method="bank_transfer"
        )
        receipt_record(
            actor=officer,
            subscription_id=subscription.pk,
            amount_pence=amount,
            reference=subscription.reference,
            received_on=subscription.created_at.date(),
            idempotency_key=f"shot-{subscription.pk}",
        )
    allotted_on = timezone.localdate() - dt.timedelta(days=400)
    issue_services.issue_close(actor=officer, issue_id=issue.pk)
    issue_services.issue_allot(actor=officer, issue_id=issue.pk, allotted_on=allotted_on)
    interest_runs.interest_run_request(
        actor=officer, issue_id=issue.pk, period_end=add_months(allotted_on, 12)
    )
    distribution, _ = distribution_request(
        actor=officer,
        issuer_id=society.pk,
        kind="consideration",
        recipient_name="Hall Builders Ltd",
        amount_pence=2_400_00,
        purpose="Kitchen extraction hood",
        idempotency_key="shot-hood",
        invoice_reference="INV-77",
    )
    use_of_funds_report(
        actor=officer,
        issue_id=issue.pk,
        amount_pence=2_400_00,
        purpose="The kitchen's extraction hood, fitted",
        spent_on=timezone.localdate(),
        evidence_url="https://example.org/minutes/hood.pdf",
        ledger_sequence=distribution.ledger_entry.sequence,
    )
    statement_job_create(actor=auditor, issuer_id=society.pk)
    # And an offer open now, for the list of offers.
    open_issue(society, officer, name="Kelham Workshop Roof Bond", max_raise_pence=50_000_00)
    return issue


def test_every_main_page_at_a_phones_and_a_desktops_width(
    page, live_server, busy_issue, resident, officer, auditor, sign_in_as, look
):
    issue = busy_issue
    issuer = issue.issuer
    url = live_server.url
    holding = Holding.objects.get(issue=issue, subscription__investor=resident)

    # The public: the offers, an offer, where its money went, who took part.
    page.goto(f"{url}/")
    look(page, "public-home")
    page.goto(f"{url}/issues/{issue.pk}/")
    look(page, "public-offer")
    page.click("text=Where the money went")
    page.wait_for_selector("#figures")
    look(page, "public-transparency")
    page.click("text=Who took part")
    page.wait_for_selector("#districts")
    look(page, "public-participation")

    # A resident: their investments, a subscription, payout account, preference, redemption.
    sign_in_as(page, resident)
    page.goto(f"{url}/me/")
    look(page, "resident-my-investments")
    page.goto(f"{url}/subscriptions/{holding.subscription_id}/")
    look(page, "resident-subscription")
    page.goto(f"{url}/me/payout-account/")
    look(page, "resident-payout-account")
    # The interest preference is a form on their investments page: choose, save, see it said.
    page.goto(f"{url}/me/")
    preference = page.locator(f"form[action='/holdings/{holding.pk}/preference/']")
    preference.locator("select").select_option(index=1)
    preference.locator("button").click()
    page.wait_for_selector("text=Your interest preference is saved")
    look(page, "resident-preference")
    page.goto(f"{url}/holdings/{holding.pk}/redeem/")
    look(page, "resident-redeem")
    page.goto(f"{url}/officer/issues/{issue.pk}/")
    page.wait_for_selector("text=You may not see this page")
    look(page, "error-forbidden")
    page.click("button:has-text('Sign out')")

    # The finance officer: the desk, the issue, the register, the interest, payouts, the bank.
    sign_in_as(page, officer)
    page.goto(f"{url}/officer/")
    look(page, "officer-home")
    page.goto(f"{url}/officer/issues/{issue.pk}/")
    look(page, "officer-issue")
    page.goto(f"{url}/officer/issues/{issue.pk}/register/")
    look(page, "officer-register")
    page.goto(f"{url}/officer/interest-runs/{InterestRun.objects.get(issue=issue).pk}/")
    look(page, "officer-interest-run")
    assert PayoutBatch.objects.filter(issuer=issuer).exists()
    page.goto(f"{url}/officer/issuers/{issuer.pk}/payout-batches/")
    look(page, "officer-payout-batches")
    page.goto(f"{url}/officer/issuers/{issuer.pk}/bank-statement/")
    look(page, "officer-bank-statement")
    # A statement with a payment already recorded, one nobody can place, and money going out.
    received = holding.subscription.created_at.date().isoformat()
    statement = (
        "date,amount,reference,description\n"
        f"{received},1000.00,{holding.subscription.reference},RITA RESIDENT\n"
        f"{received},75.00,UNKNOWN123,A GIFT?\n"
        f"{received},-40.00,,BANK CHARGES\n"
    )
    page.set_input_files(
        "input[type=file]", {"name": "statement.csv", "mimeType": "text/csv", "buffer": statement.encode()}
    )
    page.click("button:has-text('Import the statement')")
    page.wait_for_selector("#report-totals")
    look(page, "officer-bank-statement-report")
    page.click("button:has-text('Sign out')")

    # The auditor: the books, the ledger, the decisions, the statements.
    sign_in_as(page, auditor)
    page.goto(f"{url}/auditor/issuers/{issuer.pk}/")
    look(page, "auditor-issuer")
    page.goto(f"{url}/auditor/issuers/{issuer.pk}/ledger/")
    look(page, "auditor-ledger-all")
    page.goto(f"{url}/auditor/issuers/{issuer.pk}/decisions/")
    look(page, "auditor-decisions-all")
    page.goto(f"{url}/auditor/issuers/{issuer.pk}/statements/")
    page.wait_for_selector("#statement-jobs")
    look(page, "auditor-statements")

    # A page that does not exist, in the site's own style.
    page.goto(f"{url}/no-such-page/")
    page.wait_for_selector("text=We cannot find that page")
    look(page, "error-not-found")
