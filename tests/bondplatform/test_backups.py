"""`make backup` and `make restore`: a backup restored into a fresh database verifies with the same heads.

PostgreSQL only (pg_dump and pg_restore). The restored database is checked
by `manage.py verify_ledger` run against it in a separate process, as an
operator would, and compared with the original row by row for the chain
heads and the signed checkpoints.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from bondplatform.backups import Target
from ledger.models import LedgerCheckpoint, LedgerEntry, LedgerHead
from ledger.services import Posting, entry_post
from ledger.signing import checkpoint_sign

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SIGNING_KEY = "5a" * 32
HEADS = f"SELECT issuer_id, last_sequence, last_hash FROM {LedgerHead._meta.db_table} ORDER BY issuer_id"
CHECKPOINTS = (
    "SELECT issuer_id, sequence, hash, signed_at, key_id, signature"
    f" FROM {LedgerCheckpoint._meta.db_table} ORDER BY id"
)


@pytest.fixture
def signing_key(settings):
    settings.LEDGER_SIGNING_KEY = SIGNING_KEY


@pytest.fixture
def books(society, cic, signing_key):
    """Two issuers' chains, each signed part-way and at its head."""
    for issuer in (society, cic):
        for n in range(1, 6):
            entry_post(
                issuer=issuer,
                kind="adjustment",
                value_date=dt.date(2025, 4, n),
                description=f"Entry {n}",
                idempotency_key=f"backup-test:{n}",
                postings=[Posting("cash_at_bank", 100 * n), Posting("community_fund", -100 * n)],
            )
            if n == 3:
                checkpoint_sign(issuer=issuer)
        checkpoint_sign(issuer=issuer)
    return society, cic


@pytest.fixture
def fresh_database():
    """A database name on the test server nobody uses; dropped afterwards."""
    source = Target.from_settings(connection.settings_dict)
    target = Target(**{**source.__dict__, "name": f"bp_restore_{uuid.uuid4().hex[:10]}"})
    yield target
    with source.connect("postgres") as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{target.name}" WITH (FORCE)')


def url_of(target: Target) -> str:
    auth = target.user + (f":{target.password}" if target.password else "")
    return f"postgres://{auth}@{target.host or 'localhost'}:{target.port or 5432}/{target.name}"


def rows(target: Target, query: str) -> list[tuple]:
    with target.connect(target.name) as conn:
        return conn.execute(query).fetchall()


def test_a_restored_backup_verifies_with_the_same_heads_and_checkpoints(books, fresh_database, tmp_path):
    source = Target.from_settings(connection.settings_dict)
    call_command("db_backup", dir=str(tmp_path))
    (dump,) = tmp_path.glob("*.dump")
    assert dump.name.startswith(f"{source.name}-")
    assert oct(dump.stat().st_mode & 0o777) == "0o600"

    call_command("db_restore", str(dump), database_url=url_of(fresh_database))

    assert rows(fresh_database, HEADS) == rows(source, HEADS)
    assert len(rows(source, CHECKPOINTS)) == 4
    assert rows(fresh_database, CHECKPOINTS) == rows(source, CHECKPOINTS)

    # An operator's check of the restored database, in its own process.
    env = {**os.environ, "DATABASE_URL": url_of(fresh_database), "LEDGER_SIGNING_KEY": SIGNING_KEY}
    verified = subprocess.run(
        [sys.executable, "manage.py", "verify_ledger"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    for issuer_id, sequence, digest in rows(source, HEADS):
        assert f"issuer {issuer_id} " in verified.stdout
        assert f"valid, {sequence} entries, head #{sequence} {digest}" in verified.stdout


def test_the_restored_ledger_is_still_append_only(books, fresh_database, tmp_path):
    call_command("db_backup", dir=str(tmp_path))
    call_command("db_restore", str(next(tmp_path.glob("*.dump"))), database_url=url_of(fresh_database))
    with fresh_database.connect(fresh_database.name) as conn, pytest.raises(psycopg.Error):
        conn.execute(f"UPDATE {LedgerEntry._meta.db_table} SET description = 'rewritten'")


def test_the_signing_key_is_not_in_the_backup(books, tmp_path):
    call_command("db_backup", dir=str(tmp_path))
    dump = next(tmp_path.glob("*.dump"))
    as_sql = subprocess.run(["pg_restore", "--file=-", str(dump)], capture_output=True, check=True).stdout
    assert (
        LedgerCheckpoint._meta.db_table.encode() in as_sql
    )  # the text is readable, so the search means something
    assert SIGNING_KEY.encode() not in as_sql
    assert SIGNING_KEY.upper().encode() not in as_sql


def test_restore_refuses_a_database_that_is_not_empty_unless_forced(books, fresh_database, tmp_path):
    call_command("db_backup", dir=str(tmp_path))
    dump = next(tmp_path.glob("*.dump"))
    url = url_of(fresh_database)
    call_command("db_restore", str(dump), database_url=url)
    with pytest.raises(CommandError, match="not empty"):
        call_command("db_restore", str(dump), database_url=url)

    call_command("db_restore", str(dump), database_url=url, force=True)
    assert rows(fresh_database, HEADS) == rows(Target.from_settings(connection.settings_dict), HEADS)


def test_restore_refuses_a_file_that_is_not_a_backup(fresh_database, tmp_path):
    junk = Path(tmp_path / "junk.dump")
    junk.write_bytes(b"not a backup")
    with pytest.raises(CommandError, match="not a readable backup"):
        call_command("db_restore", str(junk), database_url=url_of(fresh_database))
