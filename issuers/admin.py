"""The admin for issuers and role grants: every change goes through the services.

Staff once saved a society as a CIC with no asset lock and a 99 % rate cap,
which the API refuses, and no audit row said so (issue 9, finding 5). Here the
forms are judged by the same rules (`issuer_validate_constitution`, and the
role-grant service itself), and saving calls `issuer_create`,
`issuer_update`, `role_grant` and `role_revoke`, which check who may act and
write the audit row. Issuers are never deleted; a role is revoked, not edited.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from bondplatform.errors import BadInput, ServiceError
from issuers import services
from issuers.models import Issuer, Role, RoleGrant

# The constitution: the fields `issuer_validate_constitution` judges together.
CONSTITUTION = ("legal_form", "asset_lock_basis", "max_interest_rate_percent")


class IssuerAdminForm(forms.ModelForm):
    class Meta:
        model = Issuer
        fields = services.ISSUER_CHANGEABLE_FIELDS

    def clean(self):
        data = super().clean()
        if all(data.get(name) is not None for name in CONSTITUTION):
            try:
                services.issuer_validate_constitution(**{name: data[name] for name in CONSTITUTION})
            except BadInput as refusal:
                for name, problems in refusal.fields.items():
                    self.add_error(name if name in self.fields else None, problems)
                if not refusal.fields:
                    raise forms.ValidationError(refusal.detail) from None
        return data


@admin.register(Issuer)
class IssuerAdmin(admin.ModelAdmin):
    form = IssuerAdminForm
    list_display = ["name", "legal_form", "asset_lock_basis", "max_interest_rate_percent"]

    def save_model(self, request, obj, form, change):
        if change:
            fields = {name: form.cleaned_data[name] for name in form.changed_data}
            saved = services.issuer_update(actor=request.user, issuer_id=obj.pk, **fields)
        else:
            fields = {name: form.cleaned_data[name] for name in services.ISSUER_CHANGEABLE_FIELDS}
            saved = services.issuer_create(actor=request.user, **fields)
        # The admin goes on with its own object (its log entry, the redirect): make it the saved one.
        obj.pk, obj.created_at = saved.pk, saved.created_at
        obj._state.adding, obj._state.db = False, saved._state.db

    def has_delete_permission(self, request, obj=None):
        return False  # an issuer's books, decisions and audit trail refer to it for ever


class RoleGrantForm(forms.Form):
    issuer = forms.ModelChoiceField(queryset=Issuer.objects.all())
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices)


@admin.register(RoleGrant)
class RoleGrantAdmin(admin.ModelAdmin):
    list_display = ["issuer", "user", "role", "granted_by", "granted_at"]
    list_filter = ["role", "issuer"]
    search_fields = ["user__username", "issuer__name"]
    list_select_related = ["issuer", "user", "granted_by"]

    def has_change_permission(self, request, obj=None):
        return False  # another role is a revocation and a new grant, each judged and audited

    def add_view(self, request, form_url="", extra_context=None):
        """Grant a role through `role_grant`, outside the admin's own transaction, so that a
        refusal (segregation of duties) keeps its deny decision and shows as the form's error."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = RoleGrantForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                grant = services.role_grant(
                    actor=request.user,
                    issuer=form.cleaned_data["issuer"],
                    username=form.cleaned_data["username"],
                    role=Role(form.cleaned_data["role"]),
                )
            except ServiceError as refusal:
                form.add_error("username" if "username" in refusal.fields else None, refusal.detail)
            else:
                self.log_addition(request, grant, [{"added": {}}])
                self.message_user(request, f"{grant} now.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:issuers_rolegrant_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Grant a role",
            "opts": self.model._meta,
            "form": form,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/issuers/rolegrant/grant.html", context)

    def delete_model(self, request, obj):
        services.role_revoke(actor=request.user, grant_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for grant_id in queryset.values_list("pk", flat=True):
            services.role_revoke(actor=request.user, grant_id=grant_id)
