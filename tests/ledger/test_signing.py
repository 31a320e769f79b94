"""Signed checkpoints, the daily signing task and `manage.py verify_ledger`."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from bondplatform.errors import RuleViolation
from ledger.models import LedgerCheckpoint, LedgerHead
from ledger.signing import (
    checkpoint_sign,
    checkpoint_signature_valid,
    public_key_info,
    signing_key,
)
from ledger.tasks import sign_all_checkpoints
from ledger.verify import ledger_verify

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def key(settings):
    settings.LEDGER_SIGNING_KEY = "07" * 32


def test_a_checkpoint_signs_the_head_and_signing_again_changes_nothing(society, pay_in):
    pay_in(society, "k1")
    head = pay_in(society, "k2")
    checkpoint = checkpoint_sign(issuer=society)
    assert (checkpoint.sequence, checkpoint.hash) == (2, head.hash)
    assert checkpoint.key_id == public_key_info().key_id
    assert checkpoint_signature_valid(checkpoint)
    assert checkpoint_sign(issuer=society).pk == checkpoint.pk
    pay_in(society, "k3")
    assert checkpoint_sign(issuer=society).sequence == 3
    assert LedgerCheckpoint.objects.filter(issuer=society).count() == 2


def test_an_empty_ledger_has_nothing_to_sign(society):
    assert checkpoint_sign(issuer=society) is None


def test_a_forged_or_foreign_signature_does_not_hold(society, settings, pay_in):
    pay_in(society, "k1")
    checkpoint = checkpoint_sign(issuer=society)
    forged = LedgerCheckpoint(
        **{f.attname: getattr(checkpoint, f.attname) for f in LedgerCheckpoint._meta.fields}
    )
    forged.hash = "f" * 64
    assert not checkpoint_signature_valid(forged)
    settings.LEDGER_SIGNING_KEY = "08" * 32
    assert not checkpoint_signature_valid(checkpoint)


def test_a_chain_that_fails_verification_is_not_signed(society, pay_in, tamper):
    pay_in(society, "k1")
    tamper("UPDATE investments_ledgerentry SET description = 'x'")
    with pytest.raises(RuleViolation) as refused:
        checkpoint_sign(issuer=society)
    assert refused.value.code == "ledger_invalid"
    assert not LedgerCheckpoint.objects.exists()


def test_a_checkpoint_catches_a_chain_cut_short_even_with_its_head_rewritten(society, pay_in, tamper):
    entries = [pay_in(society, f"k{n}") for n in range(3)]
    checkpoint_sign(issuer=society)
    # Someone with database access deletes the last entry and moves the head back.
    tamper("DELETE FROM investments_ledgerposting WHERE entry_id = %s", [entries[2].pk])
    tamper("DELETE FROM investments_ledgerentry WHERE id = %s", [entries[2].pk])
    LedgerHead.objects.filter(issuer=society).update(last_sequence=2, last_hash=entries[1].hash)
    result = ledger_verify(society)
    assert not result.valid and result.first_invalid_sequence == 3
    assert "checkpoint" in result.reason


def test_the_daily_task_signs_every_issuer_and_skips_a_broken_one(society, cic, caplog, pay_in, tamper):
    pay_in(society, "k1")
    pay_in(cic, "k1")
    tamper("UPDATE investments_ledgerentry SET description = 'x' WHERE issuer_id = %s", [cic.pk])
    assert sign_all_checkpoints() == {society.pk: 1, cic.pk: None}
    assert "not signed" in caplog.text
    assert sign_all_checkpoints() == {society.pk: 1, cic.pk: None}  # a rerun changes nothing
    assert LedgerCheckpoint.objects.count() == 1


def test_a_development_key_is_generated_once_and_kept(settings, tmp_path):
    settings.LEDGER_SIGNING_KEY = ""
    settings.LEDGER_SIGNING_KEY_FILE = tmp_path / "key"
    first = signing_key()
    assert (tmp_path / "key").stat().st_mode & 0o777 == 0o600
    assert signing_key().private_bytes_raw() == first.private_bytes_raw()


def test_a_malformed_key_is_a_configuration_error(settings):
    settings.LEDGER_SIGNING_KEY = "not hex"
    with pytest.raises(ImproperlyConfigured):
        signing_key()


def test_verify_ledger_prints_each_issuer_and_fails_on_a_broken_chain(society, cic, pay_in, tamper):
    pay_in(society, "k1")
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    assert f"issuer {society.pk} (Sheffield Citylife Society): valid, 1 entries" in out.getvalue()
    assert f"issuer {cic.pk} (Park Hill Energy CIC): valid, 0 entries" in out.getvalue()

    tamper("UPDATE investments_ledgerposting SET amount_pence = -amount_pence")
    out = io.StringIO()
    with pytest.raises(CommandError, match=f"issuer\\(s\\) {society.pk}"):
        call_command("verify_ledger", "--issuer", str(society.pk), stdout=out)
    assert "INVALID at #1" in out.getvalue()
    with pytest.raises(CommandError, match="No issuer"):
        call_command("verify_ledger", "--issuer", "999999")
