"""HTTP API for PDF statements made in the background (`ledger.statement_jobs`).

POST ledger/statement-jobs/ `{issuer, from, to}` → 202 with the job; GET
ledger/statement-jobs/{id}/ → its status and progress, and `download_url`
once it has completed; GET ledger/statement-jobs/{id}/statement.pdf → the
file (409 `statement_not_ready` before). Who: the readers of the issuer's
books (its officers and auditors, and staff), as for every statement.
"""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from bondplatform.query import MAX_ID
from bondplatform.schema import refusals
from ledger.canonical import format_date
from ledger.models import StatementJob, StatementJobStatus
from ledger.statement_jobs import (
    statement_job_create,
    statement_job_file,
    statement_job_get,
    statement_job_progress,
)


class StatementJobInSerializer(serializers.Serializer):
    """`issuer`, and `from` and `to` (names Python cannot declare as attributes)."""

    issuer = serializers.IntegerField(min_value=1, max_value=MAX_ID)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(
            required=False,
            allow_null=True,
            help_text="First day (UTC) entries were recorded; default: the start.",
        )
        fields["to"] = serializers.DateField(
            required=False, allow_null=True, help_text="Last day (UTC), inclusive; default: today."
        )
        return fields

    def validate(self, attrs):
        start, end = attrs.get("from"), attrs.get("to")
        if start and end and start > end:
            raise serializers.ValidationError({"to": ["Must not be before from."]})
        return attrs


class StatementJobProgressSerializer(serializers.Serializer):
    percent = serializers.IntegerField(help_text="0 to 100; 100 once the file is ready.")
    postings_done = serializers.IntegerField()
    postings_total = serializers.IntegerField(help_text="0 until the worker has built the statement.")
    pages_done = serializers.IntegerField()
    parts_done = serializers.IntegerField()


class StatementJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    issuer = serializers.IntegerField(source="issuer_id")
    status = serializers.CharField(help_text="queued, running, completed or failed.")
    date_from = serializers.SerializerMethodField()
    date_to = serializers.SerializerMethodField()
    from_sequence = serializers.SerializerMethodField()
    to_sequence = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    file_bytes = serializers.IntegerField()
    download_url = serializers.SerializerMethodField()
    failure_code = serializers.CharField(help_text="Blank unless the job failed.")
    failure_detail = serializers.CharField(help_text="Blank unless the job failed.")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True, help_text="Null until it completed or failed.")

    @extend_schema_field({"type": "string", "format": "date", "nullable": True})
    def get_date_from(self, job: StatementJob) -> str | None:
        return format_date(job.date_from) if job.date_from else None

    @extend_schema_field(OpenApiTypes.DATE)
    def get_date_to(self, job: StatementJob) -> str:
        return format_date(job.date_to)

    def get_from_sequence(self, job: StatementJob) -> int | None:
        return job.from_sequence if job.built else None

    def get_to_sequence(self, job: StatementJob) -> int | None:
        return job.to_sequence if job.built else None

    @staticmethod
    def _progress(job: StatementJob) -> dict:
        return StatementJobProgressSerializer(statement_job_progress(job)).data

    def get_progress(self, job: StatementJob) -> StatementJobProgressSerializer:
        return self._progress(job)  # type: ignore[return-value]

    def get_download_url(self, job: StatementJob) -> str | None:
        if job.status != StatementJobStatus.COMPLETED:
            return None
        url = reverse("ledger-statement-job-pdf", kwargs={"job_id": job.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


# Who may ask about a job or its issuer's statements: the readers of the issuer's books.
READERS = {
    401: ["not_authenticated"],
    403: ["not_an_officer_or_auditor", "two_factor_required"],
}


class StatementJobsApi(APIView):
    permission_classes = [IsAuthenticated]

    @refusals({**READERS, 404: ["issuer_not_found"], 429: ["too_many_statement_jobs"]})
    @extend_schema(
        request=StatementJobInSerializer,
        responses={202: StatementJobSerializer},
        description="Make the PDF statement of any period in the background; poll the job it returns. "
        "429 `too_many_statement_jobs` while you have three being made.",
    )
    def post(self, request):
        body = StatementJobInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        job = statement_job_create(
            actor=request.user, issuer_id=data["issuer"], date_from=data.get("from"), date_to=data.get("to")
        )
        job.refresh_from_db()
        return Response(
            StatementJobSerializer(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED
        )


class StatementJobDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @refusals({**READERS, 404: ["statement_job_not_found"]})
    @extend_schema(responses=StatementJobSerializer)
    def get(self, request, job_id: int):
        job = statement_job_get(actor=request.user, job_id=job_id)
        return Response(StatementJobSerializer(job, context={"request": request}).data)


class _DownloadOrJsonError(BaseContentNegotiation):
    """The file whatever the Accept header says; a refusal in JSON like every error."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class StatementJobPdfApi(APIView):
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _DownloadOrJsonError

    @refusals({**READERS, 404: ["statement_job_not_found"], 409: ["statement_not_ready"]})
    @extend_schema(
        operation_id="v1_ledger_statement_job_pdf",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        description="The finished PDF; 409 `statement_not_ready` until the job has completed.",
    )
    def get(self, request, job_id: int):
        job, chunks = statement_job_file(actor=request.user, job_id=job_id)
        response = StreamingHttpResponse(chunks, content_type="application/pdf")
        start = format_date(job.date_from) if job.date_from else "start"
        filename = f"ledger-{job.issuer_id}-{start}-{format_date(job.date_to)}.pdf"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Content-Length"] = str(job.file_bytes)
        response["Cache-Control"] = "private, no-store"
        return response
