"""PDF statements of any size, made in the background: ask, watch the progress, download.

`statement_job_create` (an officer, auditor or staff, like every statement)
records the job `queued` and hands `statement_job_run` to the django-q2
worker after COMMIT (`bondplatform.background.after_commit`, durable). The
worker:
1. builds the statement once (`ledger.statements.statement_build`: verifies
   the chain, signs the cut-off, fixes the sequences) and keeps its signed
   facts on the job, so every part belongs to that one signed statement;
2. lays it out a part at a time (`ledger.statement_pdf`), storing each part
   and the progress (postings and pages done) in one short transaction;
3. joins the parts into one PDF, stored in slices (see
   `ledger.statement_job_models` on why in the database), and deletes them.

A run works for at most `RUN_SECONDS`, then queues the rest as new work and
returns: no task outlives the worker's timeout or the outbox's claim, and a
worker that dies mid-way is replaced by one that resumes at the next part
(a part stored twice is refused by its unique index). Finished files are
deleted after `KEEP_DAYS` days by the daily `statement_jobs_clean`.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import time
from collections.abc import Iterator

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from bondplatform.actors import Actor, person_or_none
from bondplatform.background import after_commit
from bondplatform.errors import BadInput, InvalidState, NotFound, ServiceError, TooManyAttempts
from issuers import gates
from issuers.selectors import issuer_get
from ledger.models import StatementJob, StatementJobPart, StatementJobSlice, StatementJobStatus
from ledger.signing import ALGORITHM
from ledger.statement_pdf import PART_POSTINGS, RenderedPart, pdf_join, statement_pdf_parts
from ledger.statements import Statement, statement_build, statement_title

__all__ = [
    "FILE_SLICE_BYTES",
    "KEEP_DAYS",
    "StatementJobProgress",
    "statement_job_create",
    "statement_job_file",
    "statement_job_get",
    "statement_job_progress",
    "statement_job_run",
    "statement_jobs_clean",
    "statement_jobs_of",
]

logger = logging.getLogger(__name__)

TASK = "ledger.tasks.run_statement_job"
# A run lays out parts for this long, then queues the rest (the worker's timeout is 600 s).
RUN_SECONDS = 120
# Slices of the finished file: small rows, small reads.
FILE_SLICE_BYTES = 1024 * 1024
# Finished (and failed) jobs and their files are deleted this many days after they end.
KEEP_DAYS = 7
# Unfinished jobs one person may have at once: a PDF costs a worker minutes.
MAX_UNFINISHED_PER_PERSON = 3

_UNFINISHED = (StatementJobStatus.QUEUED, StatementJobStatus.RUNNING)


def statement_job_create(
    *, actor: Actor, issuer_id: int, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> StatementJob:
    """Ask for the PDF statement of the entries recorded from `date_from` to `date_to` (default:
    the ledger's start to today, UTC). 404 no such issuer, 403 not a reader of its books;
    429 `too_many_statement_jobs` while the person has MAX_UNFINISHED_PER_PERSON unfinished."""
    issuer = issuer_get(issuer_id)
    gates.require_ledger_reader(actor, issuer)
    if date_to is None:
        date_to = timezone.now().astimezone(dt.UTC).date()
    if date_from is not None and date_from > date_to:
        raise BadInput("The period ends before it starts.", fields={"to": ["Must not be before from."]})
    person = person_or_none(actor)
    with transaction.atomic(durable=True):
        if person is not None:
            unfinished = StatementJob.objects.filter(requested_by=person, status__in=_UNFINISHED).count()
            if unfinished >= MAX_UNFINISHED_PER_PERSON:
                raise TooManyAttempts(
                    f"You have {unfinished} statements being made; ask again when one is ready.",
                    retry_after_seconds=60,
                    code="too_many_statement_jobs",
                )
        job = StatementJob.objects.create(
            issuer=issuer, requested_by=person, date_from=date_from, date_to=date_to
        )
        after_commit(TASK, job_id=job.pk)
    return job


def statement_job_get(*, actor: Actor, job_id: int) -> StatementJob:
    """A job, for the readers of its issuer's books: 401 for nobody, 404 for anyone who may not
    know it exists (`gates.require_private`: ids reveal nothing), then the readers' gate (403)."""
    gates.require_signed_in(actor)
    missing = NotFound("No such statement job.", code="statement_job_not_found")
    job = StatementJob.objects.select_related("issuer").filter(pk=job_id).first()
    if job is None:
        raise missing
    gates.require_private(actor, issuer_id=job.issuer_id, owner_id=job.requested_by_id, missing=missing)
    gates.require_ledger_reader(actor, job.issuer)
    return job


def statement_jobs_of(*, actor: Actor, issuer_id: int, limit: int = 20) -> list[StatementJob]:
    """An issuer's latest jobs, newest first, for the readers of its books (404, then 401/403)."""
    issuer = issuer_get(issuer_id)
    gates.require_ledger_reader(actor, issuer)
    return list(StatementJob.objects.filter(issuer=issuer).select_related("requested_by")[:limit])


def statement_job_file(*, actor: Actor, job_id: int) -> tuple[StatementJob, Iterator[bytes]]:
    """The finished PDF, slice by slice; 409 `statement_not_ready` until the job has completed."""
    job = statement_job_get(actor=actor, job_id=job_id)
    if job.status != StatementJobStatus.COMPLETED:
        raise InvalidState(
            f"The statement is {job.status}: download it once it has completed.",
            code="statement_not_ready",
            extra={"status": job.status},
        )
    return job, _slices(job.pk)


def _slices(job_id: int) -> Iterator[bytes]:
    for slice_id in (
        StatementJobSlice.objects.filter(job_id=job_id).order_by("index").values_list("id", flat=True)
    ):
        yield bytes(StatementJobSlice.objects.values_list("data", flat=True).get(pk=slice_id))


class StatementJobProgress:
    """What the job's status shows: parts, pages and postings done, and a percentage."""

    def __init__(self, job: StatementJob):
        self.postings_done = job.postings_done
        self.postings_total = job.postings_total
        self.pages_done = job.pages_done
        self.parts_done = job.parts_done
        if job.status == StatementJobStatus.COMPLETED:
            self.percent = 100
        elif job.postings_total:
            # Joining the parts is the last step: 99 % at most until it is done.
            self.percent = min(99, job.postings_done * 100 // job.postings_total)
        else:
            self.percent = 0


def statement_job_progress(job: StatementJob) -> StatementJobProgress:
    return StatementJobProgress(job)


# --- the worker -------------------------------------------------------------------------


def statement_job_run(*, job_id: int, run_seconds: float = RUN_SECONDS) -> StatementJob | None:
    """Build, lay out and join a job's statement; safe to run again, resumes where it stopped."""
    job = StatementJob.objects.select_related("issuer").filter(pk=job_id).first()
    if job is None or job.status not in _UNFINISHED:
        return job
    deadline = time.monotonic() + run_seconds
    try:
        if not job.built:
            job = _build(job)
        statement = _statement_of(job)
        last = job.parts.order_by("-index").only("index", "last_sequence").first()
        if last is None or last.last_sequence < statement.to_sequence:
            resume = (
                {}
                if last is None
                else {
                    "index": last.index + 1,
                    "low": last.last_sequence + 1,
                    "first_page": job.pages_done + 1,
                }
            )
            for part in statement_pdf_parts(statement, postings=PART_POSTINGS, **resume):
                _part_store(job.pk, part)
                if part.last_sequence < statement.to_sequence and time.monotonic() > deadline:
                    after_commit(TASK, job_id=job.pk)
                    return StatementJob.objects.get(pk=job.pk)
        return _finish(job.pk, title=statement_title(statement))
    except ServiceError as exc:
        return _fail(job.pk, code=exc.code, detail=exc.detail)
    except Exception as exc:
        logger.exception("Statement job %s failed", job_id)
        return _fail(job.pk, code="statement_failed", detail=f"{type(exc).__name__}: {exc}"[:2000])


def _build(job: StatementJob) -> StatementJob:
    statement = statement_build(issuer=job.issuer, date_from=job.date_from, date_to=job.date_to)
    with transaction.atomic(durable=True):
        job = StatementJob.objects.select_for_update().select_related("issuer").get(pk=job.pk)
        if job.built:  # another worker got there first: keep its statement
            return job
        job.built = True
        job.status = StatementJobStatus.RUNNING
        job.started_at = timezone.now()
        job.from_sequence = statement.from_sequence
        job.to_sequence = statement.to_sequence
        job.prev_hash = statement.prev_hash
        job.last_hash = statement.last_hash
        job.generated_at = statement.generated_at
        job.key_id = statement.key_id
        job.public_key_hex = statement.public_key_hex
        job.signature = statement.signature
        job.checkpoint = statement.checkpoint
        job.postings_total = statement.posting_count
        job.save()
        return job


def _statement_of(job: StatementJob) -> Statement:
    assert job.generated_at is not None  # built
    return Statement(
        issuer_id=job.issuer_id,
        issuer_name=job.issuer.name,
        date_from=job.date_from,
        date_to=job.date_to,
        from_sequence=job.from_sequence,
        to_sequence=job.to_sequence,
        prev_hash=job.prev_hash,
        last_hash=job.last_hash,
        generated_at=job.generated_at,
        posting_count=job.postings_total,
        key_id=job.key_id,
        public_key_hex=job.public_key_hex,
        signature=job.signature,
        checkpoint=job.checkpoint,
        algorithm=ALGORITHM,
    )


def _part_store(job_id: int, part: RenderedPart) -> None:
    """Keep a part and count its progress, in one transaction; a part already kept is left alone."""
    try:
        with transaction.atomic(durable=True):
            # A second worker on the same job (a retry racing a continuation) stops at the lock
            # and finds the part stored, or the job finished: it stores nothing then.
            job = StatementJob.objects.select_for_update().only("status").get(pk=job_id)
            if job.status != StatementJobStatus.RUNNING:
                return
            StatementJobPart.objects.create(
                job_id=job_id,
                index=part.index,
                first_sequence=part.first_sequence,
                last_sequence=part.last_sequence,
                postings=part.postings,
                pages=part.pages,
                pdf=part.pdf,
            )
            StatementJob.objects.filter(pk=job_id).update(
                postings_done=F("postings_done") + part.postings,
                pages_done=F("pages_done") + part.pages,
                parts_done=F("parts_done") + 1,
            )
    except IntegrityError:
        logger.info("Part %s of statement job %s was already stored", part.index, job_id)


def _part_pdfs(job_id: int) -> Iterator[bytes]:
    """The parts' PDFs in order, one read each, so that one part at a time is in memory."""
    for part_id in (
        StatementJobPart.objects.filter(job_id=job_id).order_by("index").values_list("id", flat=True)
    ):
        yield bytes(StatementJobPart.objects.values_list("pdf", flat=True).get(pk=part_id))


def _finish(job_id: int, *, title: str) -> StatementJob:
    with tempfile.SpooledTemporaryFile(max_size=16 * FILE_SLICE_BYTES) as out:
        pdf_join(_part_pdfs(job_id), out, title=title)
        size = out.tell()
        out.seek(0)
        with transaction.atomic(durable=True):
            job = StatementJob.objects.select_for_update().get(pk=job_id)
            if job.status != StatementJobStatus.RUNNING:
                return job
            StatementJobSlice.objects.filter(job_id=job_id).delete()
            index = 0
            while data := out.read(FILE_SLICE_BYTES):
                StatementJobSlice.objects.create(job_id=job_id, index=index, data=data)
                index += 1
            StatementJobPart.objects.filter(job_id=job_id).delete()
            job.status = StatementJobStatus.COMPLETED
            job.file_bytes = size
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "file_bytes", "finished_at"])
            return job


def _fail(job_id: int, *, code: str, detail: str) -> StatementJob:
    with transaction.atomic(durable=True):
        job = StatementJob.objects.select_for_update().get(pk=job_id)
        if job.status in _UNFINISHED:
            job.status = StatementJobStatus.FAILED
            job.failure_code = code
            job.failure_detail = detail
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "failure_code", "failure_detail", "finished_at"])
            StatementJobPart.objects.filter(job_id=job_id).delete()
        return job


def statement_jobs_clean(*, now: dt.datetime | None = None) -> int:
    """Delete the jobs (and their files) that ended more than KEEP_DAYS days ago; how many."""
    now = now or timezone.now()
    old = StatementJob.objects.filter(finished_at__lt=now - dt.timedelta(days=KEEP_DAYS)).exclude(
        status__in=_UNFINISHED
    )
    deleted = 0
    for job_id in old.values_list("pk", flat=True):
        with transaction.atomic(durable=True):
            StatementJobSlice.objects.filter(job_id=job_id).delete()
            StatementJobPart.objects.filter(job_id=job_id).delete()
            deleted += StatementJob.objects.filter(pk=job_id).delete()[1].get(StatementJob._meta.label, 0)
    return deleted
