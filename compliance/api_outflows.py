"""HTTP API for money leaving an issuer other than to its bondholders: distributions,
the financial years that cap a CIC's dividends, and a winding-up. Thin: validate,
call one service or selector, serialize."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from bondplatform.fields import MoneyField
from bondplatform.idempotency import IDEMPOTENCY_HEADER_REQUIRED, required_idempotency_key
from bondplatform.schema import refusals
from compliance import distributions as distribution_services
from compliance import winding_up as winding_up_services
from compliance.models import Distribution, DistributionKind, FinancialYear
from issuers.models import Issuer
from issuers.selectors import issuer_get, issuer_get_for_officer

# Who may read an issuer's outflows (its books) and who may make them, as the services' gates say.
READERS = {
    401: ["not_authenticated"],
    403: ["not_an_officer_or_auditor", "two_factor_required"],
    404: ["issuer_not_found"],
}
OFFICERS = {
    401: ["not_authenticated"],
    403: ["not_an_officer", "two_factor_required"],
    404: ["issuer_not_found"],
}


class LedgerEntryRefSerializer(serializers.Serializer):
    sequence = serializers.IntegerField()
    hash = serializers.CharField()


class DistributionInSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DistributionKind.choices)
    recipient_name = serializers.CharField(max_length=200)
    recipient_asset_locked = serializers.BooleanField(default=False)
    recipient_registration_number = serializers.CharField(max_length=50, allow_blank=True, default="")
    invoice_reference = serializers.CharField(
        max_length=100, allow_blank=True, default="", help_text="Needed for `consideration`."
    )
    amount = MoneyField()
    purpose = serializers.CharField(max_length=500, help_text="What it is for, in words.")


class DistributionSerializer(serializers.ModelSerializer):
    amount = MoneyField(source="amount_pence")
    financial_year = serializers.DateField(source="financial_year.year_end", allow_null=True, default=None)
    ledger_entry = LedgerEntryRefSerializer()
    decision = serializers.IntegerField(source="decision_id")

    class Meta:
        model = Distribution
        fields = [
            "id",
            "issuer",
            "kind",
            "recipient_name",
            "recipient_asset_locked",
            "recipient_registration_number",
            "invoice_reference",
            "amount",
            "currency",
            "purpose",
            "paid_on",
            "financial_year",
            "ledger_entry",
            "decision",
            "created_at",
        ]
        read_only_fields = fields


class IssuerDistributionsApi(generics.ListAPIView):
    """GET: an issuer's distributions (its officers and auditors, staff). POST: an officer pays one."""

    serializer_class = DistributionSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        return distribution_services.distributions_of(
            actor=self.request.user, issuer_id=self.kwargs["issuer_id"]
        )

    @refusals(READERS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @refusals(
        {**OFFICERS, 400: ["invalid_amount"], 409: ["idempotency_key_reused"], 422: ["asset_lock_violation"]}
    )
    @extend_schema(
        request=DistributionInSerializer,
        responses={201: DistributionSerializer},
        parameters=[IDEMPOTENCY_HEADER_REQUIRED],
        description="Judged by the asset lock first: 422 `asset_lock_violation` (naming the rule and its "
        "source) leaves the ledger untouched, and its deny decision is kept. Allowed, the cash leaves "
        "in the ledger at once (Dr distributions, or goods_and_services for `consideration`; Cr "
        "cash_at_bank). A replay answers 201 again with `Idempotent-Replayed: true`.",
    )
    def post(self, request, issuer_id: int):
        # Who asks before what they send: 404, 401 and 403 come before a 400 for the body.
        issuer_get_for_officer(issuer_id, actor=request.user)
        serializer = DistributionInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        distribution, created = distribution_services.distribution_request(
            actor=request.user,
            issuer_id=issuer_id,
            amount_pence=data.pop("amount"),
            idempotency_key=required_idempotency_key(request),
            **data,
        )
        response = Response(DistributionSerializer(distribution).data, status=status.HTTP_201_CREATED)
        if not created:
            response["Idempotent-Replayed"] = "true"
        return response


class FinancialYearSerializer(serializers.ModelSerializer):
    distributable_profits = MoneyField(source="distributable_profits_pence", allow_zero=True)

    class Meta:
        model = FinancialYear
        fields = ["id", "issuer", "year_end", "distributable_profits", "declared_at"]
        read_only_fields = ["id", "issuer", "declared_at"]


class IssuerFinancialYearsApi(generics.ListAPIView):
    """GET: the years declared (its officers and auditors, staff). POST: an officer declares one."""

    serializer_class = FinancialYearSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        return distribution_services.financial_years_of(
            actor=self.request.user, issuer_id=self.kwargs["issuer_id"]
        )

    @refusals(READERS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @refusals(
        {**OFFICERS, 400: ["invalid_amount"], 409: ["financial_year_declared", "financial_year_overlaps"]}
    )
    @extend_schema(
        request=FinancialYearSerializer,
        responses={201: FinancialYearSerializer, 200: FinancialYearSerializer},
        description="The distributable profits of the year ending `year_end`: a CIC limited by shares may "
        "pay dividends in that year of up to 35 % of them. Declared once (409 `financial_year_declared` "
        "for another figure, `financial_year_overlaps` for a year overlapping another); the same "
        "declaration again answers 200 with the year declared first.",
    )
    def post(self, request, issuer_id: int):
        issuer_get_for_officer(issuer_id, actor=request.user)
        serializer = FinancialYearSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        year, created = distribution_services.financial_year_declare(
            actor=request.user,
            issuer_id=issuer_id,
            year_end=serializer.validated_data["year_end"],
            distributable_profits_pence=serializer.validated_data["distributable_profits_pence"],
        )
        return Response(
            FinancialYearSerializer(year).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class WindingUpInSerializer(serializers.Serializer):
    date = serializers.DateField()
    reason = serializers.CharField(max_length=2000)


class WindingUpSerializer(serializers.Serializer):
    issuer = serializers.IntegerField()
    winding_up_on = serializers.DateField(
        allow_null=True, help_text="Null while the issuer is not being wound up."
    )
    reason = serializers.CharField()


def _winding_up(issuer: Issuer) -> dict:
    return {"issuer": issuer.pk, "winding_up_on": issuer.winding_up_on, "reason": issuer.winding_up_reason}


class IssuerWindingUpApi(APIView):
    @refusals({404: ["issuer_not_found"]}, signed_in=False)
    @extend_schema(responses=WindingUpSerializer, description="Anyone: whether the issuer is being wound up.")
    def get(self, request, issuer_id: int):
        return Response(WindingUpSerializer(_winding_up(issuer_get(issuer_id))).data)

    @refusals({**OFFICERS, 409: ["already_winding_up"]})
    @extend_schema(
        request=WindingUpInSerializer,
        responses={201: WindingUpSerializer},
        description="An officer records a winding-up (once: 409 `already_winding_up`). From then on the "
        "asset lock lets the residual assets go only to another asset-locked body.",
    )
    def post(self, request, issuer_id: int):
        issuer_get_for_officer(issuer_id, actor=request.user)
        serializer = WindingUpInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issuer = winding_up_services.winding_up_record(
            actor=request.user, issuer_id=issuer_id, **serializer.validated_data
        )
        return Response(WindingUpSerializer(_winding_up(issuer)).data, status=status.HTTP_201_CREATED)
