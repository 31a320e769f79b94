"""Large PDF statements made in the background: the job, its parts, and the finished file.

Imported at the end of `ledger.models`, so these are models of the `ledger`
app. `ledger.statement_jobs` writes them.

Invariants kept here:
- a job's progress never runs past its totals (`postings_done <= postings_total`),
  and a completed job has a file (`file_bytes > 0`);
- one part per job and index, one slice per job and index: a worker that
  runs a part again (after a restart) cannot store it twice;
- the statement's signed facts (sequences, hashes, signature, cut-off) are
  written once, when the worker builds the statement, and the parts are laid
  out from them, so every part belongs to one signed statement.

Where the file lives: in the database, in slices of `FILE_SLICE_BYTES`. The
web processes and the workers may run on different machines (DESIGN §9) and
share only PostgreSQL; a file written under MEDIA_ROOT by a worker on one
machine could not be served by a web process on another without a shared
disk or an object store, which this service does not otherwise need. Slices
keep every row, and every read of one, small, and the download streams them.
Finished files are deleted after `ledger.statement_jobs.KEEP_DAYS` days.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class StatementJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class StatementJob(models.Model):
    issuer = models.ForeignKey("issuers.Issuer", on_delete=models.PROTECT, related_name="statement_jobs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    date_from = models.DateField(null=True, blank=True)  # None: from the ledger's start
    date_to = models.DateField()
    status = models.CharField(
        max_length=10, choices=StatementJobStatus.choices, default=StatementJobStatus.QUEUED
    )
    failure_code = models.CharField(max_length=50, blank=True)
    failure_detail = models.TextField(blank=True)

    # The signed statement, set once by the worker (ledger.statements.Statement's fields).
    built = models.BooleanField(default=False)
    from_sequence = models.BigIntegerField(default=0)
    to_sequence = models.BigIntegerField(default=0)
    prev_hash = models.CharField(max_length=64, blank=True)
    last_hash = models.CharField(max_length=64, blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    key_id = models.CharField(max_length=32, blank=True)
    public_key_hex = models.CharField(max_length=64, blank=True)
    signature = models.CharField(max_length=128, blank=True)
    checkpoint = models.ForeignKey(
        "ledger.LedgerCheckpoint", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    # Progress: what the parts laid out so far hold.
    postings_total = models.PositiveIntegerField(default=0)
    postings_done = models.PositiveIntegerField(default=0)
    pages_done = models.PositiveIntegerField(default=0)
    parts_done = models.PositiveIntegerField(default=0)
    file_bytes = models.PositiveBigIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(postings_done__lte=F("postings_total")), name="statement_job_done_within_total"
            ),
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(file_bytes__gt=0),
                name="statement_job_completed_has_file",
            ),
        ]
        indexes = [models.Index(fields=["status", "finished_at"], name="statement_job_status")]

    def __str__(self) -> str:
        return f"Statement job {self.pk} of issuer {self.issuer_id} ({self.status})"


class StatementJobPart(models.Model):
    """One part of a job's PDF, laid out and kept until the parts are joined."""

    job = models.ForeignKey(StatementJob, on_delete=models.CASCADE, related_name="parts")
    index = models.PositiveIntegerField()
    first_sequence = models.BigIntegerField()
    last_sequence = models.BigIntegerField()
    postings = models.PositiveIntegerField()
    pages = models.PositiveIntegerField()
    pdf = models.BinaryField()

    class Meta:
        ordering = ["job_id", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="statement_job_part_once")]

    def __str__(self) -> str:
        return f"Part {self.index} of statement job {self.job_id}"


class StatementJobSlice(models.Model):
    """A slice of a finished job's PDF; the download sends them in order."""

    job = models.ForeignKey(StatementJob, on_delete=models.CASCADE, related_name="slices")
    index = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ["job_id", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="statement_job_slice_once")]

    def __str__(self) -> str:
        return f"Slice {self.index} of statement job {self.job_id}"
