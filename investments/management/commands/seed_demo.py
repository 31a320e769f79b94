"""`manage.py seed_demo`: a Citylife-style demo, safe to run again and again.

Two Sheffield issuers (a community benefit society with the statutory asset
lock, and a CIC), a finance officer and an auditor for each, a staff
superuser and a few residents, all with one demo password. Every row is
looked up before it is made, so a second run creates nothing and prints the
same log-ins. Issuers, residents and role grants are made through the same
services as the API, so the audit trail shows the demo like any other data.

It lives at the top of the house (the investments app) because it seeds
every layer: people, issuers, then a bond issue through `investments.demo`
once the people and issuers are in place (outside this command's
transaction, so the issue's services may own durable transactions).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from bondplatform.actors import SYSTEM
from investments import demo
from issuers import services as issuer_services
from issuers.models import AssetLockBasis, Issuer, LegalForm, Role, RoleGrant
from people import selectors as people_selectors
from people.services import registration

# One password for every demo account: long enough for Django's validators.
DEMO_PASSWORD = "citylife-demo-1999"

STAFF = {"username": "admin", "first_name": "Stella", "last_name": "Staff"}

ISSUERS = [
    {
        "key": "citylife",
        "name": "Sheffield Citylife Society",
        "legal_form": LegalForm.COMMUNITY_BENEFIT_SOCIETY,
        "registration_number": "IP31999R",
        "asset_lock_basis": AssetLockBasis.STATUTORY,
        "max_interest_rate_percent": Decimal("5.00"),
        "bank_account_name": "Sheffield Citylife Society Ltd",
        "sort_code": "60-83-01",
        "account_number": "20345678",
    },
    {
        "key": "parkhill",
        "name": "Park Hill Energy CIC",
        "legal_form": LegalForm.CIC_LIMITED_BY_SHARES,
        "registration_number": "09876543",
        "asset_lock_basis": AssetLockBasis.CIC,
        "max_interest_rate_percent": Decimal("6.00"),
        "bank_account_name": "Park Hill Energy CIC",
        "sort_code": "40-11-62",
        "account_number": "71234560",
    },
]

# (username, first name, last name, issuer key, role)
ROLE_HOLDERS = [
    ("citylife_officer", "Olive", "Oakes", "citylife", Role.FINANCE_OFFICER),
    ("citylife_auditor", "Arthur", "Ashworth", "citylife", Role.AUDITOR),
    ("parkhill_officer", "Priya", "Parkin", "parkhill", Role.FINANCE_OFFICER),
    ("parkhill_auditor", "Alan", "Hague", "parkhill", Role.AUDITOR),
]

# Residents of Sheffield, all adults; Joan lives in S11, which a local offer
# for "S1" must not reach.
RESIDENTS = [
    ("rita", "Rita Ahmed", dt.date(1968, 4, 12), "S1 2HE"),
    ("sam", "Sam Okafor", dt.date(1985, 9, 30), "S2 5AB"),
    ("dev", "Dev Patel", dt.date(1999, 11, 21), "S6 3AA"),
    ("joan", "Joan Whitworth", dt.date(1950, 1, 5), "S11 8QB"),
]


class Command(BaseCommand):
    help = "Create (or keep) the Citylife-style demo data and print its log-ins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even with DEBUG off. The demo accounts share a published password.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo creates accounts with a published password, including a superuser; "
                "it only runs with DEBUG on (or with --force)."
            )
        with transaction.atomic():
            created = seed_people_and_issuers()
        if created:
            self.stdout.write(f"Created {len(created)} demo rows: {', '.join(created)}.")
        else:
            self.stdout.write("The demo people and issuers were already there: nothing new created.")
        seed_bond_issues(self.stdout)
        self.print_log_ins()

    def print_log_ins(self) -> None:
        out = self.stdout
        out.write("")
        out.write(self.style.SUCCESS(f"Demo log-ins (every password: {DEMO_PASSWORD})"))
        rows = [(STAFF["username"], "staff (Django superuser, also /admin/)")]
        names = {i["key"]: i["name"] for i in ISSUERS}
        for username, _first, _last, key, role in ROLE_HOLDERS:
            rows.append((username, f"{Role(role).label.lower()}, {names[key]}"))
        for username, full_name, _dob, postcode in RESIDENTS:
            rows.append((username, f"resident, {full_name}, {postcode}"))
        for username, what in rows:
            out.write(f"  {username:<18} {what}")
        out.write("")


def seed_people_and_issuers() -> list[str]:
    """Make whatever is missing; return a short description of each new row."""
    User = get_user_model()
    created: list[str] = []

    admin = User.objects.filter(username=STAFF["username"]).first()
    if admin is None:
        admin = User.objects.create_superuser(
            username=STAFF["username"],
            email=f"{STAFF['username']}@example.org",
            password=DEMO_PASSWORD,
            first_name=STAFF["first_name"],
            last_name=STAFF["last_name"],
        )
        created.append(f"staff {admin.username}")

    issuers: dict[str, Issuer] = {}
    for spec in ISSUERS:
        fields = {k: v for k, v in spec.items() if k != "key"}
        issuer = Issuer.objects.filter(
            name=fields["name"], registration_number=fields["registration_number"]
        ).first()
        if issuer is None:
            issuer = issuer_services.issuer_create(actor=SYSTEM, **fields)
            created.append(f"issuer {issuer.name}")
        issuers[str(spec["key"])] = issuer

    for username, first, last, key, role in ROLE_HOLDERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(
                username=username,
                email=f"{username}@example.org",
                password=DEMO_PASSWORD,
                first_name=first,
                last_name=last,
            )
            created.append(f"user {username}")
        if not RoleGrant.objects.filter(issuer=issuers[key], user=user, role=role).exists():
            issuer_services.role_grant(actor=SYSTEM, issuer=issuers[key], username=username, role=role)
            created.append(f"{role} grant for {username}")

    for username, full_name, date_of_birth, postcode in RESIDENTS:
        resident = User.objects.filter(username=username).first()
        if resident is None:
            resident = registration.resident_register(
                username=username,
                email=f"{username}@example.org",
                password=DEMO_PASSWORD,
                full_name=full_name,
                date_of_birth=date_of_birth,
                postcode=postcode,
            ).user
            created.append(f"resident {username}")
        # The demo residents' addresses are made up: vouch for them, so they can subscribe.
        if not people_selectors.email_verified(resident):
            registration.email_verified_set(actor=SYSTEM, user=resident)
            created.append(f"verified e-mail of {username}")
    return created


def seed_bond_issues(stdout: Any) -> None:
    """The demo bond issue (`investments.demo.seed`, idempotent too)."""
    demo.seed(stdout=stdout)
