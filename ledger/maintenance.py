"""Lifting the ledger's append-only triggers, for the two places that legitimately must.

- Tests that tamper with stored rows on purpose, to prove the verifier
  notices, and that empty the database between transactional tests.
- `manage.py flush` (see `investments/management/commands/flush.py`), which
  Django's TransactionTestCase calls after each test.

Never from application code. On PostgreSQL it needs a role allowed to set
`session_replication_role` (a superuser): an application role that is not
cannot lift the guards at all.
"""

# Raw SQL here interpolates only table names from model _meta; every value is a parameter.
# ruff: noqa: S608

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import DEFAULT_DB_ALIAS, connections

LEDGER_TABLES = (
    "investments_ledgeraccount",
    "investments_ledgerentry",
    "investments_ledgerposting",
    "investments_ledgercheckpoint",
)


@contextlib.contextmanager
def ledger_triggers_disabled(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Triggers created without ENABLE REPLICA/ALWAYS do not fire for a
            # replica session; nor do foreign-key checks, so use with care.
            cursor.execute("SET session_replication_role = replica")
            try:
                yield
            finally:
                cursor.execute("RESET session_replication_role")
        elif connection.vendor == "sqlite":
            placeholders = ", ".join(["%s"] * len(LEDGER_TABLES))
            cursor.execute(
                "SELECT name, sql FROM sqlite_master"
                f" WHERE type = 'trigger' AND name LIKE 'ledger%%' AND tbl_name IN ({placeholders})",
                list(LEDGER_TABLES),
            )
            triggers = cursor.fetchall()
            for name, _sql in triggers:
                cursor.execute(f'DROP TRIGGER "{name}"')
            try:
                yield
            finally:
                for _name, sql in triggers:
                    cursor.execute(sql)
        else:  # pragma: no cover - only the two databases above are supported
            yield
