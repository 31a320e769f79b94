"""The admin site, behind the same sign-in as the rest of the service (issue 9, finding 2).

Django's own admin sign-in asks for the password alone, and its session then
worked on the API and every page: staff skipped two-factor sign-in. Here the
admin's sign-in page is the site's (`SignInView` with `AdminSignInForm`:
password, then the authenticator's code, the same lock-out), and the admin
lets staff in only while `people.gates.require_two_factor` does: a session
whose sign-in gave no code, of someone who has an authenticator, is sent back
to sign in; with TWO_FACTOR_REQUIRED, staff without one are told to set it up.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from bondplatform.errors import NotPermitted
from people import gates
from people.forms import AdminSignInForm
from people.views import SignInView


class SignInAdminSite(admin.AdminSite):
    login_form = AdminSignInForm
    login_template = "registration/login.html"

    def has_permission(self, request) -> bool:
        return super().has_permission(request) and self._two_factor_problem(request) is None

    @staticmethod
    def _two_factor_problem(request) -> str | None:
        try:
            gates.require_two_factor(request.user)
        except NotPermitted as refusal:
            return refusal.detail
        return None

    # Django's AdminSite.login, with the site's sign-in view in place of Django's LoginView.
    @method_decorator(never_cache)
    @login_not_required
    def login(self, request, extra_context=None):
        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        context = {
            **self.each_context(request),
            "title": "Sign in to the admin",
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
        }
        if request.user.is_authenticated and request.user.is_staff:
            context["two_factor_problem"] = self._two_factor_problem(request)
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=self.name)
        context.update(extra_context or {})
        request.current_app = self.name
        return SignInView.as_view(
            extra_context=context,
            authentication_form=self.login_form,
            template_name=self.login_template,
        )(request)
