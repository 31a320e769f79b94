"""The audit trail leaves this app's state for `bondplatform` (its 0001); the table stays.

Decisions gain `system_actor`, naming the service when it decided on its own.
"""

from django.db import migrations, models



def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(
        app_label="compliance", model="auditevent"
    ).update(app_label="bondplatform")


def move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(
        app_label="bondplatform", model="auditevent"
    ).update(app_label="compliance")


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("compliance", "0001_initial"),
        ("bondplatform", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEvent")],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
        migrations.AddField(
            model_name="decision",
            name="system_actor",
            field=models.CharField(blank=True, default="", max_length=40),
        ),
    ]
