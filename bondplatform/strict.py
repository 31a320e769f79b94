"""JSON input is taken as typed: a number where text is wanted is a client's mistake, not text.

DRF's CharField quietly turns `{"reason": 0}` into "0", and its DecimalField
takes `4.5` (a float) for a rate. The schema promises strings, a generated
client sends strings, and a number there means a bug on the client's side
that should be told, not guessed at: so text fields take only JSON strings,
yes-or-no fields only `true` and `false` (not 1, "yes" or "on"), and rate
fields only strings (API.md: "Rates are percent per annum as strings");
anything else is 400 `invalid` with the field's message.
Query parameters, always strings, are unaffected.

Installed once, by `BondplatformConfig.ready`, for every serializer of the
project: DRF has no setting for it, and one place is easier to keep than a
strict subclass in every serializer.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import QueryDict
from rest_framework import fields

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    char_to_internal = fields.CharField.to_internal_value
    decimal_to_internal = fields.DecimalField.to_internal_value
    boolean_to_internal = fields.BooleanField.to_internal_value

    def text_only(self: fields.CharField, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return char_to_internal(self, data)

    def decimal_text_only(self: fields.DecimalField, data: Any) -> Decimal:
        if not isinstance(data, str | Decimal):
            self.fail("invalid")
        return decimal_to_internal(self, data)

    def boolean_only(self: fields.BooleanField, data: Any) -> bool:
        # HTML forms (the browsable API in development) send "true" and "on": those stay as DRF reads them.
        if not isinstance(data, bool) and not isinstance(getattr(self.root, "initial_data", None), QueryDict):
            self.fail("invalid", input=data)
        return boolean_to_internal(self, data)

    fields.CharField.to_internal_value = text_only  # type: ignore[method-assign]
    fields.BooleanField.to_internal_value = boolean_only  # type: ignore[method-assign]
    fields.DecimalField.to_internal_value = decimal_text_only  # type: ignore[method-assign]
