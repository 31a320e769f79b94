"""Signed tree heads: checkpoints sign the Merkle root too, anyone collects them, and anyone
checks offline that the ledger only grew between two of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from bondplatform.append_only import append_only_guards_lifted
from ledger import merkle
from ledger.canonical import signed_bytes
from ledger.models import LedgerCheckpoint, LedgerEntry
from ledger.proofs import IssuerTree
from ledger.signing import (
    checkpoint_sign,
    checkpoint_signature_valid,
    key_id_of,
    public_key_info,
    signing_key,
)

pytestmark = pytest.mark.django_db

VERIFIER = Path(__file__).resolve().parents[2] / "tools" / "verify_statement.py"
anyone = APIClient


@pytest.fixture(autouse=True)
def key(settings):
    settings.LEDGER_SIGNING_KEY = "07" * 32


@pytest.fixture
def issuer(new_issuer):
    return new_issuer()


@pytest.fixture
def grow(pay_in):
    def grow(issuer, start: int, count: int) -> LedgerCheckpoint:
        for n in range(start, start + count):
            pay_in(issuer, f"pay-{n}", 1_00 + n)
        return checkpoint_sign(issuer=issuer)

    return grow


def test_a_checkpoint_signs_the_tree_head_over_every_entry(issuer, grow):
    checkpoint = grow(issuer, 0, 5)
    leaves = [
        merkle.leaf_hash(h) for h in LedgerEntry.objects.filter(issuer=issuer).values_list("hash", flat=True)
    ]
    assert (checkpoint.tree_size, checkpoint.sequence) == (5, 5)
    assert checkpoint.merkle_root == merkle.mth(leaves).hex() == IssuerTree(issuer.pk).root(5).hex()
    assert checkpoint_signature_valid(checkpoint)
    forged = LedgerCheckpoint(**{**_fields(checkpoint), "merkle_root": "0" * 64})
    assert not checkpoint_signature_valid(forged)


def test_a_checkpoint_from_before_the_tree_still_verifies(issuer, pay_in):
    pay_in(issuer, "old")
    key = signing_key()
    key_id = key_id_of(key.public_key())
    signed_at = timezone.now()
    head = LedgerEntry.objects.get(issuer=issuer)
    message = signed_bytes(
        issuer_id=issuer.pk, sequence=1, hash=head.hash, signed_at=signed_at, key_id=key_id
    )
    old = LedgerCheckpoint.objects.create(
        issuer=issuer,
        sequence=1,
        hash=head.hash,
        signed_at=signed_at,
        key_id=key_id,
        signature=key.sign(message).hex(),
    )
    assert old.merkle_root is None
    assert checkpoint_signature_valid(old)


def test_anyone_lists_the_checkpoints_and_asks_for_a_consistency_proof(issuer, grow):
    first = grow(issuer, 0, 3)
    second = grow(issuer, 3, 6)
    listed = anyone().get("/api/v1/ledger/checkpoints/", {"issuer": issuer.pk}).json()["results"]
    assert [(c["tree_size"], c["merkle_root"]) for c in listed] == [
        (3, first.merkle_root),
        (9, second.merkle_root),
    ]
    proof = (
        anyone()
        .get("/api/v1/ledger/consistency-proof/", {"issuer": issuer.pk, "first": 3, "second": 9})
        .json()
    )
    assert (proof["first_root"], proof["second_root"]) == (first.merkle_root, second.merkle_root)
    nodes = [bytes.fromhex(n) for n in proof["proof"]]
    assert merkle.verify_consistency(
        3, 9, bytes.fromhex(first.merkle_root), bytes.fromhex(second.merkle_root), nodes
    )


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"first": 3, "second": 2}, 400, "invalid_tree_size"),
        ({"first": 1, "second": 99}, 400, "invalid_tree_size"),
        ({"first": "x", "second": 2}, 400, "invalid_query"),
        ({"first": 0, "second": 2}, 400, "invalid_query"),
        ({"first": "1.0", "second": 2}, 400, "invalid_query"),
        ({"second": 2}, 400, "invalid_query"),
    ],
)
def test_bad_proof_requests_are_refused_with_a_code(issuer, query, status, code, assert_error, grow):
    grow(issuer, 0, 3)
    response = anyone().get("/api/v1/ledger/consistency-proof/", {"issuer": issuer.pk, **query})
    assert_error(response, status, code)


def test_no_such_issuer_is_404():
    assert anyone().get("/api/v1/ledger/checkpoints/", {"issuer": 999_999}).status_code == 404


@pytest.mark.parametrize("issuer", ["", "x", "1.0", " 1", "0", str(2**63)])
def test_a_junk_issuer_is_refused_not_guessed(issuer, assert_error):
    response = anyone().get("/api/v1/ledger/checkpoints/", {"issuer": issuer})
    assert "issuer" in assert_error(response, 400, "invalid_query")["fields"]


def run_verifier(tmp_path, older, newer, proof) -> subprocess.CompletedProcess:
    files = []
    for name, data in (("older", older), ("newer", newer), ("proof", proof)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(data))
        files.append(str(path))
    return subprocess.run(
        [
            sys.executable,
            str(VERIFIER),
            "consistency",
            *files,
            "--public-key",
            public_key_info().public_key_hex,
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_offline_checker_says_ok_and_notices_a_rewritten_history(issuer, tmp_path, grow):
    grow(issuer, 0, 4)
    grow(issuer, 4, 5)
    older, newer = anyone().get("/api/v1/ledger/checkpoints/", {"issuer": issuer.pk}).json()["results"]
    proof = (
        anyone()
        .get("/api/v1/ledger/consistency-proof/", {"issuer": issuer.pk, "first": 4, "second": 9})
        .json()
    )
    result = run_verifier(tmp_path, older, newer, proof)
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("OK: issuer")

    # An insider with the database and the signing key rewrites entry #2 after the first
    # checkpoint and signs a new head over the rewritten tree: the proof between the head the
    # auditor kept and the new one cannot hold.
    with append_only_guards_lifted(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE investments_ledgerentry SET hash = %s WHERE issuer_id = %s AND sequence = 2",
            ["f" * 64, issuer.pk],
        )
    rewritten = (
        anyone()
        .get("/api/v1/ledger/consistency-proof/", {"issuer": issuer.pk, "first": 4, "second": 9})
        .json()
    )
    assert rewritten["first_root"] != older["merkle_root"]
    insider = {**newer, "merkle_root": rewritten["second_root"]}
    result = run_verifier(tmp_path, older, insider, rewritten)
    assert (result.returncode, "signature does not verify" in result.stdout) == (1, True)
    key = signing_key()
    insider["signature"] = key.sign(
        signed_bytes(
            issuer_id=issuer.pk,
            sequence=9,
            hash=insider["hash"],
            signed_at=insider["signed_at"],
            key_id=insider["key_id"],
            tree_size=9,
            merkle_root=insider["merkle_root"],
        )
    ).hex()
    result = run_verifier(tmp_path, older, insider, rewritten)
    assert result.returncode == 1
    assert "history was rewritten" in result.stdout


def _fields(checkpoint: LedgerCheckpoint) -> dict:
    return {f.attname: getattr(checkpoint, f.attname) for f in LedgerCheckpoint._meta.concrete_fields}
