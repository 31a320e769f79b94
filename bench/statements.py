"""PDF statement benchmark (PostgreSQL): a 20,000-posting statement through the background job,
against a bare WeasyPrint table of the same rows (the floor), in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bondplatform .venv/bin/python bench/statements.py

It creates a throwaway database `<name>_bench_statements` on the same
server, writes a valid chain of --postings / 2 entries (two postings each),
and measures, each in a child process of its own so that its peak memory
(ru_maxrss) is its own:
- ours: the whole job as the worker runs it (`ledger.statement_jobs`):
  verify and sign the chain, lay the statement out in parts, store them,
  join them into one PDF and store it;
- the floor: the same rows, as the statement shows them, read in one go
  and laid out by WeasyPrint as one bare table (no styling but the page
  size and the font) into one PDF.
Targets (issue 13): ours within 1.3 x the floor's time, and under 500 MB.
Each side prints its wall time and its CPU time: on a machine shared with
other work the CPU time is the steadier comparison (PostgreSQL's own work,
in its server process, is in the wall time only).
Not a test: nothing fails. --skip-floor leaves the floor out (it takes
minutes and gigabytes at 20,000 postings: the reason for the parts).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import secrets
import subprocess
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
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bondplatform.settings"
    import django

    django.setup()


def _bench_ledger():
    """bench/ledger.py (its name would shadow the `ledger` app as a plain import)."""
    spec = importlib.util.spec_from_file_location("bench_ledger", ROOT / "bench" / "ledger.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _cpu_seconds() -> float:
    """This process's CPU time: steadier than the wall clock on a machine shared with other work."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_ours(issuer_id: int) -> dict:
    from bondplatform.actors import SYSTEM
    from ledger.models import StatementJob
    from ledger.statement_jobs import statement_job_create, statement_job_run

    start, cpu = time.perf_counter(), _cpu_seconds()
    job = statement_job_create(actor=SYSTEM, issuer_id=issuer_id)
    statement_job_run(job_id=job.pk, run_seconds=3600)
    seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    job = StatementJob.objects.get(pk=job.pk)
    assert job.status == "completed", (job.status, job.failure_detail)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_mb": _peak_mb(),
        "pages": job.pages_done,
        "parts": job.parts_done,
        "postings": job.postings_done,
        "bytes": job.file_bytes,
    }


def child_floor(issuer_id: int) -> dict:
    from django.utils.html import escape
    from weasyprint import HTML

    from issuers.models import Issuer
    from ledger.statement_pdf import _rows
    from ledger.statements import statement_build

    statement = statement_build(issuer=Issuer.objects.get(pk=issuer_id))
    start, cpu = time.perf_counter(), _cpu_seconds()
    rows = _rows(statement, statement.from_sequence, statement.to_sequence)
    cells = "".join(
        f"<tr><td>{r['sequence'] if r['first'] else ''}</td><td>{r['value_date'] if r['first'] else ''}</td>"
        f"<td>{escape(r['kind'] + ': ' + r['description']) if r['first'] else ''}</td><td>{r['account']}</td>"
        f"<td>{r['debit']}</td><td>{r['credit']}</td></tr>"
        for r in rows
    )
    html = (
        "<html><head><style>@page { size: A4 landscape } body { font-family: 'DejaVu Sans'; font-size: 8pt }"
        f"</style></head><body><table>{cells}</table></body></html>"
    )
    document = HTML(string=html).render()
    pdf = document.write_pdf()
    return {
        "seconds": time.perf_counter() - start,
        "cpu_seconds": _cpu_seconds() - cpu,
        "peak_mb": _peak_mb(),
        "pages": len(document.pages),
        "postings": len(rows),
        "bytes": len(pdf),
    }


def run_child(kind: str, issuer_id: int, bench_url: str) -> dict:
    env = {**os.environ, "DATABASE_URL": bench_url}
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--issuer", str(issuer_id)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"the {kind} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postings", type=int, default=20_000)
    parser.add_argument("--skip-floor", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--child", choices=["ours", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--issuer", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if args.child:
        _configure(url)
        result = child_ours(args.issuer) if args.child == "ours" else child_floor(args.issuer)
        print(json.dumps(result))
        return
    if urlparse(url).scheme not in {"postgres", "postgresql", "pgsql"}:
        raise SystemExit("Set DATABASE_URL=postgres://... (the benchmark measures PostgreSQL).")
    parsed = urlparse(url)
    bench_name = (parsed.path.lstrip("/") or "bondplatform") + "_bench_statements"
    bench = _bench_ledger()
    with bench._admin_connect(url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{bench_name}"')
        admin.execute(f'CREATE DATABASE "{bench_name}"')
    bench_url = urlunparse(parsed._replace(path="/" + bench_name))
    os.environ["LEDGER_SIGNING_KEY"] = os.environ.get("LEDGER_SIGNING_KEY") or secrets.token_hex(32)
    _configure(bench_url)

    from django.core.management import call_command
    from django.db import connections

    try:
        call_command("migrate", verbosity=0)
        issuer = bench._new_issuer("Statement bench")
        codes = [f"bond_principal:{n}" for n in range(1, 201)] + ["cash_at_bank", "interest_expense"]
        bench.build_chain(issuer, args.postings // 2, codes)
        connections.close_all()
        print(f"{args.postings:,} postings ({args.postings // 2:,} entries); {os.cpu_count()} CPUs")

        ours = run_child("ours", issuer.pk, bench_url)
        print(
            f"ours  (job: sign, {ours['parts']} parts, join, store): {ours['seconds']:6.1f} s"
            f" ({ours['cpu_seconds']:.1f} s CPU)"
            f"  peak {ours['peak_mb']:6.0f} MB  {ours['pages']} pages  {ours['bytes'] / 1e6:.1f} MB"
            f"  ({ours['seconds'] / ours['postings'] * 1000:.2f} ms a posting)"
        )
        if args.skip_floor:
            return
        floor = run_child("floor", issuer.pk, bench_url)
        print(
            f"floor (one bare WeasyPrint table):    {floor['seconds']:6.1f} s"
            f" ({floor['cpu_seconds']:.1f} s CPU)"
            f"  peak {floor['peak_mb']:6.0f} MB  {floor['pages']} pages  {floor['bytes'] / 1e6:.1f} MB"
        )
        ratio = ours["seconds"] / floor["seconds"]
        cpu_ratio = ours["cpu_seconds"] / floor["cpu_seconds"]
        print(
            f"ours / floor: {ratio:.2f} x the wall time, {cpu_ratio:.2f} x the CPU time (target <= 1.3);"
            f" peak {ours['peak_mb']:.0f} MB (target < 500)"
        )
    finally:
        connections.close_all()
        if not args.keep:
            with bench._admin_connect(url) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{bench_name}"')


if __name__ == "__main__":
    main()
