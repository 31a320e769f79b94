"""Backups of the PostgreSQL database with PostgreSQL's own tools, and their restore.

`backup_create` runs `pg_dump --format=custom` of the service's database into
`backups/<database>-<UTC time>.dump` (readable by its owner only: it holds
residents' personal data). Everything the service knows is in it, the
ledger's entries, chain heads and signed checkpoints included, except the
ledger's signing key, which lives in settings (`LEDGER_SIGNING_KEY`) or in the
development key file (`.ledger-signing-key`), never in the database: keep it
apart from the backups, so that a stolen backup cannot sign a forged ledger.

`backup_restore` loads such a file into a database named by a URL with
`pg_restore --single-transaction` (all or nothing; the ledger's triggers are
created after its rows, as pg_dump orders them). It creates the database when
it does not exist, and refuses one that holds any table unless forced, in
which case the database is dropped and created afresh (a restore on top of
rows would mix two histories).

PostgreSQL only: an SQLite database is one file, copied with `sqlite3 db.sqlite3
".backup backups/copy.sqlite3"`.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why."""


@dataclass(frozen=True)
class Target:
    """Where a PostgreSQL database is: what libpq (psql, pg_dump, psycopg) needs to reach it."""

    name: str
    host: str = ""
    port: str = ""
    user: str = ""
    password: str = ""
    options: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_settings(cls, settings_dict: dict[str, Any]) -> Target:
        if "postgresql" not in settings_dict.get("ENGINE", ""):
            raise BackupError(
                "Backups here are of PostgreSQL (DATABASE_URL=postgres://...); copy an SQLite file instead."
            )
        options = tuple(
            (str(k), str(v)) for k, v in (settings_dict.get("OPTIONS") or {}).items() if isinstance(v, str)
        )
        return cls(
            name=settings_dict["NAME"],
            host=settings_dict.get("HOST") or "",
            port=str(settings_dict.get("PORT") or ""),
            user=settings_dict.get("USER") or "",
            password=settings_dict.get("PASSWORD") or "",
            options=options,
        )

    def environ(self) -> dict[str, str]:
        """libpq's environment: the password never goes on a command line (`ps` would show it)."""
        env = dict(os.environ)
        for key, value in (
            ("PGHOST", self.host),
            ("PGPORT", self.port),
            ("PGUSER", self.user),
            ("PGPASSWORD", self.password),
            ("PGSSLMODE", dict(self.options).get("sslmode", "")),
        ):
            if value:
                env[key] = value
            else:
                env.pop(key, None)
        env["PGDATABASE"] = self.name
        return env

    def connect(self, dbname: str) -> psycopg.Connection:
        kwargs: dict[str, Any] = {"dbname": dbname, "autocommit": True, **dict(self.options)}
        for key, value in (("host", self.host), ("port", self.port), ("user", self.user)):
            if value:
                kwargs[key] = value
        if self.password:
            kwargs["password"] = self.password
        return psycopg.connect(**kwargs)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client).")
    return path


def _run(args: list[str], target: Target) -> None:
    done = subprocess.run(args, env=target.environ(), capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}")


def backup_create(target: Target, directory: Path, *, now: dt.datetime | None = None) -> Path:
    """Dump the database into a new timestamped file in `directory`; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"{target.name}-{stamp}.dump"
    partial = path.with_suffix(".dump.partial")
    # Only its owner reads it: a backup holds every resident's name, address and holdings.
    partial.touch(mode=0o600)
    try:
        _run([_tool("pg_dump"), "--format=custom", "--no-password", f"--file={partial}"], target)
        partial.rename(path)  # a half-written dump never looks like a backup
    finally:
        partial.unlink(missing_ok=True)
    return path


def backup_check(path: Path) -> int:
    """Whether pg_restore can read the file: the number of items in its table of contents."""
    done = subprocess.run(  # noqa: S603
        [_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"{path} is not a readable backup: {done.stderr.strip()}")
    return sum(1 for line in done.stdout.splitlines() if line and not line.startswith(";"))


def database_tables(target: Target) -> int | None:
    """How many tables the database holds outside PostgreSQL's own schemas; None if it does not exist."""
    with target.connect("postgres") as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [target.name]).fetchone()
    if not exists:
        return None
    with target.connect(target.name) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
            " AND n.nspname NOT LIKE 'pg_toast%%'"
        ).fetchone()
    return int(row[0]) if row else 0


def backup_restore(path: Path, target: Target, *, force: bool = False) -> None:
    """Load the backup at `path` into the target database (created if missing; see the module's doc)."""
    backup_check(path)
    tables = database_tables(target)
    name = sql.Identifier(target.name)
    if tables:
        if not force:
            raise BackupError(
                f"The database {target.name!r} is not empty ({tables} tables): restore into a new "
                "database, or force it (FORCE=1 / --force) to drop and recreate this one."
            )
        with target.connect("postgres") as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(name))
        tables = None
    if tables is None:
        with target.connect("postgres") as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    _run(
        [
            _tool("pg_restore"),
            "--no-password",
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            f"--dbname={target.name}",
            str(path),
        ],
        target,
    )
