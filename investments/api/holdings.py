"""HTTP API for a resident's holdings: what they hold and earn, and how their interest is applied."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from bondplatform.fields import MoneyField
from bondplatform.pagination import BoundedLimitOffsetPagination
from investments.models import InterestPreference
from investments.selectors_servicing import HoldingView, holding_get_for_holder, holdings_of_holder
from investments.services import holdings as holding_services


class MyHoldingSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="holding.pk")
    issue = serializers.IntegerField(source="holding.issue_id")
    issue_name = serializers.CharField(source="holding.issue.name")
    currency = serializers.CharField(source="holding.issue.currency")
    allotted_on = serializers.DateField(source="holding.allotted_on")
    principal = MoneyField(
        source="holding.outstanding_pence",
        allow_zero=True,
        help_text="Principal still lent (after redemptions).",
    )
    redeemed = MoneyField(source="holding.redeemed_pence", allow_zero=True)
    interest_paid = MoneyField(
        source="holding.interest_paid_pence",
        allow_zero=True,
        help_text="Net interest credited to the holder by completed runs (paid, or added to principal).",
    )
    interest_reinvested = MoneyField(source="holding.interest_reinvested_pence", allow_zero=True)
    interest_waived = MoneyField(source="holding.interest_waived_pence", allow_zero=True)
    tax_withheld = MoneyField(source="holding.tax_withheld_pence", allow_zero=True)
    interest_preference = serializers.CharField(source="holding.interest_preference")
    next_coupon_date = serializers.DateField(allow_null=True)
    next_coupon_estimate = MoneyField(
        source="next_coupon_estimate_pence",
        allow_zero=True,
        allow_null=True,
        help_text="The next coupon before tax on today's principal (null when none is due).",
    )
    payout_pending = MoneyField(
        source="payout_pending_pence", allow_zero=True, help_text="Owed to the holder and not yet sent."
    )
    status = serializers.CharField(source="holding.status")


class MyHoldingsApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = BoundedLimitOffsetPagination

    @extend_schema(responses=MyHoldingSerializer(many=True))
    def get(self, request):
        paginator = self.pagination_class()
        views: list = holdings_of_holder(request.user)
        page: list[HoldingView] = paginator.paginate_queryset(views, request, view=self) or []  # type: ignore[arg-type]
        return paginator.get_paginated_response(MyHoldingSerializer(page, many=True).data)


class InterestPreferenceSerializer(serializers.Serializer):
    preference = serializers.ChoiceField(choices=InterestPreference.choices)


class HoldingInterestPreferenceApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=InterestPreferenceSerializer,
        responses=MyHoldingSerializer,
        description="Applies to every interest computed after it; 422 `reinvestment_not_allowed` where "
        "the issue's terms do not allow reinvestment.",
    )
    def post(self, request, holding_id: int):
        holding_get_for_holder(holding_id, actor=request.user)  # who may, before what they send
        serializer = InterestPreferenceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        holding = holding_services.holding_preference_set(
            actor=request.user, holding_id=holding_id, preference=serializer.validated_data["preference"]
        )
        view: HoldingView = next(v for v in holdings_of_holder(request.user) if v.holding.pk == holding.pk)
        return Response(MyHoldingSerializer(view).data)
