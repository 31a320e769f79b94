"""django-q2 tasks for the ledger: each calls services and is safe to run again."""

from __future__ import annotations

import logging

from bondplatform.errors import ServiceError
from ledger.models import LedgerHead
from ledger.signing import checkpoint_sign
from ledger.statement_jobs import statement_job_run, statement_jobs_clean

logger = logging.getLogger(__name__)


def sign_all_checkpoints() -> dict[int, int | None]:
    """Sign every issuer's chain head; {issuer id: signed sequence, or None if refused}.

    An issuer whose chain fails verification is logged as an error and left
    unsigned; the others are still signed.
    """
    signed: dict[int, int | None] = {}
    issuer_ids = LedgerHead.objects.filter(last_sequence__gt=0).values_list("issuer_id", flat=True)
    for issuer_id in issuer_ids.order_by("issuer_id"):
        try:
            checkpoint = checkpoint_sign(issuer=issuer_id)
        except ServiceError as exc:
            logger.error("Ledger of issuer %s not signed: %s", issuer_id, exc.detail)
            signed[issuer_id] = None
        else:
            signed[issuer_id] = checkpoint.sequence if checkpoint else None
    return signed


def run_statement_job(job_id: int) -> str | None:
    """Make (or go on making) one large PDF statement; queued after COMMIT by whoever asked."""
    job = statement_job_run(job_id=job_id)
    return job.status if job is not None else None


def clean_statement_jobs() -> int:
    """Delete the PDF statements made in the background more than a week ago (daily)."""
    return statement_jobs_clean()
