"""`manage.py db_restore FILE [--database-url URL] [--force]`: load a backup into a database.

The database is the one `--database-url` names, else `RESTORE_DATABASE_URL`,
else the service's own (`DATABASE_URL`). It is created if missing; one that
holds tables is refused unless `--force`, which drops and recreates it.
"""

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from bondplatform.backups import BackupError, Target, backup_restore
from bondplatform.settings import database_from_url


class Command(BaseCommand):
    help = "Restore a backup made by db_backup into a new (or, with --force, an emptied) database."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("file", help="A .dump file made by `make backup`.")
        parser.add_argument(
            "--database-url",
            default=os.environ.get("RESTORE_DATABASE_URL", ""),
            help="The database to restore into (default: RESTORE_DATABASE_URL, else DATABASE_URL).",
        )
        parser.add_argument(
            "--force", action="store_true", help="Drop and recreate the database if it holds tables."
        )

    def handle(self, *args, file: str, database_url: str, force: bool, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        settings_dict = (
            database_from_url(database_url) if database_url else connections[DEFAULT_DB_ALIAS].settings_dict
        )
        try:
            target = Target.from_settings(settings_dict)
            backup_restore(path, target, force=force)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Restored {path} into {target.name}. Check it: DATABASE_URL=<that database> "
            "python manage.py verify_ledger"
        )
