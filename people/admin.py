from django.contrib import admin

from people.models import Profile


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["full_name", "user", "postcode"]
    search_fields = ["full_name", "user__username", "postcode"]
