"""HTML forms: they parse input the same way the API does and leave rules to services."""

import datetime as dt
import re

from django import forms
from django.core.validators import URLValidator
from django.utils import timezone

from bondplatform.money import InvalidAmount, display_pounds, parse_amount
from compliance.models import DistributionKind, Outcome
from investments.models import (
    DayCount,
    InterestFrequency,
    InterestPreference,
    PaymentMethod,
    SubscriptionStatus,
)
from investments.services.issues import TERM_FIELDS
from issuers.models import Role
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


class BondholderUpdateForm(forms.Form):
    """News for an issue's bondholders; the service checks it again and decodes the photo."""

    title = forms.CharField(label="Title", max_length=200)
    body = forms.CharField(label="The news", max_length=10_000, widget=forms.Textarea(attrs={"rows": 6}))
    published_on = forms.DateField(label="Date (empty: today)", required=False, widget=IsoDateInput)
    # At most UPLOAD_MAX_FILE_SIZE, refused as it streams in (bondplatform.uploads); the type is
    # judged by the bytes (bondplatform.images), `accept` only helps the browser's file picker.
    photo = forms.FileField(
        label="A photo (JPEG, PNG or WebP, at most 5 MB; optional)",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    photo_alt = forms.CharField(
        label="What the photo shows, for people who cannot see it", max_length=300, required=False
    )

    def clean(self):
        data = super().clean() or {}
        if data.get("photo") and not (data.get("photo_alt") or "").strip():
            self.add_error("photo_alt", "Describe the photo for people who cannot see it.")
        return data


class EmailUpdatesForm(forms.Form):
    """The resident's choice about the e-mails they may do without (the essential ones always go)."""

    email_updates = forms.TypedChoiceField(
        label="E-mails about my bonds",
        choices=[
            ("on", "Send me everything: payments received, interest, money sent, news of the projects"),
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


# --- officers' issues, roles, distributions and uses of funds ----------------------------


class PoundsField(AmountField):
    """An amount in pounds, shown back as typed by a person ("1,250.00"); zero allowed if asked."""

    def __init__(self, *, allow_zero: bool = False, **kwargs):
        self.allow_zero = allow_zero
        super().__init__(**kwargs)

    def to_python(self, value):
        text = str(value or "").replace("£", "").replace(",", "").strip()
        if not text:
            return None  # "This field is required."
        if self.allow_zero and parse_amount_or_none(text) == 0:
            return 0
        return super().to_python(value)

    def prepare_value(self, value):
        return display_pounds(value).lstrip("£") if isinstance(value, int) else value


def parse_amount_or_none(text: str) -> int | None:
    try:
        return parse_amount(text)
    except InvalidAmount:
        return None


# The API's postcode-prefix pattern (investments.api.issues): an area, a district, or a sector.
POSTCODE_PREFIX = re.compile(r"^[A-Za-z]{1,2}([0-9][A-Za-z0-9]?( ?[0-9])?)?$")
# When a day typed on the form starts and ends, in the service's time zone.
OPENS_AT_TIME = dt.time(0, 0)
CLOSES_AT_TIME = dt.time(23, 59, 59)
# The service's field messages name other fields by their API names; the page says them in words.
TERM_WORDS = {
    "opens_at": "the opening day",
    "closes_at": "the closing day",
    "min_subscription": "the least per person",
    "max_subscription": "the most per person",
    "min_raise": "the minimum raise",
    "max_raise": "the maximum raise",
}
PENCE_FIELDS = ("min_subscription", "max_subscription", "min_raise", "max_raise")


class IssueTermsForm(forms.Form):
    """A draft issue's terms, as an officer types them: pounds, days, a list of postcodes.

    `terms()` gives them as the issue services take them (pence, aware datetimes); `changes()`
    only those that differ from `issue`'s (a day left as it was keeps its time of day)."""

    name = forms.CharField(label="Name of the issue", max_length=200)
    description = forms.CharField(
        label="What the money is for", required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    coupon_rate_percent = forms.DecimalField(
        label="Interest rate (% a year)", max_digits=5, decimal_places=2, min_value=0, max_value=100
    )
    term_months = forms.IntegerField(label="Term (months from allotment)", min_value=1, max_value=600)
    interest_frequency = forms.ChoiceField(label="Interest paid", choices=InterestFrequency.choices)
    day_count = forms.ChoiceField(label="Day count", choices=DayCount.choices, initial=DayCount.ACT_365F)
    min_subscription = PoundsField(label="Least per person (£)")
    max_subscription = PoundsField(label="Most per person (£)")
    min_raise = PoundsField(
        label="Minimum raise (£)",
        allow_zero=True,
        help_text="Below it at the close, the offer fails and everyone is refunded.",
    )
    max_raise = PoundsField(label="Maximum raise (£)")
    opens_at = forms.DateField(label="Opens on", widget=IsoDateInput, help_text="From the start of the day.")
    closes_at = forms.DateField(label="Closes on", widget=IsoDateInput, help_text="At the end of the day.")
    eligible_postcode_prefixes = forms.CharField(
        label="Open to postcodes starting with",
        required=False,
        max_length=500,
        help_text="Separated by commas, such as S1, S2, S3 8. Empty: anyone eligible.",
    )
    cooling_off_days = forms.IntegerField(label="Cooling-off (days)", min_value=0, max_value=365, initial=14)
    notice_days = forms.IntegerField(
        label="Notice for early repayment (days)", min_value=0, max_value=3650, initial=90
    )
    reinvestment_allowed = forms.BooleanField(
        label="Holders may add their interest to their bond", required=False
    )
    performance_related = forms.BooleanField(
        label="Performance-related interest (the rate above is its most)", required=False
    )

    def __init__(self, data=None, *, issuer, issue=None):
        self.issue = issue
        super().__init__(data, initial=self._initial_of(issue) if issue is not None else None)
        self.fields[
            "coupon_rate_percent"
        ].help_text = f"{issuer.name}'s rules allow at most {issuer.max_interest_rate_percent} % a year."

    @staticmethod
    def _initial_of(issue) -> dict:
        initial = {name: getattr(issue, name) for name in TERM_FIELDS if hasattr(issue, name)}
        for name in PENCE_FIELDS:
            initial[name] = getattr(issue, f"{name}_pence")
        initial["opens_at"] = timezone.localdate(issue.opens_at)
        initial["closes_at"] = timezone.localdate(issue.closes_at)
        initial["eligible_postcode_prefixes"] = ", ".join(issue.eligible_postcode_prefixes)
        return initial

    def clean_eligible_postcode_prefixes(self) -> list[str]:
        prefixes = [p.strip().upper() for p in self.cleaned_data["eligible_postcode_prefixes"].split(",")]
        prefixes = [p for p in prefixes if p]
        wrong = [p for p in prefixes if not POSTCODE_PREFIX.fullmatch(p)]
        if wrong:
            raise forms.ValidationError(f"Not the start of a UK postcode: {', '.join(wrong)}.")
        if len(prefixes) > 50:
            raise forms.ValidationError("At most 50 postcodes.")
        return prefixes

    def terms(self) -> dict:
        data = dict(self.cleaned_data)
        for name in PENCE_FIELDS:
            data[f"{name}_pence"] = data.pop(name)
        data["opens_at"] = self._moment(data["opens_at"], OPENS_AT_TIME, "opens_at")
        data["closes_at"] = self._moment(data["closes_at"], CLOSES_AT_TIME, "closes_at")
        return data

    def _moment(self, day: dt.date, time: dt.time, name: str) -> dt.datetime:
        current = getattr(self.issue, name, None)
        if current is not None and timezone.localdate(current) == day:
            return current  # the day as it was: its time too
        return timezone.make_aware(dt.datetime.combine(day, time))

    def changes(self) -> dict:
        assert self.issue is not None
        return {name: value for name, value in self.terms().items() if getattr(self.issue, name) != value}

    def add_refusal(self, fields: dict) -> None:
        """Put a service's field messages (keyed by the API's names, which are this form's) next
        to their fields, in words."""
        for name, errors in fields.items():
            for error in errors if isinstance(errors, list) else [errors]:
                text = str(error)
                for api_name, words in TERM_WORDS.items():
                    text = text.replace(api_name, words)
                self.add_error(name if name in self.fields else None, text)


class RoleGrantForm(forms.Form):
    role = forms.ChoiceField(
        label="Role",
        choices=[
            (Role.FINANCE_OFFICER, "Finance officer: runs the issues"),
            (Role.AUDITOR, "Auditor: reads the books"),
        ],
        widget=forms.RadioSelect,
        initial=Role.AUDITOR,
    )
    username = forms.CharField(
        label="Their username", max_length=150, help_text="They must have registered first."
    )


class DistributionForm(forms.Form):
    """Money paid out of the issuer today, judged by the asset lock. `token` makes the
    idempotency key, as on the record-payment form: the same form sent twice pays once."""

    kind = forms.ChoiceField(label="What kind of payment", choices=DistributionKind.choices)
    recipient_name = forms.CharField(label="Paid to", max_length=200)
    recipient_asset_locked = forms.BooleanField(
        label="The recipient is itself an asset-locked body", required=False
    )
    recipient_registration_number = forms.CharField(
        label="Recipient's registration number",
        max_length=50,
        required=False,
        help_text="Needed for a transfer to another asset-locked body.",
    )
    invoice_reference = forms.CharField(
        label="Invoice reference",
        max_length=100,
        required=False,
        help_text="Needed for a payment for full consideration.",
    )
    amount = PoundsField(label="Amount (£)")
    purpose = forms.CharField(
        label="What it is for", max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
    token = forms.RegexField(r"^[A-Za-z0-9_-]{16,64}\Z", widget=forms.HiddenInput)


class UseOfFundsForm(forms.Form):
    """What part of an issue's money paid for; tied to the distribution that paid it."""

    ledger_sequence = forms.TypedChoiceField(label="Paid by", coerce=int)
    amount = PoundsField(label="Amount (£)")
    purpose = forms.CharField(
        label="What it paid for", max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
    spent_on = forms.DateField(label="Spent on", widget=IsoDateInput)
    evidence_url = forms.URLField(
        label="Evidence (a web address)",
        max_length=500,
        required=False,
        assume_scheme="https",
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="An invoice, a photo, a report: anyone can follow it.",
    )

    def __init__(self, data=None, *, payments):
        super().__init__(data)
        _choices(self, "ledger_sequence", [("", "Choose the payment"), *payments])
