"""`manage.py reconcile_stripe [--issuer ID]`: compare Stripe clearing with Stripe; exit 1 on any difference."""

from django.core.management.base import BaseCommand, CommandError

from bondplatform.errors import ServiceError
from bondplatform.money import display_pounds
from investments.payments import stripe_client
from investments.payments.reconciliation import stripe_reconcile
from issuers.models import Issuer


class Command(BaseCommand):
    help = (
        "Compare each issuer's Stripe clearing account in the ledger with Stripe's balance transactions "
        "(charges, refunds and fees, attributed to issuers through their PaymentIntents), list every "
        "difference, and exit non-zero if there is any. It reads only: nothing is ever corrected. "
        "Payouts are listed as unattributed, because the ledger does not book them yet."
    )

    def add_arguments(self, parser):
        parser.add_argument("--issuer", type=int, help="Only this issuer (its id).")

    def handle(self, *args, issuer=None, **options):
        if issuer is not None and not Issuer.objects.filter(pk=issuer).exists():
            raise CommandError(f"No issuer with id {issuer}.")
        if not stripe_client.is_configured():
            raise CommandError("STRIPE_SECRET_KEY is not set: there is no Stripe account to compare with.")
        try:
            result = stripe_reconcile(issuer_id=issuer)
        except ServiceError as failure:
            # The operator wants Stripe's own words, not the sentence meant for residents.
            raise CommandError(f"Could not read Stripe: {failure.__cause__ or failure.detail}") from failure
        for row in result.issuers:
            self.stdout.write(
                f"issuer {row.issuer_id}: ledger stripe_clearing {display_pounds(row.ledger_clearing_pence)}; "
                f"Stripe net {display_pounds(row.stripe_net_pence)} (charged {display_pounds(row.stripe_charged_pence)}, "
                f"refunded {display_pounds(row.stripe_refunded_pence)}, fees {display_pounds(row.stripe_fees_pence)})"
            )
        if not result.issuers:
            self.stdout.write("No issuer has Stripe payments.")
        differences = result.differences
        for line in differences:
            self.stdout.write(self.style.ERROR(f"DIFFERENCE {line}"))
        if differences:
            raise CommandError(
                f"{len(differences)} difference(s) between the ledger and Stripe; nothing was changed."
            )
        self.stdout.write(self.style.SUCCESS("The ledger agrees with Stripe."))
