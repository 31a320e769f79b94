"""Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits).

What authenticator apps (and `oathtool --totp -b SECRET`) compute. A code is
accepted for the current step or one either side (clock drift), and never
twice: the caller stores the last step used and passes it back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import unicodedata
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1


def new_secret() -> str:
    """160 random bits, base32 without padding, as authenticator apps expect."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    return base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)


def code_at(secret: str, step: int, *, digits: int = DIGITS) -> str:
    digest = hmac.new(_key(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def step_of(unix_time: float) -> int:
    return int(unix_time // STEP_SECONDS)


def normalise_code(code: str | None) -> str | None:
    """The code as ASCII digits, or None if it is not six digits.

    People type codes on phones in any script: fullwidth digits (U+FF10 to U+FF19, which NFKC maps),
    Arabic-Indic or Devanagari digits (each is a Unicode decimal digit). Anything
    else is refused here, before `hmac.compare_digest`, which raises TypeError on
    non-ASCII text (a fullwidth code used to give a 500)."""
    code = unicodedata.normalize("NFKC", code or "").strip().replace(" ", "")
    if len(code) != DIGITS or not all(unicodedata.decimal(ch, None) is not None for ch in code):
        return None
    return "".join(str(unicodedata.decimal(ch)) for ch in code)


def matching_step(secret: str, code: str | None, *, unix_time: float, after_step: int | None) -> int | None:
    """The step whose code this is (within the drift window, later than `after_step`), or None."""
    code = normalise_code(code)
    if code is None:
        return None
    now = step_of(unix_time)
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if after_step is not None and step <= after_step:
            continue
        if hmac.compare_digest(code_at(secret, step), code):
            return step
    return None


def provisioning_uri(secret: str, *, account: str, issuer: str = "Mutual Bonds") -> str:
    """The otpauth:// URI an authenticator app reads from a QR code."""
    label = quote(f"{issuer}:{account}")
    query = urlencode({"secret": secret, "issuer": issuer, "digits": DIGITS, "period": STEP_SECONDS})
    return f"otpauth://totp/{label}?{query}"
