"""HTTP API for principal back to holders: early redemption requests and their decisions, and maturity."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from bondplatform.fields import MoneyField
from bondplatform.idempotency import IDEMPOTENCY_HEADER, idempotency_key
from bondplatform.schema import refusals
from investments import selectors
from investments.api.issues import BondIssueSerializer
from investments.models import RedemptionRequest
from investments.selectors_servicing import holding_get_for_holder, redemption_request_get_for_officer
from investments.services import redemptions as redemption_services


class RedemptionRequestSerializer(serializers.ModelSerializer):
    holding = serializers.IntegerField(source="holding_id")
    amount = MoneyField(source="amount_pence")
    accrued_interest = MoneyField(
        source="accrued_interest_pence",
        allow_zero=True,
        help_text="On approval: the gross interest on the amount to the redemption date (0 if waived).",
    )
    interest_tax_withheld = MoneyField(source="interest_tax_pence", allow_zero=True)
    interest_waived = MoneyField(source="interest_waived_pence", allow_zero=True)

    class Meta:
        model = RedemptionRequest
        fields = [
            "id",
            "holding",
            "amount",
            "status",
            "requested_on",
            "redemption_date",
            "reason",
            "decided_at",
            "accrued_interest",
            "interest_tax_withheld",
            "interest_waived",
        ]
        read_only_fields = fields


@extend_schema_serializer(
    examples=[OpenApiExample("Part of the principal", value={"amount": "100.00"}, request_only=True)]
)
class RedemptionAskSerializer(serializers.Serializer):
    amount = MoneyField()


class HoldingRedemptionRequestsApi(APIView):
    permission_classes = [IsAuthenticated]

    @refusals(
        {
            400: ["invalid_amount"],
            403: ["not_yours"],
            404: ["holding_not_found"],
            409: ["holding_not_active", "idempotency_key_reused"],
            422: ["exceeds_principal", "matures_first"],
        }
    )
    @extend_schema(
        request=RedemptionAskSerializer,
        responses={201: RedemptionRequestSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        description="The holder asks for principal back: `pending`, dated today plus the issue's notice "
        "period. 422 `exceeds_principal` beyond the outstanding principal, `matures_first` when the notice "
        "would end on or after maturity.",
    )
    def post(self, request, holding_id: int):
        holding_get_for_holder(holding_id, actor=request.user)  # who may, before what they send
        serializer = RedemptionAskSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        redemption, created = redemption_services.redemption_request_create(
            actor=request.user,
            holding_id=holding_id,
            amount_pence=serializer.validated_data["amount"],
            idempotency_key=idempotency_key(request),
        )
        response = Response(RedemptionRequestSerializer(redemption).data, status=status.HTTP_201_CREATED)
        if not created:
            response["Idempotent-Replayed"] = "true"
        return response


@extend_schema_serializer(
    examples=[
        OpenApiExample("A reason", value={"reason": "Agreed by the board on 2 December."}, request_only=True)
    ]
)
class DecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class _RedemptionDecisionApi(APIView):
    permission_classes = [IsAuthenticated]

    def decide(self, request, request_id: int, reason: str) -> RedemptionRequest:
        raise NotImplementedError

    @refusals(
        {
            401: ["not_authenticated"],
            403: ["not_an_officer", "two_factor_required"],
            404: ["redemption_request_not_found"],
            409: ["already_decided", "holding_not_active"],
            422: ["asset_lock_violation"],
        }
    )
    @extend_schema(request=DecisionSerializer, responses=RedemptionRequestSerializer)
    def post(self, request, request_id: int):
        redemption_request_get_for_officer(request_id, actor=request.user)  # who may, before what they send
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        redemption = self.decide(request, request_id, serializer.validated_data["reason"])
        return Response(RedemptionRequestSerializer(redemption).data)


class RedemptionApproveApi(_RedemptionDecisionApi):
    """An officer approves: the principal and its interest to the redemption date become owed."""

    def decide(self, request, request_id, reason):
        return redemption_services.redemption_approve(
            actor=request.user, request_id=request_id, reason=reason
        )


class RedemptionDeclineApi(_RedemptionDecisionApi):
    def decide(self, request, request_id, reason):
        return redemption_services.redemption_decline(
            actor=request.user, request_id=request_id, reason=reason
        )


class IssueMatureApi(APIView):
    @refusals(
        {
            401: ["not_authenticated"],
            403: ["not_an_officer", "two_factor_required"],
            404: ["issue_not_found"],
            409: ["not_yet_mature", "invalid_state", "interest_run_failed"],
            422: ["asset_lock_violation"],
        }
    )
    @extend_schema(
        request=None,
        responses=BondIssueSerializer,
        description="On or after the maturity date: the final interest and all outstanding principal become "
        "owed to the holders, and the issue `redeemed` (409 `not_yet_mature` before).",
    )
    def post(self, request, issue_id: int):
        issue = redemption_services.issue_mature(actor=request.user, issue_id=issue_id)
        return Response(BondIssueSerializer(selectors.issue_get(issue.pk)).data)
