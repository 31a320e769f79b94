"""A bank statement line that claims a receipt an officer recorded by hand (StatementLineClaim).

The claims are a record, like the audit trail (bondplatform 0002, whose trigger function
`append_only_refuse_change` this uses): the database refuses UPDATE, DELETE and TRUNCATE
of their rows. The SQL is written out here, so that this migration keeps meaning what it meant.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TABLE = "investments_statementlineclaim"

PG_FORWARD = [
    f"CREATE TRIGGER append_only_rows BEFORE UPDATE OR DELETE ON {TABLE}"
    " FOR EACH ROW EXECUTE FUNCTION append_only_refuse_change()",
    f"CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON {TABLE}"
    " FOR EACH STATEMENT EXECUTE FUNCTION append_only_refuse_change()",
]
PG_REVERSE = [
    f"DROP TRIGGER IF EXISTS append_only_rows ON {TABLE}",
    f"DROP TRIGGER IF EXISTS append_only_truncate ON {TABLE}",
]
SQLITE_FORWARD = [
    f"CREATE TRIGGER append_only_{TABLE}_no_{op.lower()} BEFORE {op} ON {TABLE}"
    f" BEGIN SELECT RAISE(ABORT, 'append-only record: {op} on {TABLE} refused'); END"
    for op in ("UPDATE", "DELETE")
]
SQLITE_REVERSE = [f"DROP TRIGGER IF EXISTS append_only_{TABLE}_no_{op}" for op in ("update", "delete")]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, ()):
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("investments", "0011_payout_batch_sent_idempotency_key"),
        ("bondplatform", "0002_audit_trail_append_only"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="StatementLineClaim",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=200, unique=True)),
                ("line_date", models.DateField()),
                ("claimed_at", models.DateTimeField(auto_now_add=True)),
                (
                    "claimed_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "receipt",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="statement_claim",
                        to="investments.receipt",
                    ),
                ),
            ],
        ),
        migrations.RunPython(
            _run({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": PG_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
