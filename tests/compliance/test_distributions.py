"""Distributions through the API, by legal form: each asset-lock rule just inside and just outside.

A society, a co-operative with a lock in its rules, a CIC limited by shares, a
CIC limited by guarantee and a charity may pay suppliers against an invoice
and transfer assets to another asset-locked body; only the CIC limited by
shares may pay dividends, within 35 % of the year's declared profits; none of
them may pay anything else. A company without an asset lock may pay anything.
A refusal leaves the ledger untouched and keeps its deny decision.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from bondplatform.models import AuditEvent
from compliance.models import Decision, Distribution, Outcome
from issuers.models import Issuer, RoleGrant
from ledger.models import LedgerEntry
from ledger.verify import ledger_verify

pytestmark = pytest.mark.django_db

FORMS = {
    "society": ("community_benefit_society", "statutory"),
    "co-operative": ("cooperative_society", "articles"),
    "cic_by_shares": ("cic_limited_by_shares", "cic"),
    "cic_by_guarantee": ("cic_limited_by_guarantee", "cic"),
    "charity": ("charity", "articles"),
    "unlocked_company": ("company_limited_by_guarantee", "none"),
}
LOCKED = [name for name in FORMS if name != "unlocked_company"]
SOURCES = {
    "statutory": "SI 2006/264",
    "cic": "Schedule 3",
    "articles": "articles or rules",
}

_keys = itertools.count(1)


@pytest.fixture
def body_of(make_user):
    """body_of(form) -> (issuer, its finance officer)."""
    made: dict[str, tuple[Issuer, object]] = {}

    def make(form: str):
        if form not in made:
            legal_form, basis = FORMS[form]
            issuer = Issuer.objects.create(
                name=f"{form.title()} Ltd",
                legal_form=legal_form,
                registration_number=f"R{len(made) + 1}",
                asset_lock_basis=basis,
                max_interest_rate_percent=Decimal("5.00"),
            )
            officer = make_user(f"officer_{form.replace('-', '_')}", resident=False)
            RoleGrant.objects.create(issuer=issuer, user=officer, role="finance_officer")
            made[form] = (issuer, officer)
        return made[form]

    return make


@pytest.fixture
def pay(api_client_for):
    def pay(officer, issuer, *, key: str | None = None, **body):
        body = {
            "kind": "consideration",
            "recipient_name": "Solar Roofs Ltd",
            "amount": "900.00",
            "purpose": "Panels for the community hall",
            **body,
        }
        return api_client_for(officer).post(
            f"/api/v1/issuers/{issuer.pk}/distributions/",
            body,
            format="json",
            HTTP_IDEMPOTENCY_KEY=key or f"dist-{next(_keys)}",
        )

    return pay


@pytest.fixture
def refused(assert_error):
    def refused(response, issuer) -> dict:
        """A 422 `asset_lock_violation` that moved nothing and kept its deny decision."""
        body = assert_error(response, 422, "asset_lock_violation")
        assert body["rule"] == "asset_lock"
        assert body["source"]
        assert not LedgerEntry.objects.filter(issuer=issuer).exists()
        assert not Distribution.objects.filter(issuer=issuer).exists()
        decision = Decision.objects.filter(issuer=issuer, rule="asset_lock").latest("id")
        assert decision.outcome == Outcome.DENY
        assert decision.context["source"] == body["source"]
        return body

    return refused


def paid(response, issuer) -> dict:
    assert response.status_code == 201, response.content
    body = response.json()
    entry = LedgerEntry.objects.get(issuer=issuer, sequence=body["ledger_entry"]["sequence"])
    assert entry.kind == "distribution"
    assert Decision.objects.get(pk=body["decision"]).outcome == Outcome.ALLOW
    return body


@pytest.mark.parametrize("form", LOCKED)
def test_a_supplier_is_paid_against_an_invoice_and_not_without_one(form, body_of, refused, pay, balances):
    issuer, officer = body_of(form)
    body = refused(pay(officer, issuer, invoice_reference=" "), issuer)
    assert SOURCES[issuer.asset_lock_basis] in body["source"]
    shown = paid(pay(officer, issuer, invoice_reference="INV-2026-7"), issuer)
    assert shown["amount"] == "900.00"
    assert balances(issuer) == {"goods_and_services": 900_00, "cash_at_bank": -900_00}


@pytest.mark.parametrize("form", LOCKED)
def test_assets_go_to_another_asset_locked_body_only(form, body_of, refused, pay, balances):
    issuer, officer = body_of(form)
    transfer = {"kind": "transfer_to_asset_locked_body", "recipient_name": "Next Door Energy Society"}
    refused(
        pay(officer, issuer, **transfer, recipient_asset_locked=False, recipient_registration_number="IP9R"),
        issuer,
    )
    refused(
        pay(officer, issuer, **transfer, recipient_asset_locked=True, recipient_registration_number=""),
        issuer,
    )
    paid(
        pay(officer, issuer, **transfer, recipient_asset_locked=True, recipient_registration_number="IP9R"),
        issuer,
    )
    assert balances(issuer) == {"distributions": 900_00, "cash_at_bank": -900_00}


@pytest.mark.parametrize("form", LOCKED)
def test_nothing_else_leaves_an_asset_locked_body(form, body_of, refused, pay):
    issuer, officer = body_of(form)
    body = refused(pay(officer, issuer, kind="other", recipient_name="A director", amount="0.01"), issuer)
    assert "asset-locked body may not pay this out" in body["detail"]


@pytest.mark.parametrize("form", [f for f in LOCKED if f != "cic_by_shares"])
def test_only_a_cic_limited_by_shares_pays_dividends(form, body_of, api_client_for, refused, pay):
    issuer, officer = body_of(form)
    today = timezone.localdate()
    declared = api_client_for(officer).post(
        f"/api/v1/issuers/{issuer.pk}/financial-years/",
        {"year_end": (today + dt.timedelta(days=30)).isoformat(), "distributable_profits": "10000.00"},
        format="json",
    )
    assert declared.status_code == 201, declared.content
    body = refused(pay(officer, issuer, kind="dividend", recipient_name="Members", amount="0.01"), issuer)
    assert body["legal_form"] == issuer.legal_form


@pytest.fixture
def declare(api_client_for):
    def declare(officer, issuer, year_end: dt.date, profits: str):
        return api_client_for(officer).post(
            f"/api/v1/issuers/{issuer.pk}/financial-years/",
            {"year_end": year_end.isoformat(), "distributable_profits": profits},
            format="json",
        )

    return declare


@time_machine.travel(dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC))
def test_a_cic_by_shares_pays_dividends_up_to_35_percent_of_the_years_declared_profits(
    body_of, refused, pay, declare, assert_error, balances
):
    issuer, officer = body_of("cic_by_shares")
    dividend = {"kind": "dividend", "recipient_name": "Shareholders (2026 interim)"}
    # No year declared: no dividend at all.
    body = refused(pay(officer, issuer, **dividend, amount="0.01"), issuer)
    assert "CIC Regulations 2005 reg 19 and 20" in body["source"]
    assert declare(officer, issuer, dt.date(2026, 12, 31), "10000.00").status_code == 201
    # Cap £3,500: £1,000 now, then £2,500.01 is just outside and £2,500 just inside.
    first = paid(pay(officer, issuer, **dividend, amount="1000.00"), issuer)
    assert first["financial_year"] == "2026-12-31"
    over = assert_error(pay(officer, issuer, **dividend, amount="2500.01"), 422, "asset_lock_violation")
    assert (over["cap_pence"], over["paid_in_year_pence"]) == (3_500_00, 1_000_00)
    assert LedgerEntry.objects.filter(issuer=issuer).count() == 1  # the refusal posted nothing
    paid(pay(officer, issuer, **dividend, amount="2500.00"), issuer)
    assert balances(issuer) == {"distributions": 3_500_00, "cash_at_bank": -3_500_00}
    denied = Decision.objects.filter(issuer=issuer, rule="asset_lock", outcome=Outcome.DENY)
    assert denied.count() == 2
    assert denied.latest("id").context["cap_pence"] == 3_500_00


def test_dividends_count_against_the_year_that_contains_the_day_they_are_paid(
    body_of, declare, assert_error, pay
):
    issuer, officer = body_of("cic_by_shares")
    dividend = {"kind": "dividend", "recipient_name": "Shareholders"}
    assert declare(officer, issuer, dt.date(2026, 3, 31), "1000.00").status_code == 201  # cap £350
    assert declare(officer, issuer, dt.date(2027, 3, 31), "2000.00").status_code == 201  # cap £700
    with time_machine.travel(dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC)):  # the last day of the first year
        assert (
            paid(pay(officer, issuer, **dividend, amount="350.00"), issuer)["financial_year"] == "2026-03-31"
        )
        assert_error(pay(officer, issuer, **dividend, amount="0.01"), 422, "asset_lock_violation")
    with time_machine.travel(dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC)):  # the first day of the next
        assert (
            paid(pay(officer, issuer, **dividend, amount="700.00"), issuer)["financial_year"] == "2027-03-31"
        )
        assert_error(pay(officer, issuer, **dividend, amount="0.01"), 422, "asset_lock_violation")
    with time_machine.travel(dt.datetime(2027, 4, 1, 12, tzinfo=dt.UTC)):  # no year declared yet
        assert_error(pay(officer, issuer, **dividend, amount="0.01"), 422, "asset_lock_violation")


def test_a_company_without_an_asset_lock_may_pay_anything(body_of, pay):
    issuer, officer = body_of("unlocked_company")
    paid(pay(officer, issuer, kind="other", recipient_name="A director", amount="5000.00"), issuer)
    paid(pay(officer, issuer, kind="dividend", recipient_name="Members", amount="100.00"), issuer)
    paid(pay(officer, issuer, kind="consideration", invoice_reference=""), issuer)
    decisions = Decision.objects.filter(issuer=issuer, rule="asset_lock")
    assert {d.outcome for d in decisions} == {Outcome.ALLOW}
    assert decisions.count() == 3


def test_the_same_key_pays_once_and_another_request_under_it_is_refused(
    body_of, pay, assert_error, api_client_for
):
    issuer, officer = body_of("society")
    first = pay(officer, issuer, key="hall-panels", invoice_reference="INV-1")
    again = pay(officer, issuer, key="hall-panels", invoice_reference="INV-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert LedgerEntry.objects.filter(issuer=issuer).count() == 1
    assert_error(
        pay(officer, issuer, key="hall-panels", invoice_reference="INV-2"), 409, "idempotency_key_reused"
    )
    missing = api_client_for(officer).post(
        f"/api/v1/issuers/{issuer.pk}/distributions/",
        {
            "kind": "consideration",
            "recipient_name": "X",
            "amount": "1.00",
            "purpose": "y",
            "invoice_reference": "I",
        },
        format="json",
    )
    assert_error(missing, 400, "invalid")
    assert LedgerEntry.objects.filter(issuer=issuer).count() == 1


def test_the_ledger_keeps_no_name_and_its_chain_holds(body_of, pay):
    issuer, officer = body_of("society")
    paid(
        pay(
            officer,
            issuer,
            key="Pay Jane Smith",
            recipient_name="Jane Smith (plumber)",
            invoice_reference="7",
        ),
        issuer,
    )
    entry = LedgerEntry.objects.get(issuer=issuer)
    assert "Jane" not in entry.description and "Jane" not in entry.idempotency_key
    assert ledger_verify(issuer.pk).valid


def test_who_may_pay_and_who_may_read(body_of, make_user, assert_error, pay, api_client_for):
    issuer, officer = body_of("society")
    auditor = make_user("audrey_auditor", resident=False)
    RoleGrant.objects.create(issuer=issuer, user=auditor, role="auditor")
    resident = make_user("rhys_resident")
    path = f"/api/v1/issuers/{issuer.pk}/distributions/"
    assert_error(pay(auditor, issuer, invoice_reference="1"), 403, "not_an_officer")
    assert_error(pay(resident, issuer, invoice_reference="1"), 403, "not_an_officer")
    assert api_client_for(None).post(path, {}, format="json").status_code == 401
    assert api_client_for(None).get(path).status_code == 401
    assert api_client_for(resident).get(path).status_code == 403
    assert (
        api_client_for(officer).post("/api/v1/issuers/999999/distributions/", {}, format="json").status_code
        == 404
    )
    paid(pay(officer, issuer, invoice_reference="INV-1"), issuer)
    for reader in (officer, auditor):
        listed = api_client_for(reader).get(path).json()
        assert listed["count"] == 1
        assert listed["results"][0]["recipient_name"] == "Solar Roofs Ltd"


def test_bad_input_is_400(body_of, assert_error, pay):
    issuer, officer = body_of("society")
    assert_error(pay(officer, issuer, kind="bond_interest"), 400, "invalid")
    assert_error(pay(officer, issuer, amount="-1.00"), 400, "invalid_amount")
    assert_error(pay(officer, issuer, amount="0.00"), 400, "invalid_amount")
    assert_error(pay(officer, issuer, amount=12.5), 400, "invalid_amount")
    assert not Decision.objects.filter(issuer=issuer, rule="asset_lock").exists()


# --- financial years -------------------------------------------------------------------


def test_a_year_is_declared_once(body_of, declare, assert_error, api_client_for):
    issuer, officer = body_of("cic_by_shares")
    year_end = dt.date(2026, 12, 31)
    assert declare(officer, issuer, year_end, "10000.00").status_code == 201
    assert declare(officer, issuer, year_end, "10000.00").status_code == 200
    assert_error(declare(officer, issuer, year_end, "12000.00"), 409, "financial_year_declared")
    assert_error(declare(officer, issuer, dt.date(2027, 6, 30), "1.00"), 409, "financial_year_overlaps")
    assert_error(declare(officer, issuer, dt.date(2026, 1, 1), "1.00"), 409, "financial_year_overlaps")
    assert declare(officer, issuer, dt.date(2025, 12, 31), "0.00").status_code == 201
    assert declare(officer, issuer, dt.date(2027, 12, 31), "1.00").status_code == 201
    assert_error(declare(officer, issuer, dt.date(2028, 12, 31), "-1.00"), 400, "invalid_amount")
    years = api_client_for(officer).get(f"/api/v1/issuers/{issuer.pk}/financial-years/").json()["results"]
    assert [y["year_end"] for y in years] == ["2027-12-31", "2026-12-31", "2025-12-31"]


def test_only_an_officer_declares_a_year(body_of, make_user, assert_error, declare):
    issuer, _ = body_of("cic_by_shares")
    stranger = make_user("sam_stranger")
    assert_error(declare(stranger, issuer, dt.date(2026, 12, 31), "1.00"), 403, "not_an_officer")
    assert declare(None, issuer, dt.date(2026, 12, 31), "1.00").status_code == 401


# --- winding up ------------------------------------------------------------------------


@pytest.fixture
def wind_up(api_client_for):
    def wind_up(officer, issuer, day: dt.date, reason="Members' resolution of 1 May"):
        return api_client_for(officer).post(
            f"/api/v1/issuers/{issuer.pk}/winding-up/",
            {"date": day.isoformat(), "reason": reason},
            format="json",
        )

    return wind_up


@pytest.mark.parametrize("form", ["society", "cic_by_shares", "charity"])
def test_after_a_winding_up_the_rest_goes_only_to_an_asset_locked_body(
    form, body_of, declare, wind_up, api_client_for, refused, pay
):
    issuer, officer = body_of(form)
    today = timezone.localdate()
    declare(officer, issuer, today + dt.timedelta(days=10), "10000.00")
    recorded = wind_up(officer, issuer, today)
    assert recorded.status_code == 201, recorded.content
    assert recorded.json()["winding_up_on"] == today.isoformat()
    assert (
        api_client_for(None).get(f"/api/v1/issuers/{issuer.pk}/winding-up/").json()["winding_up_on"]
        == today.isoformat()
    )
    body = refused(
        pay(officer, issuer, kind="dividend", recipient_name="Shareholders", amount="0.01"), issuer
    )
    assert "wound up" in body["detail"]
    refused(pay(officer, issuer, kind="other", recipient_name="Members", amount="0.01"), issuer)
    refused(
        pay(officer, issuer, kind="transfer_to_asset_locked_body", recipient_name="A company", amount="0.01"),
        issuer,
    )
    # Creditors are still paid, and the residual assets go to another asset-locked body.
    paid(pay(officer, issuer, invoice_reference="Liquidator's fee 1"), issuer)
    paid(
        pay(
            officer,
            issuer,
            kind="transfer_to_asset_locked_body",
            recipient_name="Next Door Community Land Trust",
            recipient_asset_locked=True,
            recipient_registration_number="IP31415R",
            amount="12000.00",
        ),
        issuer,
    )
    assert AuditEvent.objects.filter(issuer=issuer, action="issuer.winding_up").exists()


def test_a_winding_up_is_recorded_once_by_an_officer_and_never_in_the_future(
    body_of, make_user, assert_error, wind_up
):
    issuer, officer = body_of("society")
    today = timezone.localdate()
    assert_error(wind_up(officer, issuer, today + dt.timedelta(days=1)), 400, "invalid")
    assert_error(wind_up(officer, issuer, today, reason=" "), 400, "invalid")
    assert_error(wind_up(make_user("nosy_neighbour"), issuer, today), 403, "not_an_officer")
    assert wind_up(officer, issuer, today - dt.timedelta(days=3)).status_code == 201
    assert_error(wind_up(officer, issuer, today), 409, "already_winding_up")
    issuer.refresh_from_db()
    assert issuer.winding_up_on == today - dt.timedelta(days=3)


def test_an_issuer_without_a_lock_is_not_restricted_by_a_winding_up(body_of, wind_up, pay):
    issuer, officer = body_of("unlocked_company")
    assert wind_up(officer, issuer, timezone.localdate()).status_code == 201
    paid(pay(officer, issuer, kind="other", recipient_name="Members", amount="10.00"), issuer)


def test_a_distribution_and_a_declared_year_are_records_the_database_keeps(body_of, declare, pay):
    issuer, officer = body_of("cic_by_shares")
    declare(officer, issuer, timezone.localdate() + dt.timedelta(days=30), "10000.00")
    paid(pay(officer, issuer, kind="dividend", recipient_name="Shareholders", amount="10.00"), issuer)
    for table in ("compliance_distribution", "compliance_financialyear"):
        for sql in (f"UPDATE {table} SET issuer_id = issuer_id", f"DELETE FROM {table}"):
            with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql)
    assert Distribution.objects.get().amount_pence == 10_00
