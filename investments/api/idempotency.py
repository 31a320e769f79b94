"""The `Idempotency-Key` request header (API.md, Conventions), shared by every POST that moves money."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The same key and body return the first result again and move nothing twice.",
)


def idempotency_key(request) -> str | None:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return None
    if len(key) > 100:
        raise serializers.ValidationError({"Idempotency-Key": ["At most 100 characters."]})
    return key
