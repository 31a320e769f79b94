"""`manage.py verify_ledger [--issuer ID]`: recompute every issuer's chain; exit 1 if any fails."""

from django.core.management.base import BaseCommand, CommandError

from issuers.models import Issuer
from ledger.verify import ledger_verify


class Command(BaseCommand):
    help = "Verify the ledger's hash chains (all issuers, or one) and exit non-zero on any failure."

    def add_arguments(self, parser):
        parser.add_argument("--issuer", type=int, help="Only this issuer's chain (its id).")

    def handle(self, *args, issuer=None, **options):
        issuers = Issuer.objects.order_by("id")
        if issuer is not None:
            issuers = issuers.filter(pk=issuer)
            if not issuers.exists():
                raise CommandError(f"No issuer with id {issuer}.")
        failed = []
        if not issuers.exists():
            self.stdout.write("No issuers, so no ledgers to verify.")
        for each in issuers:
            result = ledger_verify(each)
            if result.valid:
                self.stdout.write(
                    f"issuer {each.pk} ({each.name}): valid, {result.entries_checked} entries,"
                    f" head #{result.head_sequence} {result.head_hash}"
                )
            else:
                failed.append(each.pk)
                self.stdout.write(
                    self.style.ERROR(
                        f"issuer {each.pk} ({each.name}): INVALID at #{result.first_invalid_sequence}:"
                        f" {result.reason} ({result.entries_checked} entries checked,"
                        f" head #{result.head_sequence} {result.head_hash})"
                    )
                )
        if failed:
            raise CommandError(f"Ledger verification failed for issuer(s) {', '.join(map(str, failed))}.")
