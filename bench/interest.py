"""Interest-run benchmark (PostgreSQL): holdings per second for one run over many holdings.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bondplatform .venv/bin/python bench/interest.py

It creates a throwaway database `<name>_ibench` on the same server, migrates
it, allots one issue to --holdings holders (bulk inserts and one batched
allotment posting per holding, not timed), and times `interest_run_execute`
over them: a third pay, a third waive, a third reinvest, with a company
issuer (so tax is withheld on every paid and reinvested line). It prints
holdings per second, checks the run's totals against the ledger, and drops
the database (keep it with --keep). Not a test: nothing fails on time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _configure(bench_url: str) -> None:
    os.environ["DATABASE_URL"] = bench_url
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(40))
    os.environ.setdefault("LEDGER_SIGNING_KEY", secrets.token_hex(32))
    os.environ.setdefault("CONN_MAX_AGE", "600")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bondplatform.settings"
    import django

    django.setup()


def _admin_connect(url: str):
    import psycopg

    parsed = urlparse(url)
    return psycopg.connect(urlunparse(parsed._replace(path="/postgres")), autocommit=True)


def allot_many(count: int):
    """An active 4 % annual issue of a company with `count` holdings of £100 to £5,000."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from investments import accounts
    from investments.models import BondIssue, Holding, Subscription
    from issuers.models import Issuer
    from ledger.models import EntryKind
    from ledger.services import EntrySpec, Posting, entries_post

    allotted_on = dt.date(2025, 4, 1)
    issuer = Issuer.objects.create(
        name="Bench Energy Ltd",
        legal_form="company_limited_by_guarantee",
        asset_lock_basis="none",
        max_interest_rate_percent=Decimal("10.00"),
    )
    now = timezone.now()
    issue = BondIssue.objects.create(
        issuer=issuer,
        name="Bench bond",
        coupon_rate_percent=Decimal("4.00"),
        term_months=60,
        interest_frequency="annual",
        day_count="act_365f",
        min_subscription_pence=100_00,
        max_subscription_pence=1_000_000_00,
        min_raise_pence=0,
        max_raise_pence=1_000_000_000_00,
        opens_at=now - dt.timedelta(days=600),
        closes_at=now - dt.timedelta(days=500),
        status="active",
        allotted_on=allotted_on,
        reinvestment_allowed=True,
    )
    users = User.objects.bulk_create([User(username=f"bench{n}") for n in range(count)], batch_size=2000)
    amounts = [100_00 + (n * 7919) % 4_900_00 for n in range(count)]
    subscriptions = Subscription.objects.bulk_create(
        [
            Subscription(
                issue=issue,
                investor=user,
                amount_pence=amount,
                status="allotted",
                payment_method="bank_transfer",
                provider="bank_transfer",
                reference=f"MB{n:010d}",
                received_pence=amount,
                expires_at=now,
            )
            for n, (user, amount) in enumerate(zip(users, amounts, strict=True))
        ],
        batch_size=2000,
    )
    preferences = ("pay", "waive", "reinvest")
    holdings = Holding.objects.bulk_create(
        [
            Holding(
                issue=issue,
                holder=s.investor,
                subscription=s,
                principal_pence=s.amount_pence,
                allotted_on=allotted_on,
                interest_preference=preferences[n % 3],
            )
            for n, s in enumerate(subscriptions)
        ],
        batch_size=2000,
    )
    for start in range(0, count, 500):
        entries_post(
            issuer=issuer,
            entries=[
                EntrySpec(
                    kind=EntryKind.ALLOTMENT,
                    value_date=allotted_on,
                    description=f"Bonds allotted: holding {h.pk} in issue {issue.pk}",
                    idempotency_key=f"allotment:{h.subscription_id}",
                    postings=[
                        Posting("cash_at_bank", h.principal_pence),
                        Posting(accounts.principal_of(h.pk), -h.principal_pence),
                    ],
                )
                for h in holdings[start : start + 500]
            ],
        )
    return issue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holdings", type=int, default=20_000)
    parser.add_argument(
        "--batch", type=int, default=None, help="holdings per transaction (default: the service's)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if urlparse(url).scheme not in {"postgres", "postgresql", "pgsql"}:
        raise SystemExit("Set DATABASE_URL=postgres://... (the benchmark measures PostgreSQL).")
    parsed = urlparse(url)
    bench_name = (parsed.path.lstrip("/") or "bondplatform") + "_ibench"
    with _admin_connect(url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{bench_name}"')
        admin.execute(f'CREATE DATABASE "{bench_name}"')
    _configure(urlunparse(parsed._replace(path="/" + bench_name)))

    from django.core.management import call_command
    from django.db import connection, connections
    from django.db.models import Sum

    try:
        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
        print(f"PostgreSQL {version}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")

        start = time.perf_counter()
        issue = allot_many(args.holdings)
        print(f"allotted {args.holdings:,} holdings in {time.perf_counter() - start:.1f} s (not timed below)")

        from investments.models import InterestRun
        from investments.services import interest_runs
        from ledger.models import LedgerPosting
        from ledger.verify import ledger_verify

        run = InterestRun.objects.create(
            issue=issue, period_start=dt.date(2025, 4, 1), period_end=dt.date(2026, 4, 1)
        )
        start = time.perf_counter()
        run = interest_runs.interest_run_execute(run_id=run.pk, batch_size=args.batch)
        elapsed = time.perf_counter() - start
        assert run.status == "completed", run.failure_reason
        assert run.holdings_done == args.holdings
        expense = LedgerPosting.objects.filter(
            account__issuer=issue.issuer, account__code="interest_expense"
        ).aggregate(total=Sum("amount_pence"))["total"]
        assert expense == run.total_gross_pence, (expense, run.total_gross_pence)
        print(
            f"interest run over {args.holdings:,} holdings (batches of {args.batch or interest_runs.BATCH_SIZE}): "
            f"{elapsed:.2f} s, {args.holdings / elapsed:,.0f} holdings/s"
        )
        print(
            f"  gross {run.total_gross_pence / 100:,.2f}, tax {run.total_tax_withheld_pence / 100:,.2f}, "
            f"waived {run.total_waived_pence / 100:,.2f}, reinvested {run.total_reinvested_pence / 100:,.2f}"
        )
        start = time.perf_counter()
        verified = ledger_verify(issue.issuer)
        assert verified.valid
        print(
            f"  the chain verifies ({verified.entries_checked:,} entries, {time.perf_counter() - start:.1f} s)"
        )
    finally:
        connections.close_all()
        if not args.keep:
            with _admin_connect(url) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{bench_name}"')


if __name__ == "__main__":
    main()
