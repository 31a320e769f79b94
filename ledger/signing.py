"""Signed checkpoints: the service's Ed25519 signature over an issuer's chain head.

A checkpoint says "issuer I's chain had hash H at sequence N at time T,
signed by key K". Published with statements, it lets an auditor holding the
public key (GET /api/v1/ledger/public-key/) check offline that the entries
they were given are the ones the service committed to, and lets the verifier
notice a chain cut short or rewritten even with its head row rewritten too.

The key: `settings.LEDGER_SIGNING_KEY` (32 raw bytes, hex), required when
DEBUG is off (settings.py refuses to start without it). Otherwise one is
generated on first use and kept in `settings.LEDGER_SIGNING_KEY_FILE`, so
development checkpoints survive restarts.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone

from bondplatform.errors import RuleViolation
from ledger.canonical import signed_bytes
from ledger.models import LedgerCheckpoint
from ledger.proofs import IssuerTree
from ledger.verify import ledger_verify

__all__ = [
    "ALGORITHM",
    "PublicKeyInfo",
    "checkpoint_message",
    "checkpoint_sign",
    "checkpoint_signature_valid",
    "public_key_info",
    "signing_key",
]

ALGORITHM = "Ed25519"

_loaded: dict[str, Ed25519PrivateKey] = {}


def _from_hex(text: str, where: str) -> Ed25519PrivateKey:
    try:
        raw = bytes.fromhex(text.strip())
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ImproperlyConfigured(
            f"{where} must be 32 bytes of Ed25519 private key, hex-encoded (64 characters)."
        )
    return Ed25519PrivateKey.from_private_bytes(raw)


def _development_key(path: Path) -> str:
    """Read the development key file, creating it (mode 600, never overwritten) on first use."""
    try:
        return path.read_text()
    except FileNotFoundError:
        pass
    text = Ed25519PrivateKey.generate().private_bytes_raw().hex()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return path.read_text()
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    return text


def signing_key() -> Ed25519PrivateKey:
    configured = settings.LEDGER_SIGNING_KEY
    if configured:
        source, text = "LEDGER_SIGNING_KEY", configured
    else:
        path = Path(settings.LEDGER_SIGNING_KEY_FILE)
        source, text = str(path), _development_key(path)
    key = _loaded.get(text)
    if key is None:
        key = _loaded[text] = _from_hex(text, source)
    return key


def _public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """A public key's fingerprint: the first 16 bytes of SHA-256 of its raw 32 bytes, hex."""
    return hashlib.sha256(_public_raw(public_key)).hexdigest()[:32]


@dataclass(frozen=True)
class PublicKeyInfo:
    algorithm: str
    key_id: str
    public_key_hex: str
    public_key_base64: str
    public_key_pem: str


def public_key_info() -> PublicKeyInfo:
    public = signing_key().public_key()
    raw = _public_raw(public)
    return PublicKeyInfo(
        algorithm=ALGORITHM,
        key_id=key_id_of(public),
        public_key_hex=raw.hex(),
        public_key_base64=base64.b64encode(raw).decode("ascii"),
        public_key_pem=public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii"),
    )


def checkpoint_sign(*, issuer) -> LedgerCheckpoint | None:
    """Verify the issuer's chain, then sign its head. None for an empty ledger.

    Signing the same head again with the same key returns the existing
    checkpoint, so a rerun of the daily task changes nothing. A chain that
    fails verification is never signed.
    """
    issuer_id = issuer if isinstance(issuer, int) else issuer.pk
    result = ledger_verify(issuer_id)
    if not result.valid:
        raise RuleViolation(
            f"The ledger fails verification at #{result.first_invalid_sequence}: {result.reason}. Not signed.",
            code="ledger_invalid",
        )
    if result.head_sequence == 0:
        return None
    key = signing_key()
    key_id = key_id_of(key.public_key())
    existing = LedgerCheckpoint.objects.filter(
        issuer_id=issuer_id, sequence=result.head_sequence, key_id=key_id
    ).first()
    if existing is not None:
        return existing
    signed_at = timezone.now()
    merkle_root = IssuerTree(issuer_id).root(result.head_sequence).hex()
    message = signed_bytes(
        issuer_id=issuer_id,
        sequence=result.head_sequence,
        hash=result.head_hash,
        signed_at=signed_at,
        key_id=key_id,
        tree_size=result.head_sequence,
        merkle_root=merkle_root,
    )
    try:
        with transaction.atomic():
            return LedgerCheckpoint.objects.create(
                issuer_id=issuer_id,
                sequence=result.head_sequence,
                hash=result.head_hash,
                signed_at=signed_at,
                algorithm=ALGORITHM,
                key_id=key_id,
                signature=key.sign(message).hex(),
                tree_size=result.head_sequence,
                merkle_root=merkle_root,
            )
    except IntegrityError:  # signed concurrently by another worker
        return LedgerCheckpoint.objects.get(issuer_id=issuer_id, sequence=result.head_sequence, key_id=key_id)


def checkpoint_message(checkpoint: LedgerCheckpoint) -> bytes:
    """The bytes the checkpoint's signature covers (format 1, or 2 with the Merkle tree head)."""
    return signed_bytes(
        issuer_id=checkpoint.issuer_id,
        sequence=checkpoint.sequence,
        hash=checkpoint.hash,
        signed_at=checkpoint.signed_at,
        key_id=checkpoint.key_id,
        tree_size=checkpoint.tree_size,
        merkle_root=checkpoint.merkle_root,
    )


def checkpoint_signature_valid(
    checkpoint: LedgerCheckpoint, public_key: Ed25519PublicKey | None = None
) -> bool:
    """Whether the checkpoint's signature holds, under the given key or the service's own."""
    public = public_key or signing_key().public_key()
    if checkpoint.key_id != key_id_of(public):
        return False
    message = checkpoint_message(checkpoint)
    try:
        public.verify(bytes.fromhex(checkpoint.signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True
