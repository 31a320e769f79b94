"""HTML forms for people."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from rest_framework.throttling import ScopedRateThrottle

from bondplatform.errors import ServiceError
from people.models import TotpDevice
from people.services import sign_in


class RegisterForm(forms.Form):
    username = forms.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    email = forms.EmailField()
    full_name = forms.CharField(max_length=200)
    date_of_birth = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    postcode = forms.CharField(max_length=10)
    password = forms.CharField(widget=forms.PasswordInput, max_length=128)


class SignInForm(AuthenticationForm):
    """Username and password, and the authenticator's code once two-factor sign-in is set up.

    Checked by `sign_in.sign_in_check`, as the token endpoint is: the same lock-out,
    the same two-factor rules. `two_factor_device` is the authenticator the sign-in
    gave a code from, for the view to mark the session with once signed in."""

    otp = forms.CharField(
        label="Code from your authenticator app (or a recovery code)",
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )

    throttle_scope = "sign_in"  # shared with auth/token/: one budget of guesses per address

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.two_factor_device: TotpDevice | None = None

    def clean(self):
        if self.request is not None and not ScopedRateThrottle().allow_request(self.request, self):
            raise forms.ValidationError(
                "Too many sign-in attempts: wait a minute and try again.", code="throttled"
            )
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not username or not password:
            return self.cleaned_data  # the missing field has its own error
        try:
            checked = sign_in.sign_in_check(
                username=username, password=password, otp=self.cleaned_data.get("otp")
            )
        except ServiceError as refusal:
            raise forms.ValidationError(refusal.detail, code=refusal.code) from None
        self.confirm_login_allowed(checked.user)
        self.user_cache = checked.user
        self.two_factor_device = checked.device
        return self.cleaned_data

    def refused_for_too_many(self) -> bool:
        return any(e.code in {"throttled", "account_locked"} for e in self.non_field_errors().as_data())


class AdminSignInForm(SignInForm):
    """The admin's sign-in: the site's own (password, then the code), for staff only."""

    error_messages = {**SignInForm.error_messages, **AdminAuthenticationForm.error_messages}
    required_css_class = "required"

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise forms.ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )
