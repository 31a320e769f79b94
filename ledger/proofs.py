"""An issuer's Merkle tree in the database: roots, inclusion proofs and consistency proofs.

Leaf i of an issuer's tree is the entry with sequence i + 1 (leaf hash
SHA-256(0x00 || entry hash), see `ledger.merkle`); a tree of size n covers
entries 1..n, so every chain head is also a tree head. Complete subtrees of
256 leaves and more are stored (`MerkleNode`) the first time they are
computed; smaller ones are hashed from one read of their entries. A proof
in a ledger of a million entries thus reads one block of 256 entry hashes
and a handful of stored nodes.
"""

from __future__ import annotations

from django.db.models import Max

from bondplatform.errors import BadInput
from ledger import merkle
from ledger.models import LedgerEntry, MerkleNode

# Subtrees of 2**STORED_LEVEL leaves and more are stored once computed.
STORED_LEVEL = 8
BLOCK = 1 << STORED_LEVEL


class IssuerTree:
    """The Merkle tree over one issuer's entries, as far as it has grown."""

    def __init__(self, issuer_id: int):
        self.issuer_id = issuer_id
        self._blocks: dict[int, list[bytes]] = {}
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._size: int | None = None

    # -- sources of subtree roots --------------------------------------------------

    def _block(self, number: int) -> list[bytes]:
        """The leaf hashes of block `number` (leaves number*256 .. +255), as far as they exist."""
        leaves = self._blocks.get(number)
        if leaves is None:
            first = number * BLOCK + 1
            hashes = (
                LedgerEntry.objects.filter(
                    issuer_id=self.issuer_id, sequence__gte=first, sequence__lt=first + BLOCK
                )
                .order_by("sequence")
                .values_list("hash", flat=True)
            )
            leaves = self._blocks[number] = [merkle.leaf_hash(h) for h in hashes]
        return leaves

    def complete_root(self, start: int, size: int) -> bytes:
        """The root of the complete subtree of `size` (a power of two) leaves from `start`."""
        if size < BLOCK:
            offset = start % BLOCK
            return merkle.mth(self._block(start // BLOCK)[offset : offset + size])
        level = size.bit_length() - 1
        key = (level, start >> level)
        node = self._nodes.get(key)
        if node is None:
            stored = MerkleNode.objects.filter(issuer_id=self.issuer_id, level=level, index=key[1]).first()
            if stored is not None:
                node = bytes.fromhex(stored.hash)
            else:
                half = size // 2
                if size == BLOCK:
                    node = merkle.mth(self._block(start // BLOCK))
                else:
                    node = merkle.node_hash(
                        self.complete_root(start, half), self.complete_root(start + half, half)
                    )
                MerkleNode.objects.bulk_create(
                    [MerkleNode(issuer_id=self.issuer_id, level=level, index=key[1], hash=node.hex())],
                    ignore_conflicts=True,
                )
            self._nodes[key] = node
        return node

    # -- what callers ask for ------------------------------------------------------

    def size(self) -> int:
        """Entries in the ledger, read once per tree (it only grows, so a size read earlier holds)."""
        if self._size is None:
            self._size = (
                LedgerEntry.objects.filter(issuer_id=self.issuer_id).aggregate(n=Max("sequence"))["n"] or 0
            )
        return self._size

    def _check_size(self, tree_size: int) -> None:
        if tree_size > self.size():
            raise BadInput(f"The ledger has fewer than {tree_size} entries.", code="invalid_tree_size")

    def root(self, tree_size: int) -> bytes:
        self._check_size(tree_size)
        return merkle.subtree_root(0, tree_size, self.complete_root)

    def inclusion_proof(self, sequence: int, tree_size: int) -> list[bytes]:
        """The audit path of entry `sequence` in the tree of `tree_size` entries."""
        if not 1 <= sequence <= tree_size:
            raise BadInput(f"Entry #{sequence} is not in a tree of {tree_size}.", code="invalid_tree_size")
        self._check_size(tree_size)
        return merkle.inclusion_proof(sequence - 1, tree_size, self.complete_root)

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """The proof that the tree of `second` entries extends the tree of `first`."""
        if not 1 <= first <= second:
            raise BadInput("Give tree sizes with 1 <= first <= second.", code="invalid_tree_size")
        self._check_size(second)
        return merkle.consistency_proof(first, second, self.complete_root)
