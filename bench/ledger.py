"""Ledger benchmark (PostgreSQL): posting, verification and trial-balance speed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bondplatform .venv/bin/python bench/ledger.py

It creates a throwaway database `<name>_bench` on the same server, migrates
it, measures, prints, and drops it (keep it with --keep). Measured:
- entries posted per second, two postings each, one transaction per entry:
  1 writer; 4 writer processes on one issuer; 4 writer processes on 4 issuers
  (processes, not threads: the GIL would measure Python, not the ledger);
- the floor: the same statements through psycopg alone, taking turns with the
  1 writer, and `entry_post`'s rate as a fraction of it, run by run; then
  every chain posted is verified;
- entries verified per second over a chain of 100,000 entries;
- the time to compute the trial balance of 1,000 accounts over 200,000 postings.
Each figure is the median (and best) of --runs runs. Not a test: nothing fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import random
import secrets
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _configure(bench_url: str) -> None:
    os.environ["DATABASE_URL"] = bench_url
    os.environ["DEBUG"] = "0"  # no query logging, as in production
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


def _new_issuer(name: str):
    from issuers.models import Issuer

    return Issuer.objects.create(
        name=name,
        legal_form="community_benefit_society",
        asset_lock_basis="statutory",
        max_interest_rate_percent=5,
    )


def _post(issuer_id: int, key: str) -> None:
    from ledger.models import EntryKind
    from ledger.services import Posting, entry_post

    entry_post(
        issuer=issuer_id,
        kind=EntryKind.SUBSCRIPTION_PAYMENT,
        value_date=dt.date(2025, 4, 1),
        description="Subscription received",
        idempotency_key=key,
        postings=[Posting("cash_at_bank", 25_000), Posting("subscriptions_held", -25_000)],
    )


def _writer(issuer_id: int, tag: str, count: int, barrier, results) -> None:
    from django.db import connections

    connections.close_all()  # never share the parent's connection across fork
    _post(issuer_id, f"{tag}:warm")
    barrier.wait()
    start = time.monotonic()
    for n in range(count):
        _post(issuer_id, f"{tag}:{n}")
    results.put((start, time.monotonic(), count))
    connections.close_all()


def posting_rate(issuer_ids: list[int], per_writer: int, run: int) -> float:
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(issuer_ids))
    results = context.Queue()
    writers = [
        context.Process(target=_writer, args=(issuer_id, f"r{run}w{i}", per_writer, barrier, results))
        for i, issuer_id in enumerate(issuer_ids)
    ]
    for w in writers:
        w.start()
    spans = [results.get(timeout=600) for _ in writers]
    for w in writers:
        w.join()
        if w.exitcode:
            raise SystemExit(f"a writer failed (exit {w.exitcode})")
    started = min(s for s, _, _ in spans)
    ended = max(e for _, e, _ in spans)
    return sum(c for _, _, c in spans) / (ended - started)


def paired_rates(url: str, our_issuer: int, floor_issuer: int, count: int, tag: str) -> tuple[float, float]:
    """`entry_post` (1 writer) and the floor, taking turns every _SLICE entries: (ours, floor) per second.

    The floor: the same lock, insert and head update entry_post sends, through psycopg alone.
    One client, one transaction per entry: lock the head row (reading the accounts' ids in
    the same statement), insert the entry, its two postings and the new head in one
    statement, COMMIT. No Django and no hashing (the hash is random): what PostgreSQL itself
    costs, so `entry_post`'s rate can be read as a fraction of it. Taking turns slice by
    slice, both see the same load on the machine (other work on it shifts within seconds).
    """
    import psycopg
    from django.db import connections

    from ledger.models import LedgerAccount, LedgerEntry, LedgerHead, LedgerPosting

    _post(our_issuer, f"{tag}:warm")
    _post(floor_issuer, f"{tag}:accounts")  # the head row and both accounts exist
    entry, posting = LedgerEntry._meta.db_table, LedgerPosting._meta.db_table
    account, head = LedgerAccount._meta.db_table, LedgerHead._meta.db_table
    lock = (
        "SELECT last_sequence, last_hash,"
        f" ARRAY(SELECT code || '=' || id FROM {account} WHERE issuer_id = %s AND code IN (%s, %s))"
        f" FROM {head} WHERE issuer_id = %s FOR UPDATE"
    )
    insert = (
        f"WITH e AS (INSERT INTO {entry} (issuer_id, sequence, kind, value_date, description, idempotency_key,"
        " reverses_id, recorded_at, prev_hash, hash) VALUES (%s, %s, 'subscription_payment', '2025-04-01',"
        " 'Subscription received', %s, NULL, now(), %s, %s)"
        " ON CONFLICT (issuer_id, idempotency_key) DO NOTHING RETURNING id),"
        f" p AS (INSERT INTO {posting} (entry_id, account_id, position, currency, amount_pence)"
        " SELECT e.id, v.a, v.p, 'GBP', v.m FROM e CROSS JOIN (VALUES (%s::bigint, 0, 25000), (%s::bigint, 1, -25000))"
        " AS v(a, p, m)),"
        f" h AS (UPDATE {head} SET last_sequence = %s, last_hash = %s FROM e WHERE issuer_id = %s)"
        " SELECT id FROM e"
    )
    codes = ("cash_at_bank", "subscriptions_held")
    ours = floor = 0.0
    with psycopg.connect(url) as conn:
        for first in range(0, count, _SLICE):
            numbers = range(first, min(first + _SLICE, count))
            start = time.monotonic()
            for n in numbers:
                _post(our_issuer, f"{tag}:{n}")
            ours += time.monotonic() - start
            start = time.monotonic()
            for n in numbers:
                sequence, last_hash, pairs = conn.execute(
                    lock, [floor_issuer, *codes, floor_issuer]
                ).fetchone()
                ids = dict(pair.rsplit("=", 1) for pair in pairs)
                digest = secrets.token_hex(32)
                conn.execute(
                    insert,
                    [
                        floor_issuer,
                        sequence + 1,
                        f"{tag}:{n}",
                        last_hash,
                        digest,
                        int(ids[codes[0]]),
                        int(ids[codes[1]]),
                        sequence + 1,
                        digest,
                        floor_issuer,
                    ],
                ).fetchone()
                conn.commit()
            floor += time.monotonic() - start
    connections.close_all()  # never hand this connection to the writers forked next
    return count / ours, count / floor


_SLICE = 100


def build_chain(issuer, entries: int, account_codes: list[str]) -> None:
    """Write a valid chain fast: hashes computed here, rows sent with COPY (the triggers stay on)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from ledger.canonical import GENESIS_HASH, chain_hash, entry_canonical_bytes
    from ledger.models import LedgerAccount, LedgerHead, chart_line

    accounts = LedgerAccount.objects.bulk_create(
        [
            LedgerAccount(
                issuer=issuer,
                code=code,
                account_type=chart_line(code).account_type,
                normal_side=chart_line(code).normal_side,
            )
            for code in account_codes
        ]
    )
    ids = {a.code: a.pk for a in accounts}
    rng = random.Random(7)
    base = timezone.now() - dt.timedelta(days=1)
    previous = GENESIS_HASH
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('investments_ledgerentry', 'id')) FROM generate_series(1, %s)",
            [entries],
        )
        entry_ids = [row[0] for row in cursor.fetchall()]
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with (
            raw.copy(
                "COPY investments_ledgerentry (id, issuer_id, sequence, kind, value_date, description,"
                " idempotency_key, recorded_at, prev_hash, hash) FROM STDIN"
            ) as entry_copy,
        ):
            postings = []
            for i in range(entries):
                sequence = i + 1
                debit, credit = rng.sample(account_codes, 2)
                amount = rng.randint(1, 10_000_000)
                legs = [(debit, "GBP", amount), (credit, "GBP", -amount)]
                recorded_at = base + dt.timedelta(microseconds=sequence)
                value_date = dt.date(2024, 1, 1) + dt.timedelta(days=i // 300)
                description = f"Bench entry {sequence}"
                key = f"bench:{sequence}"
                digest = chain_hash(
                    previous,
                    entry_canonical_bytes(
                        issuer_id=issuer.pk,
                        sequence=sequence,
                        kind="adjustment",
                        value_date=value_date,
                        description=description,
                        idempotency_key=key,
                        reverses_sequence=None,
                        recorded_at=recorded_at,
                        postings=legs,
                    ),
                )
                row = (entry_ids[i], issuer.pk, sequence, "adjustment", value_date, description, key)
                entry_copy.write_row((*row, recorded_at, previous, digest))
                for position, (code, currency, pence) in enumerate(legs):
                    postings.append((entry_ids[i], ids[code], position, pence, currency))
                previous = digest
        with raw.copy(
            "COPY investments_ledgerposting (entry_id, account_id, position, amount_pence, currency) FROM STDIN"
        ) as posting_copy:
            for row in postings:
                posting_copy.write_row(row)
        LedgerHead.objects.create(issuer=issuer, last_sequence=entries, last_hash=previous)
    with connection.cursor() as cursor:
        # What autovacuum would soon do: statistics, and the visibility map for index-only scans.
        for table in ("investments_ledgerentry", "investments_ledgerposting", "investments_ledgeraccount"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def timed(fn, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def proofs(entries: int, runs: int) -> None:
    """Merkle proofs in a big ledger: the first root (hashing every leaf and storing the complete
    subtrees), then inclusion and consistency proofs for random entries, as a new request would."""
    from ledger.proofs import IssuerTree

    issuer = _new_issuer("Proof chain")
    start = time.perf_counter()
    build_chain(issuer, entries, ["bond_principal:1", "interest_payable:1"])
    print(f"built a chain of {entries:,} entries for proofs in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    IssuerTree(issuer.pk).root(entries)
    print(f"first tree root over {entries:,} entries (subtrees stored): {time.perf_counter() - start:.1f} s")
    rng = random.Random(7)
    inclusion = timed(
        lambda: IssuerTree(issuer.pk).inclusion_proof(rng.randint(1, entries), entries), runs * 10
    )
    consistency = timed(
        lambda: IssuerTree(issuer.pk).consistency_proof(rng.randint(1, entries - 1), entries), runs * 10
    )
    print(
        f"inclusion proof of a random entry: median {statistics.median(inclusion) * 1000:.1f} ms"
        f"  worst {max(inclusion) * 1000:.1f} ms;  consistency proof: median"
        f" {statistics.median(consistency) * 1000:.1f} ms  worst {max(consistency) * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=3000, help="entries per posting run (default 3000)")
    parser.add_argument("--chain", type=int, default=100_000, help="entries in the verified chain")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument(
        "--posting-only", action="store_true", help="only the posting rates and the floor (no chain)"
    )
    parser.add_argument(
        "--proof-chain",
        type=int,
        default=0,
        help="also time Merkle proofs in a ledger of this many entries (e.g. 1000000); 0 skips it",
    )
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if urlparse(url).scheme not in {"postgres", "postgresql", "pgsql"}:
        raise SystemExit("Set DATABASE_URL=postgres://... (the benchmark measures PostgreSQL).")
    parsed = urlparse(url)
    bench_name = (parsed.path.lstrip("/") or "bondplatform") + "_bench"
    with _admin_connect(url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{bench_name}"')
        admin.execute(f'CREATE DATABASE "{bench_name}"')
    _configure(urlunparse(parsed._replace(path="/" + bench_name)))

    from django.core.management import call_command
    from django.db import connection, connections

    try:
        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
        print(f"PostgreSQL {version}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")

        one = [_new_issuer(f"Single {r}").pk for r in range(args.runs)]
        shared = [_new_issuer(f"Shared {r}").pk for r in range(args.runs)]
        four = [[_new_issuer(f"Four {r}.{i}").pk for i in range(4)] for r in range(args.runs)]
        bench_url = urlunparse(parsed._replace(path="/" + bench_name))
        # 1 writer and the floor take turns (see paired_rates): each run's ratio compares
        # figures measured moments apart.
        singles, floors = [], []
        for r in range(args.runs):
            single, floor = paired_rates(
                bench_url, one[r], _new_issuer(f"Floor {r}").pk, args.entries, f"r{r}"
            )
            singles.append(single)
            floors.append(floor)
        print(
            f"posted  {'1 writer':<22} median {statistics.median(singles):7.0f} entries/s"
            f"  best {max(singles):7.0f}"
        )
        scenarios = [
            ("4 writers, 1 issuer", lambda r: posting_rate([shared[r]] * 4, args.entries // 4, r)),
            ("4 writers, 4 issuers", lambda r: posting_rate(four[r], args.entries // 4, r)),
        ]
        for label, measure in scenarios:
            rates = [measure(r) for r in range(args.runs)]
            print(
                f"posted  {label:<22} median {statistics.median(rates):7.0f} entries/s  best {max(rates):7.0f}"
            )
        ratios = sorted(single / floor for single, floor in zip(singles, floors, strict=True))
        print(
            f"floor   psycopg alone, 1 client median {statistics.median(floors):7.0f} entries/s"
            f"  best {max(floors):7.0f}   entry_post at {statistics.median(ratios):.2f} of it"
            f" (run by run: {', '.join(f'{r:.2f}' for r in ratios)})"
        )
        from ledger.selectors import trial_balance
        from ledger.verify import ledger_verify

        posted = [*one, *shared, *(issuer_id for issuers in four for issuer_id in issuers)]
        broken = [issuer_id for issuer_id in posted if not ledger_verify(issuer_id).valid]
        print(
            f"chains  every posting run's chain verified: {'yes' if not broken else f'NO, issuers {broken}'}"
        )
        if args.posting_only:
            return

        codes = [f"bond_principal:{n}" for n in range(1, 501)] + [
            f"interest_payable:{n}" for n in range(1, 501)
        ]
        issuer = _new_issuer("Big chain")
        start = time.perf_counter()
        build_chain(issuer, args.chain, codes)
        print(
            f"built a chain of {args.chain:,} entries ({2 * args.chain:,} postings) in {time.perf_counter() - start:.1f} s"
        )

        results = []

        def verify():
            results.append(ledger_verify(issuer))

        times = timed(verify, args.runs)
        assert all(r.valid and r.entries_checked == args.chain for r in results), results[-1]
        rates = [args.chain / t for t in times]
        print(
            f"verified {args.chain:,} entries: median {statistics.median(rates):,.0f} entries/s"
            f"  best {max(rates):,.0f}  ({min(times):.2f} s)"
        )

        balances = []
        times = timed(lambda: balances.append(trial_balance(issuer=issuer)), max(args.runs, 5))
        tb = balances[-1]
        assert tb.balanced and len(tb.rows) <= len(codes)
        print(
            f"trial balance of {len(tb.rows):,} accounts over {2 * args.chain:,} postings:"
            f" median {statistics.median(times) * 1000:.1f} ms  best {min(times) * 1000:.1f} ms"
        )
        if args.proof_chain:
            proofs(args.proof_chain, args.runs)
    finally:
        connections.close_all()
        if not args.keep:
            with _admin_connect(url) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{bench_name}"')


if __name__ == "__main__":
    main()
