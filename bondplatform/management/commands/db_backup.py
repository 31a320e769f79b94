"""`manage.py db_backup [--dir backups]`: pg_dump of the service's database, the signing key not in it."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from bondplatform.backups import BackupError, Target, backup_check, backup_create


class Command(BaseCommand):
    help = "Back up the database (PostgreSQL, custom format) into a timestamped file."
    # Nothing to check first, and a backup must run even when a check would fail.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("--dir", default=str(Path(settings.BASE_DIR) / "backups"), help="Where to write.")

    def handle(self, *args, dir: str, **options):
        try:
            target = Target.from_settings(connections[DEFAULT_DB_ALIAS].settings_dict)
            path = backup_create(target, Path(dir))
            items = backup_check(path)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        size = path.stat().st_size
        self.stdout.write(f"{path} ({size:,} bytes, {items} items; the ledger signing key is not in it)")
