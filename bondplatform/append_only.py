"""Lifting the append-only guards, for the two places that legitimately must.

The ledger's entries, postings, accounts and checkpoints, the decision log
and the audit trail are append-only: database triggers refuse UPDATE and
DELETE (and TRUNCATE on PostgreSQL). Their SQLite triggers are named
`ledger_*` or `append_only_*`. Two places must lift them:
- tests that tamper with stored rows on purpose, to prove the verifier
  notices, and that empty the database between transactional tests;
- `manage.py flush` (`bondplatform/management/commands/flush.py`), which
  Django's TransactionTestCase calls after each test.

Never from application code. On PostgreSQL it needs a role allowed to set
`session_replication_role` (a superuser): an application role that is not
cannot lift the guards at all.
"""

# Raw SQL here interpolates only table names from model _meta; every value is a parameter.

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import DEFAULT_DB_ALIAS, connections


@contextlib.contextmanager
def append_only_guards_lifted(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
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
            cursor.execute(
                "SELECT name, sql FROM sqlite_master"
                " WHERE type = 'trigger' AND (name LIKE 'ledger%%' OR name LIKE 'append_only%%')"
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
