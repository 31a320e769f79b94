"""HTML pages for people: registering as a resident."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import LoginView
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from bondplatform.errors import ServiceError
from people import services as people_services
from people.forms import RegisterForm, SignInForm


@require_http_methods(["GET", "POST"])
def register(request):
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            profile = people_services.resident_register(**form.cleaned_data)
        except ServiceError as refusal:
            for field, problems in refusal.fields.items():
                form.add_error(field if field in form.fields else None, problems)
            if not refusal.fields:
                form.add_error(None, refusal.detail)
        else:
            login(request, profile.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {profile.full_name}.")
            return redirect("home")
    return render(request, "registration/register.html", {"form": form})


class SignInView(LoginView):
    authentication_form = SignInForm
