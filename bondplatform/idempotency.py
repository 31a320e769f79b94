"""The `Idempotency-Key` request header (API.md, Conventions), read the same way by every POST that moves money.

One place, at the bottom of the house, so that compliance's distributions and
investments' subscriptions, payments, interest runs, redemptions and payouts
document and read it alike: at most 100 characters, blank means none.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

MAX_LENGTH = 100
_DESCRIPTION = "The same key and body return the first result again and move nothing twice."

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "maxLength": MAX_LENGTH},
    OpenApiParameter.HEADER,
    required=False,
    description=_DESCRIPTION,
)

# For a POST that pays someone outside on one click (a distribution): a retry without a
# key could pay twice, so the key is required.
IDEMPOTENCY_HEADER_REQUIRED = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": MAX_LENGTH, "pattern": r"\S"},
    OpenApiParameter.HEADER,
    required=True,
    description=_DESCRIPTION,
)


def idempotency_key(request) -> str | None:
    """The request's key, or None when it sent none (400 when it is too long)."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return None
    if len(key) > MAX_LENGTH:
        raise serializers.ValidationError({"Idempotency-Key": [f"At most {MAX_LENGTH} characters."]})
    return key


def required_idempotency_key(request) -> str:
    """The request's key; 400 when it sent none."""
    key = idempotency_key(request)
    if key is None:
        raise serializers.ValidationError(
            {"Idempotency-Key": ["Required: a key of your choosing, the same when you retry."]}
        )
    return key
