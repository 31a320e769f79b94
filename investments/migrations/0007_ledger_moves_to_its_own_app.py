"""The ledger's models leave this app's state for the `ledger` app (ledger 0001).

State only: the tables, their rows and their triggers stay as they are. The
receipt's foreign key now points at `ledger.LedgerEntry` (the same table).
Content types and permissions follow the models, so grants made on the old
labels keep working.
"""

import django.db.models.deletion
from django.db import migrations, models

LEDGER_MODELS = ["ledgeraccount", "ledgercheckpoint", "ledgerentry", "ledgerhead", "ledgerposting"]


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    ContentType.objects.using(db).filter(app_label="investments", model__in=LEDGER_MODELS).update(
        app_label="ledger"
    )


def move_content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    ContentType.objects.using(db).filter(app_label="ledger", model__in=LEDGER_MODELS).update(
        app_label="investments"
    )


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("investments", "0006_refund_reason_unpaid_in_time"),
        ("ledger", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="receipt",
                    name="ledger_entry",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="ledger.ledgerentry"
                    ),
                ),
                migrations.DeleteModel(name="LedgerPosting"),
                migrations.DeleteModel(name="LedgerCheckpoint"),
                migrations.DeleteModel(name="LedgerHead"),
                migrations.DeleteModel(name="LedgerEntry"),
                migrations.DeleteModel(name="LedgerAccount"),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
