"""`flush`, able to empty the append-only tables (ledger, decisions, audit trail) when that is really meant.

Django's own `flush` truncates (PostgreSQL) or deletes from (SQLite) every
table, which the ledger's triggers refuse. Tests need it between
transactional tests; an operator resetting a development database may pass
`--allow-ledger-purge`. Anywhere else the triggers still refuse, as they should.
"""

from django.core import mail
from django.core.management.commands import flush
from django.db import transaction

from bondplatform.append_only import append_only_guards_lifted


class Command(flush.Command):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--allow-ledger-purge",
            action="store_true",
            help="Also empty the append-only ledger tables (lifting their triggers for this flush).",
        )

    def handle(self, **options):
        # The test environment (set up by Django's and pytest-django's runners) keeps mail in `outbox`.
        in_tests = hasattr(mail, "outbox")
        if not (options["allow_ledger_purge"] or in_tests):
            return super().handle(**options)
        database = options["database"]
        with transaction.atomic(using=database), append_only_guards_lifted(database):
            return super().handle(**options)
