"""Proofs from the database agree with the tree computed by hand, stored nodes included."""

from __future__ import annotations

import pytest

from bondplatform.errors import BadInput
from ledger import merkle
from ledger.models import LedgerEntry, MerkleNode
from ledger.proofs import BLOCK, IssuerTree
from ledger.services import EntrySpec, Posting, entries_post

pytestmark = pytest.mark.django_db

SIZE = 2 * BLOCK + 37  # two stored 256-leaf nodes and a ragged edge


@pytest.fixture
def ledger(new_issuer, value_date):
    issuer = new_issuer()
    specs = [
        EntrySpec(
            "subscription_payment",
            value_date,
            f"Payment {n}",
            f"pay-{n}",
            [Posting("cash_at_bank", 100 + n), Posting("subscriptions_held", -(100 + n))],
        )
        for n in range(SIZE)
    ]
    for start in range(0, SIZE, 200):
        entries_post(issuer=issuer, entries=specs[start : start + 200])
    leaves = [
        merkle.leaf_hash(h)
        for h in LedgerEntry.objects.filter(issuer=issuer).order_by("sequence").values_list("hash", flat=True)
    ]
    return issuer, leaves


def test_roots_and_proofs_match_the_tree_computed_by_hand(ledger):
    issuer, leaves = ledger
    for tree_size in [1, 2, 3, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK, SIZE]:
        check_tree(issuer, leaves, tree_size)


def check_tree(issuer, leaves, tree_size):
    tree = IssuerTree(issuer.pk)
    root = tree.root(tree_size)
    assert root == merkle.mth(leaves[:tree_size])
    for sequence in {1, tree_size // 2 + 1, tree_size}:
        proof = tree.inclusion_proof(sequence, tree_size)
        assert merkle.verify_inclusion(leaves[sequence - 1], sequence - 1, tree_size, proof, root)
    if tree_size > 1:
        first = tree_size // 3 or 1
        proof = tree.consistency_proof(first, tree_size)
        assert merkle.verify_consistency(first, tree_size, merkle.mth(leaves[:first]), root, proof)


def test_complete_subtrees_are_stored_once_and_then_read(ledger):
    issuer, leaves = ledger
    IssuerTree(issuer.pk).root(SIZE)
    stored = set(MerkleNode.objects.filter(issuer=issuer).values_list("level", "index"))
    assert stored == {(8, 0), (8, 1), (9, 0)}
    # A second tree (a new request) reads them instead of rehashing.
    assert IssuerTree(issuer.pk).root(SIZE) == merkle.mth(leaves)
    assert MerkleNode.objects.filter(issuer=issuer).count() == 3


def test_sizes_beyond_the_ledger_are_refused(ledger):
    issuer, _ = ledger
    tree = IssuerTree(issuer.pk)
    for ask in (
        lambda: tree.root(SIZE + 1),
        lambda: tree.inclusion_proof(0, 5),
        lambda: tree.consistency_proof(5, 4),
    ):
        with pytest.raises(BadInput) as refused:
            ask()
        assert refused.value.code == "invalid_tree_size"
