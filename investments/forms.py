"""HTML forms: they parse input the same way the API does and leave rules to services."""

from django import forms

from investments.models import PaymentMethod
from investments.money import InvalidAmount, parse_amount


class AmountField(forms.Field):
    """Pounds and pence as typed by a person ("250", "250.00", "£250") -> integer pence."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def to_python(self, value):
        text = str(value or "").replace("£", "").replace(",", "").strip()
        try:
            pence = parse_amount(text)
        except InvalidAmount as exc:
            raise forms.ValidationError(str(exc), code="invalid_amount") from None
        if pence <= 0:
            raise forms.ValidationError("The amount must be more than zero.", code="invalid_amount")
        return pence


class SubscribeForm(forms.Form):
    amount = AmountField(label="Amount (£)")
    payment_method = forms.ChoiceField(
        choices=PaymentMethod.choices, initial=PaymentMethod.BANK_TRANSFER, widget=forms.RadioSelect
    )
