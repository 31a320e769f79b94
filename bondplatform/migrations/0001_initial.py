"""The audit trail moves here from `compliance` (state only: the table and its rows stay)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("issuers", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        # The table was created there.
        ("compliance", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("action", models.CharField(max_length=60)),
                        ("object_type", models.CharField(max_length=40)),
                        ("object_id", models.CharField(max_length=40)),
                        ("data", models.JSONField(blank=True, default=dict)),
                        ("at", models.DateTimeField(auto_now_add=True)),
                        ("actor", models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("issuer", models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="audit_events", to="issuers.issuer")),
                    ],
                    options={
                        "db_table": "compliance_auditevent",
                        "ordering": ["-at", "-id"],
                        "indexes": [models.Index(fields=["issuer", "-at"], name="compliance__issuer__e4992c_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="auditevent",
            name="system_actor",
            field=models.CharField(blank=True, default="", max_length=40),
        ),
    ]
