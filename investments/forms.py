"""HTML forms: they parse input the same way the API does and leave rules to services."""

from django import forms

from bondplatform.money import InvalidAmount, parse_amount
from investments.models import InterestPreference, PaymentMethod


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


class PreferenceForm(forms.Form):
    preference = forms.ChoiceField(
        label="What to do with your interest",
        choices=[
            (InterestPreference.PAY, "Pay it to me"),
            (InterestPreference.WAIVE, "Give it up for the project"),
            (InterestPreference.REINVEST, "Add it to my bond (where the terms allow)"),
        ],
    )


class PayoutAccountForm(forms.Form):
    """A UK account (sort code and number) or an IBAN; the service validates which and how."""

    account_name = forms.CharField(label="Name on the account", max_length=70)
    sort_code = forms.CharField(label="Sort code", max_length=8, required=False)
    account_number = forms.CharField(label="Account number", max_length=8, required=False)
    iban = forms.CharField(label="Or an IBAN (outside the UK)", max_length=42, required=False)


class RedemptionForm(forms.Form):
    amount = AmountField(label="How much you would like back early (£)")


# --- officers' forms -----------------------------------------------------------------


class IsoDateInput(forms.DateInput):
    """A browser's date picker: its value must be YYYY-MM-DD whatever the locale
    (en-GB would render 26/11/2026, which the browser drops as invalid)."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class RecordPaymentForm(forms.Form):
    """Money an officer saw arrive for one subscription.

    `token` is a random string put in the form when the page is rendered; the
    receipt's idempotency key is made from it, so submitting the same form twice
    (a double click, a resubmitted page) records the money once."""

    amount = AmountField(label="Amount (£)")
    reference = forms.CharField(max_length=100)
    received_on = forms.DateField(widget=IsoDateInput)
    token = forms.RegexField(r"^[A-Za-z0-9_-]{16,64}\Z", widget=forms.HiddenInput)


class AllotForm(forms.Form):
    allotted_on = forms.DateField(
        label="Allotment date (empty: today)",
        required=False,
        widget=IsoDateInput,
    )


class BankStatementForm(forms.Form):
    # At most UPLOAD_MAX_FILE_SIZE, refused as it streams in (bondplatform.uploads), like the API's.
    file = forms.FileField(label="Bank statement (CSV: date, amount, reference)")


class InterestRunForm(forms.Form):
    period_end = forms.DateField(label="Coupon date (the end of the period)", widget=IsoDateInput)


class RedemptionDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("decline", "Decline")])
    reason = forms.CharField(label="Reason (the holder reads it)", max_length=500, required=False)
