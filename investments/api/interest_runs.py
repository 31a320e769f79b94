"""HTTP API for interest runs: an officer asks for a period's interest, officers and auditors follow it."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from bondplatform.fields import MoneyField
from bondplatform.idempotency import IDEMPOTENCY_HEADER, idempotency_key
from bondplatform.money import format_pence
from bondplatform.query import query_validated
from bondplatform.schema import refusals
from bondplatform.spreadsheets import csv_text
from investments import selectors
from investments.api.downloads import CsvDownloadApi
from investments.models import InterestRun
from investments.selectors_servicing import interest_return_for, interest_run_get_for
from investments.services import interest_runs as interest_run_services
from issuers import gates


class InterestRunSerializer(serializers.ModelSerializer):
    total_interest = MoneyField(
        source="total_gross_pence",
        allow_zero=True,
        help_text="Gross interest credited to holders (paid or reinvested), before tax.",
    )
    total_tax_withheld = MoneyField(source="total_tax_withheld_pence", allow_zero=True)
    total_net = MoneyField(source="total_net_pence", allow_zero=True)
    total_reinvested = MoneyField(source="total_reinvested_pence", allow_zero=True)
    total_waived = MoneyField(source="total_waived_pence", allow_zero=True)
    currency = serializers.CharField(source="issue.currency")

    class Meta:
        model = InterestRun
        fields = [
            "id",
            "issue",
            "period_start",
            "period_end",
            "status",
            "failure_reason",
            "holdings_total",
            "holdings_done",
            "currency",
            "total_interest",
            "total_tax_withheld",
            "total_net",
            "total_reinvested",
            "total_waived",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


@extend_schema_serializer(
    examples=[OpenApiExample("A coupon date", value={"period_end": "2026-11-28"}, request_only=True)]
)
class InterestRunRequestSerializer(serializers.Serializer):
    period_end = serializers.DateField(help_text="A coupon date of the issue, reached.")


class IssueInterestRunsApi(APIView):
    permission_classes = [IsAuthenticated]

    @refusals(
        {
            401: ["not_authenticated"],
            403: ["not_an_officer", "two_factor_required"],
            404: ["issue_not_found"],
            409: ["idempotency_key_reused", "issue_not_active"],
            422: ["not_a_coupon_date", "period_not_ended", "earlier_period_not_run"],
        }
    )
    @extend_schema(
        request=InterestRunRequestSerializer,
        responses={202: InterestRunSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        description="Ask for the interest of the period ending `period_end` (422 `not_a_coupon_date`, "
        "`period_not_ended`, `earlier_period_not_run`). One run per period: asking again returns it. "
        "Poll `interest-runs/{id}/` until `completed` or `failed`.",
    )
    def post(self, request, issue_id: int):
        selectors.issue_get_for_officer(issue_id, actor=request.user)  # who may, before what they send
        serializer = InterestRunRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run, _ = interest_run_services.interest_run_request(
            actor=request.user,
            issue_id=issue_id,
            period_end=serializer.validated_data["period_end"],
            idempotency_key=idempotency_key(request),
        )
        run.refresh_from_db()
        return Response(InterestRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class InterestRunDetailApi(APIView):
    @refusals(
        {
            401: ["not_authenticated"],
            403: ["not_an_officer_or_auditor", "two_factor_required"],
            404: ["interest_run_not_found"],
        }
    )
    @extend_schema(responses=InterestRunSerializer)
    def get(self, request, run_id: int):
        return Response(InterestRunSerializer(interest_run_get_for(request.user, run_id)).data)


class InterestReturnQuerySerializer(serializers.Serializer):
    """`from` and `to` (names Python cannot declare as attributes)."""

    def get_fields(self):
        return {"from": serializers.DateField(), "to": serializers.DateField()}

    def validate(self, attrs):
        if attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"to": ["Must not be before from."]})
        return attrs


class IssuerInterestReturnCsvApi(CsvDownloadApi):
    @refusals(
        {
            401: ["not_authenticated"],
            403: ["not_an_officer", "two_factor_required"],
            404: ["issuer_not_found"],
        }
    )
    @extend_schema(
        operation_id="v1_issuers_interest_return_csv",
        parameters=[
            OpenApiParameter(
                "from", OpenApiTypes.DATE, required=True, description="First value date, included."
            ),
            OpenApiParameter(
                "to", OpenApiTypes.DATE, required=True, description="Last value date, included."
            ),
        ],
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
        description="The HMRC return of a society that pays interest gross (ITA 2007 s.887): every holder "
        "credited at least £15.00 of gross interest in the period, with name, postcode and amount. Officers.",
    )
    def get(self, request, issuer_id: int):
        gates.require_signed_in(request.user)
        query = query_validated(request, InterestReturnQuerySerializer)
        date_from, date_to = query["from"], query["to"]
        rows = interest_return_for(request.user, issuer_id=issuer_id, date_from=date_from, date_to=date_to)
        text = csv_text(
            ["name", "postcode", "gross_interest", "currency", "period_from", "period_to"],
            [
                [row.name, row.postcode, format_pence(row.gross_pence), "GBP", date_from, date_to]
                for row in rows
            ],
        )
        return self.csv_response(text, f"interest-return-{issuer_id}-{date_from}-{date_to}.csv")
