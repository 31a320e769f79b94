"""Read-only admin for the ledger: staff may look, nobody may add, change or delete here.

Entries are written only by `services.entry_post`; the database refuses
changes anyway, this just keeps the admin from offering them.
"""

from django.contrib import admin

from ledger.models import LedgerAccount, LedgerCheckpoint, LedgerEntry, LedgerHead, LedgerPosting


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PostingInline(admin.TabularInline):
    model = LedgerPosting
    fields = ("position", "account", "amount_pence", "currency")
    readonly_fields = fields
    ordering = ["position"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["issuer", "sequence", "kind", "value_date", "description", "recorded_at"]
    list_filter = ["issuer", "kind"]
    search_fields = ["idempotency_key", "description"]
    list_select_related = ["issuer"]
    inlines = [PostingInline]


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ["issuer", "code", "account_type", "normal_side"]
    list_filter = ["issuer", "account_type"]
    search_fields = ["code"]


@admin.register(LedgerHead)
class LedgerHeadAdmin(ReadOnlyAdmin):
    list_display = ["issuer", "last_sequence", "last_hash"]


@admin.register(LedgerCheckpoint)
class LedgerCheckpointAdmin(ReadOnlyAdmin):
    list_display = ["issuer", "sequence", "hash", "signed_at", "key_id"]
    list_filter = ["issuer"]
