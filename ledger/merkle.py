"""Merkle trees over an issuer's entry hashes, as RFC 9162 (Certificate Transparency 2.0) §2.1 defines them.

Beside the hash chain, which proves order, the tree lets a resident check
that *their* entries are in a signed ledger without seeing anyone else's
(an inclusion proof: a few hashes, no data), and lets an auditor who kept an
old signed tree head check that the ledger has only grown since (a
consistency proof).

- leaf hash: SHA-256(0x00 || entry hash, the 32 raw bytes);
- node hash: SHA-256(0x01 || left || right);
- the tree of n leaves splits at k, the largest power of two below n.

Pure functions over lists of leaf hashes (bytes). `subtree_root` takes a
callable that returns the root of a complete subtree, so callers may serve
large subtrees from stored nodes instead of rehashing (see
`ledger.selectors.merkle_*`). The verifiers are the RFC's algorithms
(§2.1.3.2 and §2.1.4.2), written to be copied into stand-alone tools.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry_hash_hex: str) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + bytes.fromhex(entry_hash_hex)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# A source of complete subtrees' roots: root(start, size) for size a power of two.
RootOf = Callable[[int, int], bytes]


def root_from_leaves(leaves: Sequence[bytes]) -> RootOf:
    """A RootOf that hashes the given leaf hashes (for small trees and tests)."""

    def root(start: int, size: int) -> bytes:
        return mth(leaves[start : start + size])

    return root


def mth(leaves: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash of a list of leaf hashes (RFC 9162 §2.1.1)."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    level = list(leaves)
    # Bottom-up pairing gives the same root as the RFC's recursive split.
    while len(level) > 1:
        level = [
            node_hash(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
            for i in range(0, len(level), 2)
        ]
    return level[0]


def subtree_root(start: int, size: int, complete_root: RootOf) -> bytes:
    """The MTH of leaves [start, start + size), any size, from complete subtrees' roots."""
    if size == 0:
        return EMPTY_ROOT
    if size & (size - 1) == 0:
        return complete_root(start, size)
    k = _split(size)
    return node_hash(complete_root(start, k), subtree_root(start + k, size - k, complete_root))


def inclusion_proof(index: int, tree_size: int, complete_root: RootOf) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1: the audit path of leaf `index` in a tree of `tree_size`."""
    if not 0 <= index < tree_size:
        raise ValueError(f"Leaf {index} is not in a tree of {tree_size}.")
    path: list[bytes] = []
    start, size, m = 0, tree_size, index
    while size > 1:
        k = _split(size)
        if m < k:
            path.append(subtree_root(start + k, size - k, complete_root))
            size = k
        else:
            path.append(subtree_root(start, k, complete_root))
            start, size, m = start + k, size - k, m - k
    path.reverse()  # the RFC lists the path from the leaf up
    return path


def consistency_proof(first: int, second: int, complete_root: RootOf) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1: the tree of `second` leaves extends that of `first`."""
    if not 0 < first <= second:
        raise ValueError(f"No consistency proof from {first} to {second}.")
    if first == second:
        return []

    def subproof(m: int, start: int, n: int, whole: bool) -> list[bytes]:
        if m == n:
            return [] if whole else [subtree_root(start, n, complete_root)]
        k = _split(n)
        if m <= k:
            return [*subproof(m, start, k, whole), subtree_root(start + k, n - k, complete_root)]
        return [*subproof(m - k, start + k, n - k, False), subtree_root(start, k, complete_root)]

    return subproof(first, 0, second, True)


def verify_inclusion(leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does `proof` show leaf hash `leaf` at `index` in the tree with `root`?"""
    if not 0 <= index < tree_size:
        return False
    fn, sn, r = index, tree_size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: does `proof` show the tree of `second` leaves extends the one of `first`?"""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first tree is a complete subtree
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root
