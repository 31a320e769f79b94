"""HTTP API for interest runs: an officer asks for a period's interest, officers and auditors follow it."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from bondplatform.fields import MoneyField
from investments.api.idempotency import IDEMPOTENCY_HEADER, idempotency_key
from investments.models import InterestRun
from investments.selectors_servicing import interest_run_get_for
from investments.services import interest_runs as interest_run_services


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


class InterestRunRequestSerializer(serializers.Serializer):
    period_end = serializers.DateField(help_text="A coupon date of the issue, reached.")


class IssueInterestRunsApi(APIView):
    @extend_schema(
        request=InterestRunRequestSerializer,
        responses={202: InterestRunSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        description="Ask for the interest of the period ending `period_end` (422 `not_a_coupon_date`, "
        "`period_not_ended`, `earlier_period_not_run`). One run per period: asking again returns it. "
        "Poll `interest-runs/{id}/` until `completed` or `failed`.",
    )
    def post(self, request, issue_id: int):
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
    @extend_schema(responses=InterestRunSerializer)
    def get(self, request, run_id: int):
        return Response(InterestRunSerializer(interest_run_get_for(request.user, run_id)).data)
