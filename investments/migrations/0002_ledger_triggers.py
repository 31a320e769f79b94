"""The ledger's database guards: append-only tables and, on PostgreSQL, balance at COMMIT.

- UPDATE and DELETE of accounts, entries, postings and checkpoints are
  refused by row triggers (PostgreSQL and SQLite); TRUNCATE by statement
  triggers (PostgreSQL). The head row (`investments_ledgerhead`) stays
  writable: it is the lock and cache of the chain's end, not the record.
- PostgreSQL: a deferred constraint trigger checks, at COMMIT, that each new
  entry has at least two postings summing to zero per currency. It costs one
  aggregate per entry over the unique (entry_id, position) index.

Both raise integrity errors (SQLSTATE 23001 / 23514 on PostgreSQL, SQLITE_CONSTRAINT
on SQLite), so Django surfaces them as IntegrityError. The SQL is written out
here, not imported, so that this migration keeps meaning what it meant.
"""

from django.db import migrations

IMMUTABLE = [
    "investments_ledgeraccount",
    "investments_ledgerentry",
    "investments_ledgerposting",
    "investments_ledgercheckpoint",
]

PG_FORWARD = [
    """
    CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation',
                  HINT = 'Correct a ledger entry by posting a reversal.';
    END
    $$
    """,
    """
    CREATE FUNCTION ledger_entry_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        n bigint;
        unbalanced boolean;
    BEGIN
        SELECT coalesce(sum(t.c), 0), coalesce(bool_or(t.s <> 0), false) INTO n, unbalanced
        FROM (
            SELECT count(*) AS c, sum(amount_pence) AS s
            FROM investments_ledgerposting WHERE entry_id = NEW.id GROUP BY currency
        ) AS t;
        IF n < 2 OR unbalanced THEN
            RAISE EXCEPTION 'ledger entry % (issuer %, sequence %) is unbalanced or has fewer than 2 postings',
                NEW.id, NEW.issuer_id, NEW.sequence
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE CONSTRAINT TRIGGER ledger_entry_balanced
    AFTER INSERT ON investments_ledgerentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_check_balanced()
    """,
]
for table in IMMUTABLE:
    PG_FORWARD += [
        f"CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
        f"CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON {table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
    ]

PG_REVERSE = [
    "DROP TRIGGER IF EXISTS ledger_entry_balanced ON investments_ledgerentry",
    *(f"DROP TRIGGER IF EXISTS ledger_append_only ON {table}" for table in IMMUTABLE),
    *(f"DROP TRIGGER IF EXISTS ledger_no_truncate ON {table}" for table in IMMUTABLE),
    "DROP FUNCTION IF EXISTS ledger_entry_check_balanced()",
    "DROP FUNCTION IF EXISTS ledger_refuse_change()",
]

SQLITE_FORWARD = []
SQLITE_REVERSE = []
for table in IMMUTABLE:
    for op in ("UPDATE", "DELETE"):
        name = f"ledger_{table.removeprefix('investments_')}_no_{op.lower()}"
        SQLITE_FORWARD.append(
            f"CREATE TRIGGER {name} BEFORE {op} ON {table}"
            f" BEGIN SELECT RAISE(ABORT, 'ledger is append-only: {op} on {table} refused'); END"
        )
        SQLITE_REVERSE.append(f"DROP TRIGGER IF EXISTS {name}")


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, ()):
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("investments", "0001_ledger"),
    ]

    operations = [
        migrations.RunPython(
            _run({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": PG_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
