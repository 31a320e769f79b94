from django.contrib import admin, messages

from bondplatform.errors import ServiceError
from people.models import Profile, TotpDevice
from people.services import two_factor


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    """Residents' profiles, to look at only: a date of birth or a postcode decides who may
    invest in which issue, and no service changes them with an audit row yet."""

    list_display = ["full_name", "user", "postcode"]
    search_fields = ["full_name", "user__username", "postcode"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TotpDevice)
class TotpDeviceAdmin(admin.ModelAdmin):
    """Who has set up two-factor sign-in, and the one thing staff may do about it: reset it
    (through the service, which checks and audits). The secret is never shown."""

    list_display = ["user", "confirmed_at", "created_at"]
    search_fields = ["user__username"]
    fields = ["user", "confirmed_at", "created_at"]
    readonly_fields = fields
    actions = ["reset_two_factor"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # deleting would skip the audit row and leave tokens behind: reset instead

    @admin.action(
        description="Reset two-factor sign-in (they sign in with the password, then set it up again)"
    )
    def reset_two_factor(self, request, queryset):
        for device in queryset.select_related("user"):
            try:
                two_factor.two_factor_reset(actor=request.user, user_id=device.user_id)
            except ServiceError as refusal:
                self.message_user(request, f"{device.user}: {refusal.detail}", messages.ERROR)
            else:
                self.message_user(request, f"Two-factor sign-in of {device.user} is reset.", messages.SUCCESS)
