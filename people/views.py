"""HTML pages for people: registering as a resident, signing in."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import LoginView
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from bondplatform.errors import ServiceError
from people import sessions
from people.forms import RegisterForm, SignInForm
from people.services import registration


@require_http_methods(["GET", "POST"])
def register(request):
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            profile = registration.resident_register(**form.cleaned_data)
        except ServiceError as refusal:
            for field, problems in refusal.fields.items():
                form.add_error(field if field in form.fields else None, problems)
            if not refusal.fields:
                form.add_error(None, refusal.detail)
        else:
            login(request, profile.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request,
                f"Welcome, {profile.full_name}. We have sent a link to {profile.user.email}: "
                "open it to confirm your address before you subscribe.",
            )
            return redirect("home")
    return render(request, "registration/register.html", {"form": form})


@require_http_methods(["GET"])
def verify_email(request, token: str):
    """The link in the verification e-mail."""
    try:
        registration.email_verify(token=token)
    except ServiceError as refusal:
        messages.error(request, refusal.detail)
    else:
        messages.success(request, "Thank you: your e-mail address is confirmed.")
    return redirect("home")


class SignInView(LoginView):
    """The sign-in page (and the admin's: `people.admin_site`)."""

    authentication_form = SignInForm

    def form_valid(self, form):
        response = super().form_valid(form)  # login(): the session starts unverified
        if form.two_factor_device is not None:
            sessions.session_mark_verified(self.request.session, form.two_factor_device)
        return response

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.refused_for_too_many():
            response.status_code = 429
        return response
