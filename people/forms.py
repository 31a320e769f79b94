"""HTML forms for people."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from rest_framework.throttling import ScopedRateThrottle

from bondplatform.errors import ServiceError
from people import services as people_services


class RegisterForm(forms.Form):
    username = forms.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    email = forms.EmailField()
    full_name = forms.CharField(max_length=200)
    date_of_birth = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    postcode = forms.CharField(max_length=10)
    password = forms.CharField(widget=forms.PasswordInput, max_length=128)


class SignInForm(AuthenticationForm):
    """Username and password, and the authenticator's code once two-factor sign-in is set up."""

    otp = forms.CharField(
        label="Code from your authenticator app",
        required=False,
        max_length=10,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )

    throttle_scope = "sign_in"  # shared with auth/token/: one budget of guesses per address

    def clean(self):
        if self.request is not None and not ScopedRateThrottle().allow_request(self.request, self):
            raise forms.ValidationError(
                "Too many sign-in attempts: wait a minute and try again.", code="throttled"
            )
        cleaned = super().clean()
        user = self.get_user()
        if user is not None:
            try:
                people_services.totp_check_sign_in(user=user, otp=cleaned.get("otp"))
            except ServiceError as refusal:
                raise forms.ValidationError(refusal.detail, code=refusal.code) from None
        return cleaned
