"""Distributions and declared financial years are records, like the decision log (0003):
the database refuses UPDATE, DELETE and TRUNCATE of their rows. The trigger function
`append_only_refuse_change` is 0003's; the SQL is written out here, so that this
migration keeps meaning what it meant."""

from django.db import migrations

TABLES = ("compliance_distribution", "compliance_financialyear")

PG_FORWARD = [
    sql
    for table in TABLES
    for sql in (
        f"CREATE TRIGGER append_only_rows BEFORE UPDATE OR DELETE ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION append_only_refuse_change()",
        f"CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON {table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION append_only_refuse_change()",
    )
]
PG_REVERSE = [
    sql
    for table in TABLES
    for sql in (
        f"DROP TRIGGER IF EXISTS append_only_rows ON {table}",
        f"DROP TRIGGER IF EXISTS append_only_truncate ON {table}",
    )
]
SQLITE_FORWARD = [
    f"CREATE TRIGGER append_only_{table}_no_{op.lower()} BEFORE {op} ON {table}"
    f" BEGIN SELECT RAISE(ABORT, 'append-only record: {op} on {table} refused'); END"
    for table in TABLES
    for op in ("UPDATE", "DELETE")
]
SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS append_only_{table}_no_{op}" for table in TABLES for op in ("update", "delete")
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, ()):
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("compliance", "0004_distributions_and_financial_years")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": PG_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
