"""HTML forms: they parse input the same way the API does and leave rules to services."""

from django import forms

from bondplatform.money import InvalidAmount, parse_amount
from compliance.models import Outcome
from investments.models import InterestPreference, PaymentMethod, SubscriptionStatus
from ledger.models import EntryKind


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


class EmailUpdatesForm(forms.Form):
    """The resident's choice about the e-mails they may do without (the essential ones always go)."""

    email_updates = forms.TypedChoiceField(
        label="E-mails about my bonds",
        choices=[
            ("on", "Send me every update: payments received, interest, money sent"),
            ("off", "Only what I must know: how to pay, allotment, repayment decisions, refunds"),
        ],
        coerce=lambda value: value == "on",
        widget=forms.RadioSelect,
    )


# --- auditors' filters ---------------------------------------------------------------


def _choices(form: forms.Form, name: str, choices: list) -> None:
    """Set the choices of one of the form's choice fields (the issuer's own issues, accounts...)."""
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


class _PeriodForm(forms.Form):
    """A GET filter with an optional period of days, both included."""

    date_from = forms.DateField(label="From", required=False, widget=IsoDateInput)
    date_to = forms.DateField(label="To", required=False, widget=IsoDateInput)

    def clean(self):
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The period ends before it starts.")
        return data


class SubscriptionFilterForm(forms.Form):
    """Which of an issue's subscriptions the officer's page lists."""

    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Every status"), *SubscriptionStatus.choices]
    )
    search = forms.CharField(label="Reference or name", required=False, max_length=100)


class LedgerFilterForm(_PeriodForm):
    """Which entries of an issuer's ledger to show. The choices are the issuer's own."""

    issue = forms.TypedChoiceField(label="Issue", required=False, coerce=int, empty_value=None)
    account = forms.ChoiceField(label="Account", required=False)
    kind = forms.ChoiceField(label="Kind", required=False, choices=[("", "Every kind"), *EntryKind.choices])
    field_order = ["issue", "account", "kind", "date_from", "date_to"]

    def __init__(self, data=None, *, issues, account_codes):
        super().__init__(data)
        _choices(self, "issue", [("", "Every issue"), *((i.pk, i.name) for i in issues)])
        _choices(self, "account", [("", "Every account"), *((c, c) for c in account_codes)])


class DecisionFilterForm(_PeriodForm):
    """Which of an issuer's decisions to show."""

    rule = forms.ChoiceField(label="Rule", required=False)
    outcome = forms.ChoiceField(label="Outcome", required=False, choices=[("", "Either"), *Outcome.choices])
    issue = forms.TypedChoiceField(label="Issue", required=False, coerce=int, empty_value=None)
    field_order = ["rule", "outcome", "issue", "date_from", "date_to"]

    def __init__(self, data=None, *, issues, rules):
        super().__init__(data)
        _choices(self, "rule", [("", "Every rule"), *((r, r.replace("_", " ")) for r in rules)])
        _choices(self, "issue", [("", "Every issue"), *((i.pk, i.name) for i in issues)])
