"""HTTP API for the decision log: every allow and deny, with its rule and reason, as JSON or CSV.

The `issue` filter is added by `investments.api.decisions` (which decisions
concern an issue is that app's knowledge); the router points the paths there.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from bondplatform.query import id_field, query_validated
from bondplatform.schema import ID, refusals
from bondplatform.spreadsheets import safe_cell
from compliance import selectors
from compliance.models import Decision, Outcome


def actor_name(decision: Decision) -> str:
    """Who decided: a person's username, or the service's own name (a task, a webhook)."""
    return decision.actor.get_username() if decision.actor is not None else decision.system_actor


class DecisionSerializer(serializers.ModelSerializer):
    subject = serializers.SerializerMethodField()
    actor = serializers.SerializerMethodField()

    class Meta:
        model = Decision
        fields = ["id", "decided_at", "rule", "outcome", "reason", "subject", "actor", "context"]

    def get_subject(self, decision: Decision) -> dict[str, str]:
        return {"type": decision.subject_type, "id": decision.subject_id}

    def get_actor(self, decision: Decision) -> str:
        return actor_name(decision)


class DecisionQuerySerializer(serializers.Serializer):
    issuer = id_field()
    rule = serializers.CharField(max_length=60, required=False)
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False)
    since = serializers.DateField(required=False, help_text="Decided on or after this day (YYYY-MM-DD).")
    until = serializers.DateField(required=False, help_text="Decided on or before this day (YYYY-MM-DD).")

    def validate(self, attrs):
        since, until = attrs.get("since"), attrs.get("until")
        if since and until and since > until:
            raise serializers.ValidationError({"until": ["Must not be before since."]})
        return attrs


DECISION_PARAMS = [
    OpenApiParameter("issuer", ID, required=True),
    OpenApiParameter("rule", str),
    OpenApiParameter("outcome", str, enum=Outcome.values),
    OpenApiParameter("since", OpenApiTypes.DATE, description="Decided on or after this day."),
    OpenApiParameter("until", OpenApiTypes.DATE, description="Decided on or before this day."),
]


@refusals(
    {
        401: ["not_authenticated"],
        403: ["not_an_officer_or_auditor", "two_factor_required"],
        404: ["issuer_not_found"],
    }
)
class _DecisionQuery:
    """Validate the query (400), then the selector finds the issuer and checks the reader (404, 403);
    the list and the CSV (and the views that extend them) answer these refusals alike."""

    query_serializer: type[serializers.Serializer] = DecisionQuerySerializer

    def subjects(self, query: dict[str, Any]):
        """The subjects to narrow to (None: all); the app above adds the issue's."""
        return None

    def decisions(self, request):
        data = query_validated(request, self.query_serializer)
        return selectors.decision_list(
            actor=request.user,
            issuer_id=data["issuer"],
            rule=data.get("rule"),
            outcome=data.get("outcome"),
            since=data.get("since"),
            until=data.get("until"),
            subjects=self.subjects(data),
        )


class DecisionListApi(_DecisionQuery, generics.ListAPIView):
    # Refusals in order: 401 nobody signed in, 400 the query, then (from the selector)
    # 404 no such issuer and 403 not an officer, auditor or staff.
    serializer_class = DecisionSerializer
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=DECISION_PARAMS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return self.decisions(self.request)


CSV_HEADER = [
    "id",
    "decided_at",
    "rule",
    "outcome",
    "reason",
    "subject_type",
    "subject_id",
    "actor",
    "context",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def decision_csv_rows(decisions) -> Iterator[str]:
    """The CSV, a line at a time; every cell is safe to open in a spreadsheet (no formula injection)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for d in decisions.iterator(chunk_size=2000):
        cells = [
            d.pk,
            d.decided_at.isoformat(),
            d.rule,
            d.outcome,
            d.reason,
            d.subject_type,
            d.subject_id,
            actor_name(d),
            json.dumps(d.context, sort_keys=True, separators=(",", ":")),
        ]
        yield writer.writerow([safe_cell(cell) for cell in cells])


class _CsvOrJsonError(BaseContentNegotiation):
    """The file whatever the Accept header says; a refusal as JSON like every error."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


CSV_SCHEMA: dict[str, Any] = {
    "operation_id": "v1_compliance_decisions_csv",
    "responses": {(200, "text/csv"): OpenApiTypes.BINARY},
    "description": "The same decisions as CSV, oldest first. Cells that a spreadsheet would read as a "
    "formula (starting with = + - @, a tab or a carriage return) are prefixed with an apostrophe.",
}


class DecisionCsvApi(_DecisionQuery, APIView):
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _CsvOrJsonError

    @extend_schema(parameters=DECISION_PARAMS, **CSV_SCHEMA)
    def get(self, request):
        decisions = self.decisions(request).order_by("decided_at", "id")
        response = StreamingHttpResponse(decision_csv_rows(decisions), content_type="text/csv; charset=utf-8")
        issuer = request.query_params.get("issuer")
        response["Content-Disposition"] = f'attachment; filename="decisions-issuer-{int(issuer)}.csv"'
        response["Cache-Control"] = "private, no-store"
        return response
