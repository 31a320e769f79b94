"""The decision log is a record: the database refuses UPDATE, DELETE and TRUNCATE of its rows.

As for the ledger (investments 0002): row triggers on PostgreSQL and SQLite,
a statement trigger for TRUNCATE on PostgreSQL; `bondplatform.append_only`
lifts them for tests and a deliberate `flush --allow-ledger-purge` only. The
SQL is written out here, so that this migration keeps meaning what it meant.
"""

from django.db import migrations

TABLE = "compliance_decision"

PG_FORWARD = [
    """
    CREATE OR REPLACE FUNCTION append_only_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'append-only record: % on % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation',
                  HINT = 'Records are corrected by new rows, never edited.';
    END
    $$
    """,
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
    dependencies = [("compliance", "0002_audit_trail_moves_to_core"), ("bondplatform", "0002_audit_trail_append_only")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": PG_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
