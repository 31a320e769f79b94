"""Secrets people are given (API token keys, recovery codes) and the digests kept of them.

Only digests are stored. Both kinds of secret carry enough random bits (160
for a token key, 80 for a recovery code) that a digest cannot be reversed by
guessing, so a plain SHA-256 is enough and a look-up by digest stays one
indexed query (a slow password hash would need a scan of every candidate).
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata

# Crockford's base 32 without the letters read as digits: nothing to misread on paper.
_RECOVERY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECOVERY_CODE_LENGTH = 16  # 16 symbols of 5 bits: 80 bits


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token_key() -> str:
    return secrets.token_hex(20)


def new_recovery_code() -> str:
    """Shown in four groups, e.g. `7QKD-M2ZX-P9RA-4HVB`."""
    symbols = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return "-".join(symbols[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4))


def normalise_recovery_code(code: str | None) -> str | None:
    """The code as stored (upper case, no dashes or spaces), or None if it cannot be one."""
    code = unicodedata.normalize("NFKC", code or "").upper().replace("-", "").replace(" ", "")
    if len(code) != RECOVERY_CODE_LENGTH or any(ch not in _RECOVERY_ALPHABET for ch in code):
        return None
    return code
