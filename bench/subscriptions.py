"""Benchmark: a burst of residents subscribing to one hot issue, over real HTTP.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/subscriptions.py

Creates a throwaway PostgreSQL database, seeds residents with API tokens and
one open issue, starts gunicorn (sync workers) on 127.0.0.1, and drives it
from a separate load process with 32 concurrent residents. Prints accepted
subscriptions per second, p50/p99 latency, and the number of
oversubscriptions (accepted money beyond max_raise, or a resident beyond
max_subscription), which must be 0. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DB = "bp_bench_subscriptions"
PRICE_PENCE = 100_00  # every resident asks for £100.00


ADMIN_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def admin_url() -> str:
    if not ADMIN_URL.startswith("postgres"):
        sys.exit("bench/subscriptions.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    return ADMIN_URL


def bench_url() -> str:
    parsed = urlparse(admin_url())
    return parsed._replace(path=f"/{BENCH_DB}").geturl()


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def setup_django() -> None:
    os.environ["DATABASE_URL"] = bench_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bondplatform.settings")
    import django

    django.setup()


def seed(residents: int, capacity_pence: int) -> tuple[int, list[str]]:
    """Migrate, then make an issuer, its officer, `residents` residents with tokens and an open issue."""
    import datetime as dt
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    from investments.services import issues as issue_services
    from issuers.models import Issuer, RoleGrant
    from people import keys
    from people.models import AccountSecurity, AuthToken, Profile

    call_command("migrate", verbosity=0)
    User = get_user_model()
    issuer = Issuer.objects.create(
        name="Bench Society",
        legal_form="community_benefit_society",
        asset_lock_basis="statutory",
        max_interest_rate_percent=Decimal("5.00"),
    )
    officer = User.objects.create_user("bench_officer", password="x")
    RoleGrant.objects.create(issuer=issuer, user=officer, role="finance_officer")
    users = User.objects.bulk_create(
        [User(username=f"r{i:05d}", email=f"r{i:05d}@bench.invalid") for i in range(residents)]
    )
    # Verified addresses: subscribing needs one where EMAIL_VERIFICATION_REQUIRED.
    AccountSecurity.objects.bulk_create(
        [AccountSecurity(user=u, verified_email=u.email, email_verified_at=timezone.now()) for u in users]
    )
    Profile.objects.bulk_create(
        [
            Profile(
                user=u,
                full_name=f"Resident {u.username}",
                date_of_birth=dt.date(1980, 1, 1),
                postcode="S1 2AB",
            )
            for u in users
        ]
    )
    token_keys = [keys.new_token_key() for _ in users]
    AuthToken.objects.bulk_create(
        [
            AuthToken(user=u, digest=keys.digest(k), expires_at=timezone.now() + dt.timedelta(days=1))
            for u, k in zip(users, token_keys, strict=True)
        ]
    )
    now = timezone.now()
    issue = issue_services.issue_create(
        actor=officer,
        issuer=issuer,
        name="Hot issue",
        description="",
        currency="GBP",
        coupon_rate_percent=Decimal("3.00"),
        term_months=60,
        interest_frequency="annual",
        day_count="act_365f",
        min_subscription_pence=PRICE_PENCE,
        max_subscription_pence=PRICE_PENCE,
        min_raise_pence=0,
        max_raise_pence=capacity_pence,
        opens_at=now - dt.timedelta(hours=1),
        closes_at=now + dt.timedelta(days=1),
        eligible_postcode_prefixes=[],
        cooling_off_days=14,
        notice_days=90,
    )
    issue_services.issue_open(actor=officer, issue_id=issue.pk)
    return issue.pk, token_keys


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int, workers: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": bench_url(),
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + "x" * 40,
        "LEDGER_SIGNING_KEY": "11" * 32,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on the loopback: no TLS to redirect to
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": "600",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "bondplatform.wsgi",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    sys.exit("gunicorn did not start")


def load(
    port: int, issue_id: int, tokens: list[str], concurrency: int, results: multiprocessing.Queue
) -> None:
    """The load process: `concurrency` residents at a time, each subscribing once."""
    body = json.dumps({"amount": "100.00", "payment_method": "bank_transfer"})
    lock = threading.Lock()
    queue = list(reversed(tokens))
    records: list[tuple[int, float]] = []

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                if not queue:
                    break
                token = queue.pop()
            started = time.perf_counter()
            conn.request(
                "POST",
                f"/api/v1/issues/{issue_id}/subscriptions/",
                body=body,
                headers={
                    "Authorization": f"Token {token}",
                    "Content-Type": "application/json",
                    "Connection": "keep-alive",
                },
            )
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            with lock:
                records.append((response.status, elapsed))
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put((time.perf_counter() - started, records))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=3000)
    parser.add_argument("--places", type=int, default=2500, help="how many £100 places the issue has")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--workers", type=int, default=3, help="gunicorn sync workers (2 x cores - 1 did best here)"
    )
    args = parser.parse_args()

    recreate_database()
    setup_django()
    issue_id, tokens = seed(args.residents, args.places * PRICE_PENCE)
    port = free_port()
    server = start_gunicorn(port, args.workers)
    try:
        # Warm every worker's connection and imports with a few reads first.
        for _ in range(args.workers * 4):
            conn = http.client.HTTPConnection("127.0.0.1", port)
            conn.request("GET", f"/api/v1/issues/{issue_id}/")
            conn.getresponse().read()
        results: multiprocessing.Queue = multiprocessing.Queue()
        client = multiprocessing.Process(
            target=load, args=(port, issue_id, tokens, args.concurrency, results)
        )
        client.start()
        elapsed, records = results.get()
        client.join()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    from django.db import connection
    from django.db.models import Count, Sum

    from investments.models import BondIssue, Subscription

    issue = BondIssue.objects.get(pk=issue_id)
    accepted = sum(1 for status, _ in records if status == 201)
    statuses = statistics.multimode([s for s, _ in records])
    by_status: dict[int, int] = {}
    for status, _ in records:
        by_status[status] = by_status.get(status, 0) + 1
    latencies = sorted(t for _, t in records)
    stored = Subscription.objects.filter(issue=issue).aggregate(n=Count("id"), total=Sum("amount_pence"))
    over_issue = max(0, (stored["total"] or 0) - issue.max_raise_pence)
    over_investor = (
        Subscription.objects.filter(issue=issue)
        .values("investor")
        .annotate(t=Sum("amount_pence"))
        .filter(t__gt=issue.max_subscription_pence)
        .count()
    )
    print(
        f"database            PostgreSQL {connection.pg_version // 10000}, gunicorn {args.workers} sync workers"
    )
    print(
        f"requests            {len(records)} from {args.concurrency} concurrent residents in {elapsed:.2f} s"
    )
    print(f"responses           {dict(sorted(by_status.items()))} (most common {statuses})")
    print(f"accepted            {accepted} of {args.places} places")
    print(f"accepted/s          {accepted / elapsed:.1f}")
    print(f"requests/s          {len(records) / elapsed:.1f}")
    print(f"latency p50         {latencies[len(latencies) // 2] * 1000:.1f} ms")
    print(f"latency p99         {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms")
    print(f"committed           {issue.committed_pence} pence = sum of subscriptions {stored['total']} pence")
    print(
        f"oversubscriptions   {over_issue} pence over max_raise, {over_investor} residents over max_subscription"
    )
    connection.close()
    import psycopg

    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()
