"""Usernames and e-mail addresses unique whatever their case (issue 9, finding 8).

`auth.User` is Django's, so the rule cannot sit in its Meta: these are plain
unique indexes on the lower-cased columns, which PostgreSQL and SQLite both
build. Registration checks first (people.services.registration) and answers
`username_taken` / `email_taken`; the indexes settle two registrations racing.
Empty e-mail addresses (staff made by createsuperuser) are left out.
If an existing database already holds such duplicates, this migration fails:
merge or rename those accounts first.
"""

from django.conf import settings
from django.db import migrations


def _table(apps):
    return apps.get_model(settings.AUTH_USER_MODEL)._meta.db_table


def create(apps, schema_editor):
    table = schema_editor.quote_name(_table(apps))
    schema_editor.execute(f"CREATE UNIQUE INDEX people_user_username_ci ON {table} (LOWER(username))")
    schema_editor.execute(
        f"CREATE UNIQUE INDEX people_user_email_ci ON {table} (LOWER(email)) WHERE email <> ''"
    )


def drop(apps, schema_editor):
    schema_editor.execute("DROP INDEX people_user_username_ci")
    schema_editor.execute("DROP INDEX people_user_email_ci")


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0003_sign_in_tokens_lockout_recovery"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(create, drop)]
