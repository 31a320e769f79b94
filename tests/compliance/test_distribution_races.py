"""Bursts against real PostgreSQL: the dividend cap holds when officers press "pay" at once,
and one request retried at once pays once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from compliance.distributions import distribution_request, financial_year_declare
from compliance.models import Decision, Distribution
from issuers.models import RoleGrant
from ledger.models import LedgerEntry
from ledger.verify import ledger_verify

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def dividend(officer, cic, key: str, amount_pence: int):
    return lambda: distribution_request(
        actor=officer,
        issuer_id=cic.pk,
        kind="dividend",
        recipient_name="Shareholders",
        amount_pence=amount_pence,
        purpose="Interim dividend",
        idempotency_key=key,
    )


@pytest.fixture
def cic_officer(cic, make_user):
    officer = make_user("cora_officer", resident=False)
    RoleGrant.objects.create(issuer=cic, user=officer, role="finance_officer")
    financial_year_declare(
        actor=officer,
        issuer_id=cic.pk,
        year_end=timezone.localdate() + dt.timedelta(days=60),
        distributable_profits_pence=10_000_00,  # cap £3,500
    )
    return officer


def test_ten_dividends_at_once_pay_only_what_the_cap_allows(cic, cic_officer, burst):
    outcomes = burst([dividend(cic_officer, cic, f"d{i}", 1_000_00) for i in range(10)])
    assert outcomes.count("ok") == 3  # £3,000; a fourth would make £4,000
    assert set(outcomes) == {"ok", "asset_lock_violation"}
    assert Distribution.objects.filter(issuer=cic).count() == 3
    assert LedgerEntry.objects.filter(issuer=cic, kind="distribution").count() == 3
    assert Decision.objects.filter(issuer=cic, rule="asset_lock", outcome="deny").count() == 7
    assert ledger_verify(cic.pk).valid


def test_the_same_request_ten_times_at_once_pays_once(cic, cic_officer, burst):
    outcomes = burst([dividend(cic_officer, cic, "same-key", 500_00) for _ in range(10)])
    assert outcomes == ["ok"] * 10
    assert Distribution.objects.filter(issuer=cic).count() == 1
    assert LedgerEntry.objects.filter(issuer=cic, kind="distribution").count() == 1


def no_refusal_logged(issuer) -> bool:
    return not Decision.objects.filter(issuer=issuer, outcome="deny").exists()


def test_twenty_retries_of_a_dividend_of_the_whole_cap_pay_once_and_judge_once(cic, cic_officer, burst):
    """The twins of a dividend that fills the cap wait for it, then answer as it did: never an
    `asset_lock_violation` (with a deny decision) for the room their own twin took."""
    outcomes = burst([dividend(cic_officer, cic, "whole-cap", 3_500_00) for _ in range(20)])
    assert outcomes == ["ok"] * 20
    assert Distribution.objects.filter(issuer=cic).count() == 1
    assert LedgerEntry.objects.filter(issuer=cic, kind="distribution").count() == 1
    assert Decision.objects.filter(issuer=cic, rule="asset_lock", outcome="allow").count() == 1
    assert no_refusal_logged(cic)
    assert ledger_verify(cic.pk).valid


def test_one_key_with_two_amounts_at_once_pays_one_and_refuses_the_other(cic, cic_officer, burst):
    calls = [dividend(cic_officer, cic, "k", 3_500_00) for _ in range(10)]
    calls += [dividend(cic_officer, cic, "k", 100_00) for _ in range(10)]
    outcomes = burst(calls)
    assert sorted(set(outcomes)) == ["idempotency_key_reused", "ok"]
    assert outcomes.count("ok") == 10
    assert Distribution.objects.filter(issuer=cic).count() == 1
    assert LedgerEntry.objects.filter(issuer=cic, kind="distribution").count() == 1
    assert no_refusal_logged(cic)


def test_twenty_retries_over_http_answer_alike(cic, cic_officer, burst_posts, assert_error):
    url = f"/api/v1/issuers/{cic.pk}/distributions/"
    body = {
        "kind": "dividend",
        "recipient_name": "Shareholders",
        "amount": "3500.00",
        "purpose": "Final dividend",
    }
    responses = burst_posts(cic_officer, url, body, key="final-dividend", times=20)
    assert [r.status_code for r in responses] == [201] * 20, responses[0].content
    assert len({r.json()["id"] for r in responses}) == 1
    assert [r.get("Idempotent-Replayed") for r in responses].count("true") == 19
    assert LedgerEntry.objects.filter(issuer=cic, kind="distribution").count() == 1
    assert no_refusal_logged(cic)
    other = burst_posts(cic_officer, url, body | {"amount": "100.00"}, key="final-dividend", times=1)[0]
    assert_error(other, 409, "idempotency_key_reused")
