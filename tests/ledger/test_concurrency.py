"""Races on a real PostgreSQL: real threads, real connections, real row locks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.db import OperationalError, connection, connections, transaction

from ledger.models import EntryKind, LedgerAccount, LedgerEntry, LedgerHead, LedgerPosting
from ledger.selectors import ledger_head
from ledger.services import Posting, entry_post
from ledger.verify import ledger_verify

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def in_threads(work, count: int = THREADS) -> list:
    """Run work(i) in `count` threads released together; each closes its own connection."""
    barrier = threading.Barrier(count)

    def run(i):
        try:
            barrier.wait(timeout=10)
            return work(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_the_same_post_from_eight_threads_at_once_makes_one_entry(society, pay_in):
    ids = in_threads(lambda i: pay_in(society, "stripe:evt_same").pk)
    assert len(set(ids)) == 1
    assert LedgerEntry.objects.count() == 1 and LedgerPosting.objects.count() == 2
    assert ledger_head(issuer=society)[0] == 1
    assert ledger_verify(society).valid


def test_eight_threads_posting_to_one_issuer_give_a_gapless_valid_chain(society, pay_in):
    per_thread = 10

    def work(i):
        return [pay_in(society, f"t{i}:{n}", 100 + i).sequence for n in range(per_thread)]

    sequences = sorted(s for batch in in_threads(work) for s in batch)
    assert sequences == list(range(1, THREADS * per_thread + 1))
    stored = list(
        LedgerEntry.objects.filter(issuer=society).order_by("sequence").values_list("sequence", flat=True)
    )
    assert stored == sequences
    result = ledger_verify(society)
    assert result.valid and result.entries_checked == THREADS * per_thread


def test_two_issuers_post_in_parallel_without_blocking_each_other(society, cic, pay_in):
    pay_in(society, "a1")
    locked = threading.Event()
    release = threading.Event()

    def hold_society_head():
        try:
            with transaction.atomic():
                LedgerHead.objects.select_for_update().get(issuer=society)
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_society_head)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '1s'")
        # The society's head is locked: a post to it waits (and here times out) ...
        with pytest.raises(OperationalError, match="lock timeout"):
            pay_in(society, "a2")
        # ... while the CIC's chain goes on regardless.
        assert [pay_in(cic, f"b{n}").sequence for n in range(3)] == [1, 2, 3]
    finally:
        release.set()
        holder.join()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert pay_in(society, "a2").sequence == 2
    assert ledger_verify(society).valid and ledger_verify(cic).valid


def test_a_process_killed_in_the_middle_of_posting_leaves_nothing_behind(society, pay_in):
    first = pay_in(society, "before")
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}",
    }
    code = (
        "import datetime, time\n"
        "from django.db import transaction\n"
        "from ledger.services import Posting, entry_post\n"
        "with transaction.atomic():\n"
        f"    entry_post(issuer={society.pk}, kind='subscription_payment', value_date=datetime.date(2025, 4, 1),"
        " description='never committed', idempotency_key='killed',"
        " postings=[Posting('cash_at_bank', 500), Posting('subscriptions_held', -500)])\n"
        "    print('posted', flush=True)\n"
        "    time.sleep(120)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=Path(settings.BASE_DIR),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        if line.strip() != "posted":
            process.kill()
            pytest.fail(f"the poster did not post: {line!r} {process.stderr.read()}")
        # It holds the head lock with its entry and postings written, uncommitted.
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
        process.stderr.close()

    assert not LedgerEntry.objects.filter(idempotency_key="killed").exists()
    assert LedgerPosting.objects.count() == 2
    assert ledger_head(issuer=society) == (1, first.hash)
    assert ledger_verify(society).valid
    # The dead transaction's lock went with it: posting carries on at #2.
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '10s'")
    assert pay_in(society, "after").sequence == 2
    assert ledger_verify(society).valid


def test_the_same_post_from_eight_threads_on_a_started_ledger_makes_one_entry(society, pay_in):
    first = pay_in(society, "first")

    ids = in_threads(lambda i: pay_in(society, "stripe:evt_same").pk)

    assert len(set(ids)) == 1 and first.pk not in ids
    assert LedgerEntry.objects.count() == 2 and LedgerPosting.objects.count() == 4
    assert ledger_verify(society).valid


def test_threads_opening_accounts_while_others_post_keep_one_gapless_valid_chain(society, pay_in, value_date):
    # Odd threads use an account of their own (created by the step-by-step path) while even
    # threads post in one statement: both paths race for the same head.
    pay_in(society, "first")
    per_thread = 5

    def work(i):
        sequences = []
        for n in range(per_thread):
            if i % 2:
                entry = entry_post(
                    issuer=society,
                    kind=EntryKind.ADJUSTMENT,
                    value_date=value_date,
                    description=f"thread {i} entry {n}",
                    idempotency_key=f"t{i}:{n}",
                    postings=[Posting(f"bond_principal:{i}", 10 + n), Posting("cash_at_bank", -10 - n)],
                )
            else:
                entry = pay_in(society, f"t{i}:{n}", 100 + i)
            sequences.append(entry.sequence)
        return sequences

    sequences = sorted(s for batch in in_threads(work) for s in batch)

    assert sequences == list(range(2, THREADS * per_thread + 2))
    assert (
        LedgerAccount.objects.filter(issuer=society, code__startswith="bond_principal:").count()
        == THREADS // 2
    )
    result = ledger_verify(society)
    assert result.valid and result.entries_checked == THREADS * per_thread + 1
    # Recording order is chain order (ledger statements cut the chain by the time recorded).
    times = list(
        LedgerEntry.objects.filter(issuer=society).order_by("sequence").values_list("recorded_at", flat=True)
    )
    assert times == sorted(times)
