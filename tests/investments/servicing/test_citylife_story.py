"""The Citylife story, from allotment to maturity, told as an accountant would.

Sheffield Citylife Society issues two-year 3 % bonds with annual coupons,
allotted on 2 March 2026; its terms let holders reinvest. Ada (£2,000) takes
her interest, Ben (£1,500) waives his as his social return, Cal (£1,000)
reinvests. A society pays gross: no tax.

- First coupon, 2 March 2027 (365 days): Ada 60.00 paid, Ben 45.00 waived,
  Cal 30.00 added to his principal (1,030.00).
- Ada asks for £500 back on 1 April 2027; with 90 days' notice it is repaid
  on 30 June 2027, with 120 days' interest: 500 x 3 % x 120/365 = 4.93.
- Second coupon at maturity, 2 March 2028 (366 days: 29 February 2028):
  Ada 1,500 x 3 % x 366/365 = 45.12 paid, Ben 45.12 waived, Cal 1,030 x 3 %
  x 366/365 = 30.98 reinvested (1,060.98); then all principal is repaid:
  1,500 + 1,500 + 1,060.98.
- Every batch of payouts is marked sent as the officer pays it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from investments.interest import add_months
from ledger.models import LedgerPosting
from ledger.selectors import trial_balance
from ledger.verify import ledger_verify

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def on(day: dt.date):
    return time_machine.travel(dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC))


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json() if response["Content-Type"].startswith("application/json") else response


def test_the_citylife_bond_from_allotment_to_maturity(
    society,
    officer,
    auditor,
    make_user,
    allot,
    books,
    django_capture_on_commit_callbacks,
    settings,
    api_client_for,
):
    # The story spans five years in minutes: the same sign-ins (tokens) last throughout.
    settings.TOKEN_TTL = 10 * 366 * 24 * 60 * 60
    ada, ben, cal = (make_user(n, full_name=n.title() + " Neighbour") for n in ("ada", "ben", "cal"))
    issue, h = allot(
        society,
        officer,
        {ada: "2000.00", ben: "1500.00", cal: "1000.00"},
        coupon_rate_percent=Decimal("3.00"),
        term_months=24,
        interest_frequency="annual",
        reinvestment_allowed=True,
    )
    assert issue.allotted_on == dt.date(2026, 3, 2)
    for who, preference in ((ben, "waive"), (cal, "reinvest")):
        ok(
            api_client_for(who).post(
                f"/api/v1/holdings/{h[who.username].pk}/interest-preference/",
                {"preference": preference},
                format="json",
            )
        )
    officer_api = api_client_for(officer)

    def send_every_open_batch():
        for batch in ok(officer_api.get(f"/api/v1/issuers/{society.pk}/payout-batches/"))["results"]:
            if batch["status"] == "open":
                ok(officer_api.get(f"/api/v1/payout-batches/{batch['id']}/payouts.csv"))
                assert (
                    ok(officer_api.post(f"/api/v1/payout-batches/{batch['id']}/mark-sent/"))["status"]
                    == "sent"
                )

    # The first coupon.
    first = add_months(issue.allotted_on, 12)
    with on(first):
        with django_capture_on_commit_callbacks(execute=True):
            run = ok(
                officer_api.post(
                    f"/api/v1/issues/{issue.pk}/interest-runs/", {"period_end": str(first)}, format="json"
                ),
                202,
            )
        run = ok(api_client_for(auditor).get(f"/api/v1/interest-runs/{run['id']}/"))
        assert (run["status"], run["total_interest"], run["total_waived"], run["total_tax_withheld"]) == (
            "completed",
            "90.00",
            "45.00",
            "0.00",
        )
        send_every_open_batch()

    # Ada's early redemption.
    with on(dt.date(2027, 4, 1)):
        asked = ok(
            api_client_for(ada).post(
                f"/api/v1/holdings/{h['ada'].pk}/redemption-requests/",
                {"amount": "500.00"},
                format="json",
                HTTP_IDEMPOTENCY_KEY="ada-1",
            ),
            201,
        )
        assert asked["redemption_date"] == "2027-06-30"
    with on(dt.date(2027, 4, 2)):
        approved = ok(
            officer_api.post(
                f"/api/v1/redemption-requests/{asked['id']}/approve/",
                {"reason": "Reserves allow it."},
                format="json",
            )
        )
        assert approved["accrued_interest"] == "4.93"
        send_every_open_batch()

    # Maturity: the second coupon, and every pound back.
    maturity = add_months(issue.allotted_on, 24)
    with on(maturity):
        assert ok(officer_api.post(f"/api/v1/issues/{issue.pk}/mature/"))["status"] == "redeemed"
        send_every_open_batch()

    holdings = {x["issue"]: x for x in ok(api_client_for(ada).get("/api/v1/me/holdings/"))["results"]}
    mine = holdings[issue.pk]
    assert (mine["principal"], mine["interest_paid"], mine["payout_pending"], mine["status"]) == (
        "0.00",
        "110.05",
        "0.00",
        "redeemed",
    )
    cal_view = ok(api_client_for(cal).get("/api/v1/me/holdings/"))["results"][0]
    assert (cal_view["interest_paid"], cal_view["interest_reinvested"]) == ("60.98", "60.98")
    ben_view = ok(api_client_for(ben).get("/api/v1/me/holdings/"))["results"][0]
    assert (ben_view["interest_paid"], ben_view["interest_waived"]) == ("0.00", "90.12")

    # The books: every payable nets to zero; what is left is the interest the society paid
    # from its own money (the cash account is short by it) and the memorandum of waivers.
    balances = books(society)
    assert balances == {
        "cash_at_bank": -171_03,
        "interest_expense": 171_03,
        "memo_interest_waived_contra": 90_12,
        f"memo_interest_waived:{h['ben'].pk}": -90_12,
    }
    tb = trial_balance(issuer=society)
    assert tb.balanced
    assert not [row for row in tb.rows if "payable" in row.account and row.balance_pence]
    assert ledger_verify(society).valid
    call_command("verify_ledger", "--issuer", str(society.pk))

    # Transparency agrees with the ledger, read independently here.
    transparency = ok(api_client_for(None).get(f"/api/v1/issues/{issue.pk}/transparency/"))
    ledger_interest_paid = balances["interest_expense"]  # gross = net: a society withholds nothing
    ledger_waived = balances["memo_interest_waived_contra"]
    # Principal repaid: what left the bank through the holders' redemption payable accounts.
    ledger_principal_repaid = sum(
        p.amount_pence
        for p in LedgerPosting.objects.filter(
            account__issuer=society, account__code__startswith="redemption_payable:", entry__kind="payout"
        )
    )
    assert ledger_principal_repaid == 4500_00 + 60_98
    assert transparency["interest_paid"] == f"{ledger_interest_paid / 100:.2f}" == "171.03"
    assert transparency["interest_waived"] == f"{ledger_waived / 100:.2f}" == "90.12"
    assert transparency["principal_repaid"] == f"{ledger_principal_repaid / 100:.2f}" == "4560.98"
