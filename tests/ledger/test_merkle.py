"""RFC 9162 Merkle trees: the Certificate Transparency reference vectors, then every shape by property."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    mth,
    node_hash,
    root_from_leaves,
    subtree_root,
    verify_consistency,
    verify_inclusion,
)

# RFC 6962 / 9162 reference data (transparency-dev/merkle testonly): leaf inputs, then the root per tree size.
DATA = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
LEAVES = [hashlib.sha256(b"\x00" + bytes.fromhex(d)).digest() for d in DATA]
INCLUSION = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
CONSISTENCY = [
    (
        2,
        8,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]


def root_of(size: int) -> bytes:
    return mth(LEAVES[:size])


@pytest.mark.parametrize("size", range(9))
def test_the_reference_roots(size):
    assert mth(LEAVES[:size]).hex() == ROOTS[size]
    assert EMPTY_ROOT.hex() == ROOTS[0]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_the_reference_inclusion_proofs(index, size, proof):
    got = inclusion_proof(index, size, root_from_leaves(LEAVES))
    assert [p.hex() for p in got] == proof
    assert verify_inclusion(LEAVES[index], index, size, got, root_of(size))


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY)
def test_the_reference_consistency_proofs(first, second, proof):
    got = consistency_proof(first, second, root_from_leaves(LEAVES))
    assert [p.hex() for p in got] == proof
    assert verify_consistency(first, second, root_of(first), root_of(second), got)


def recursive_mth(leaves):
    """RFC 9162 §2.1.1, word for word, to check the bottom-up one against."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(recursive_mth(leaves[:k]), recursive_mth(leaves[k:]))


leaf_lists = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70)


@given(leaves=leaf_lists)
def test_bottom_up_hashing_is_the_rfcs_recursion(leaves):
    assert mth(leaves) == recursive_mth(leaves)
    assert subtree_root(0, len(leaves), root_from_leaves(leaves)) == recursive_mth(leaves)


@given(leaves=leaf_lists, data=st.data())
def test_every_inclusion_proof_verifies_and_tampering_does_not(leaves, data):
    n = len(leaves)
    index = data.draw(st.integers(0, n - 1))
    root = mth(leaves)
    proof = inclusion_proof(index, n, root_from_leaves(leaves))
    assert verify_inclusion(leaves[index], index, n, proof, root)
    other = bytes(32) if leaves[index] != bytes(32) else b"\x01" * 32
    assert not verify_inclusion(other, index, n, proof, root)  # another entry
    assert not verify_inclusion(
        leaves[index], index, n, proof, hashlib.sha256(root).digest()
    )  # a forged root
    if n > 1:
        if proof:
            bent = [hashlib.sha256(proof[0]).digest(), *proof[1:]]
            assert not verify_inclusion(leaves[index], index, n, bent, root)


@given(leaves=leaf_lists, data=st.data())
def test_every_consistency_proof_verifies_and_a_rewrite_does_not(leaves, data):
    n = len(leaves)
    m = data.draw(st.integers(1, n))
    proof = consistency_proof(m, n, root_from_leaves(leaves))
    assert verify_consistency(m, n, mth(leaves[:m]), mth(leaves), proof)
    # Rewrite one of the first m leaves: the old root no longer fits the new tree.
    i = data.draw(st.integers(0, m - 1))
    rewritten = [*leaves[:i], hashlib.sha256(leaves[i]).digest(), *leaves[i + 1 :]]
    forged = consistency_proof(m, n, root_from_leaves(rewritten))
    assert not verify_consistency(m, n, mth(leaves[:m]), mth(rewritten), forged) or (m == n and False)
