from django.contrib import admin

from issuers.models import Issuer, RoleGrant


@admin.register(Issuer)
class IssuerAdmin(admin.ModelAdmin):
    list_display = ["name", "legal_form", "asset_lock_basis", "max_interest_rate_percent"]


@admin.register(RoleGrant)
class RoleGrantAdmin(admin.ModelAdmin):
    list_display = ["issuer", "user", "role", "granted_at"]
    list_filter = ["role", "issuer"]
