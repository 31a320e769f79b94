"""Django's admin, with the site's own sign-in: INSTALLED_APPS names this instead of
`django.contrib.admin` (see `people.admin_site`)."""

from django.contrib.admin.apps import AdminConfig


class SignInAdminConfig(AdminConfig):
    default_site = "people.admin_site.SignInAdminSite"
