"""Serializer fields shared by the apps' APIs."""

from rest_framework import serializers

from bondplatform.money import InvalidAmount, format_pence, parse_amount


class MoneyField(serializers.Field):
    """Money in the API: '250.00' in, integer pence inside, '250.00' out.

    Bad input fails with the field code `invalid_amount`, which the error
    handler promotes to the response's top-level code. Its schema (patterns
    in and out) is `bondplatform.schema.MoneyFieldExtension`.
    """

    default_error_messages = {"invalid_amount": "{message}"}

    def __init__(self, *, allow_zero: bool = False, **kwargs):
        self.allow_zero = allow_zero
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> int:
        if not isinstance(data, str):  # JSON numbers are floats to most clients: money is text
            self.fail("invalid_amount", message='Give the amount as a string such as "250.00".')
        try:
            pence = parse_amount(data)
        except InvalidAmount as exc:
            self.fail("invalid_amount", message=str(exc))
        if pence == 0 and not self.allow_zero:
            self.fail("invalid_amount", message="The amount must be more than zero.")
        return pence

    def to_representation(self, value: int) -> str:
        return format_pence(value)
