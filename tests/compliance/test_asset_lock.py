"""The asset lock by legal form: each rule just inside and just outside its limit (pure rules)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.asset_lock import IssuerFacts, Outflow, Purpose, asset_lock_rules

SOCIETY = IssuerFacts("community_benefit_society", "statutory")
COOP = IssuerFacts("cooperative_society", "statutory")
CIC_SHARES = IssuerFacts("cic_limited_by_shares", "cic")
CIC_GUARANTEE = IssuerFacts("cic_limited_by_guarantee", "cic")
CHARITY = IssuerFacts("charity", "articles")
UNLOCKED = IssuerFacts("company_limited_by_guarantee", "none")
LOCKED = [SOCIETY, COOP, CIC_SHARES, CIC_GUARANTEE, CHARITY]


def judge(issuer, **outflow):
    outflow.setdefault("recipient", "holding 42")
    return asset_lock_rules(issuer=issuer, outflow=Outflow(**outflow))


@pytest.mark.parametrize("issuer", LOCKED, ids=lambda i: i.legal_form)
@pytest.mark.parametrize("purpose", ["bond_principal", "bond_interest", "refund"])
def test_what_is_owed_may_be_paid_and_not_a_penny_more(issuer, purpose):
    assert judge(issuer, purpose=purpose, amount_pence=250_00, owed_pence=250_00).allowed
    refused = judge(issuer, purpose=purpose, amount_pence=250_01, owed_pence=250_00)
    assert not refused.allowed
    assert refused.figures["owed_pence"] == 250_00
    assert not judge(issuer, purpose=purpose, amount_pence=1, owed_pence=None).allowed


@pytest.mark.parametrize("issuer", LOCKED, ids=lambda i: i.legal_form)
def test_full_consideration_needs_an_invoice(issuer):
    assert judge(issuer, purpose="consideration", amount_pence=900_00, invoice_reference="INV-7").allowed
    assert not judge(issuer, purpose="consideration", amount_pence=900_00, invoice_reference=" ").allowed


@pytest.mark.parametrize("issuer", LOCKED, ids=lambda i: i.legal_form)
def test_transfers_go_only_to_another_asset_locked_body(issuer):
    ok = {"purpose": "transfer_to_asset_locked_body", "amount_pence": 10_000_00}
    assert judge(issuer, **ok, recipient_asset_locked=True, recipient_registration_number="IP30001R").allowed
    assert not judge(issuer, **ok, recipient_asset_locked=False, recipient_registration_number="0123").allowed
    assert not judge(issuer, **ok, recipient_asset_locked=True, recipient_registration_number="").allowed


@pytest.mark.parametrize("issuer", LOCKED, ids=lambda i: i.legal_form)
def test_anything_else_is_refused_naming_its_source(issuer):
    refused = judge(issuer, purpose="other", amount_pence=1)
    assert not refused.allowed
    assert refused.rule == "asset_lock"
    assert refused.source


def test_a_cic_by_shares_pays_dividends_up_to_35_percent_of_the_years_profits():
    # Profits £10,000: cap £3,500. £1,000 paid already: £2,500 more is just inside, £2,500.01 outside.
    facts = {
        "purpose": "dividend",
        "distributable_profits_pence": 10_000_00,
        "dividends_paid_in_year_pence": 1_000_00,
    }
    inside = judge(CIC_SHARES, amount_pence=2_500_00, **facts)
    assert inside.allowed
    assert inside.figures["cap_pence"] == 3_500_00
    assert not judge(CIC_SHARES, amount_pence=2_500_01, **facts).allowed
    assert not judge(CIC_SHARES, purpose="dividend", amount_pence=1, distributable_profits_pence=None).allowed


@pytest.mark.parametrize("issuer", [SOCIETY, COOP, CIC_GUARANTEE, CHARITY], ids=lambda i: i.legal_form)
def test_other_asset_locked_forms_pay_no_dividend_at_all(issuer):
    assert not judge(
        issuer, purpose="dividend", amount_pence=1, distributable_profits_pence=10_000_00
    ).allowed


def test_a_body_without_an_asset_lock_may_pay_anything():
    assert judge(UNLOCKED, purpose="other", amount_pence=1_000_000_00).allowed
    assert judge(UNLOCKED, purpose="dividend", amount_pence=1).allowed


@pytest.mark.parametrize("issuer", LOCKED, ids=lambda i: i.legal_form)
def test_in_a_winding_up_creditors_are_paid_and_the_rest_goes_only_to_an_asset_locked_body(issuer):
    winding_up = IssuerFacts(issuer.legal_form, issuer.asset_lock_basis, winding_up=True)
    assert judge(winding_up, purpose="bond_principal", amount_pence=100, owed_pence=100).allowed
    assert judge(
        winding_up,
        purpose="transfer_to_asset_locked_body",
        amount_pence=100,
        recipient_asset_locked=True,
        recipient_registration_number="IP1R",
    ).allowed
    assert not judge(
        winding_up, purpose="dividend", amount_pence=1, distributable_profits_pence=10_000_00
    ).allowed


@given(
    purpose=st.sampled_from([*Purpose, "something new"]),
    amount=st.integers(min_value=-10, max_value=10**12),
    owed=st.one_of(st.none(), st.integers(min_value=0, max_value=10**12)),
)
def test_an_asset_locked_body_never_pays_more_than_it_owes_or_a_non_positive_amount(purpose, amount, owed):
    judgement = judge(SOCIETY, purpose=str(purpose), amount_pence=amount, owed_pence=owed)
    if judgement.allowed:
        assert amount > 0
        if purpose in ("bond_principal", "bond_interest", "refund"):
            assert owed is not None and amount <= owed
        assert purpose != "dividend" and purpose != "other" and purpose != "something new"
