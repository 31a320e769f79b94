"""HTTP API for bond issues: validate, call one service, serialize.

Subscriptions: `investments.api.subscriptions`. Payments (record-payment, refunds,
Stripe's webhook, bank statements): `investments.api.payments`.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from bondplatform.fields import MoneyField
from investments import selectors
from investments.models import BondIssue, DayCount, Holding, InterestFrequency, IssueStatus
from investments.services import issues as issue_services
from issuers.models import Issuer


class BondIssueSerializer(serializers.ModelSerializer):
    issuer = serializers.PrimaryKeyRelatedField(queryset=Issuer.objects.all())
    coupon_rate_percent = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)
    interest_frequency = serializers.ChoiceField(choices=InterestFrequency.choices)
    day_count = serializers.ChoiceField(choices=DayCount.choices, default=DayCount.ACT_365F)
    currency = serializers.RegexField(r"^[A-Z]{3}$", default="GBP")
    term_months = serializers.IntegerField(min_value=1, max_value=600)
    min_subscription = MoneyField(source="min_subscription_pence")
    max_subscription = MoneyField(source="max_subscription_pence")
    min_raise = MoneyField(source="min_raise_pence", allow_zero=True)
    max_raise = MoneyField(source="max_raise_pence")
    eligible_postcode_prefixes = serializers.ListField(
        child=serializers.RegexField(r"^[A-Za-z]{1,2}([0-9][A-Za-z0-9]?( ?[0-9])?)?$"),
        default=list,
        max_length=50,
    )
    cooling_off_days = serializers.IntegerField(min_value=0, max_value=365, default=14)
    notice_days = serializers.IntegerField(min_value=0, max_value=3650, default=90)
    reinvestment_allowed = serializers.BooleanField(default=False)
    performance_related = serializers.BooleanField(
        default=False,
        help_text="Interest that depends on the issuer's performance; the coupon is its maximum. "
        "A CIC's is capped at 20 % a year (422 `rate_cap_exceeded` on opening).",
    )
    status = serializers.CharField(read_only=True)
    raised = MoneyField(source="raised_pence", read_only=True)
    committed = MoneyField(source="committed_pence", read_only=True)
    remaining = MoneyField(source="remaining_pence", read_only=True)
    investor_count = serializers.IntegerField(read_only=True, default=0)
    allotted_on = serializers.DateField(read_only=True)

    class Meta:
        model = BondIssue
        fields = [
            "id",
            "issuer",
            "name",
            "description",
            "currency",
            "coupon_rate_percent",
            "term_months",
            "interest_frequency",
            "day_count",
            "min_subscription",
            "max_subscription",
            "min_raise",
            "max_raise",
            "opens_at",
            "closes_at",
            "eligible_postcode_prefixes",
            "cooling_off_days",
            "notice_days",
            "reinvestment_allowed",
            "performance_related",
            "status",
            "raised",
            "committed",
            "remaining",
            "investor_count",
            "allotted_on",
        ]


class IssueListCreateApi(generics.ListAPIView):
    serializer_class = BondIssueSerializer

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=IssueStatus.values)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        wanted = self.request.query_params.get("status") or None
        if wanted is not None and wanted not in IssueStatus.values:
            raise serializers.ValidationError({"status": [f"One of: {', '.join(IssueStatus.values)}."]})
        return selectors.issue_list_for(actor=self.request.user, status=wanted)

    @extend_schema(request=BondIssueSerializer, responses={201: BondIssueSerializer})
    def post(self, request):
        serializer = BondIssueSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        issue = issue_services.issue_create(actor=request.user, issuer=data.pop("issuer"), **data)
        return Response(
            BondIssueSerializer(selectors.issue_get(issue.pk)).data, status=status.HTTP_201_CREATED
        )


class IssueDetailApi(APIView):
    @extend_schema(responses=BondIssueSerializer)
    def get(self, request, issue_id: int):
        return Response(BondIssueSerializer(selectors.issue_get_for(issue_id, actor=request.user)).data)

    @extend_schema(request=BondIssueSerializer, responses=BondIssueSerializer)
    def patch(self, request, issue_id: int):
        """Change a draft's terms (409 `terms_frozen` once it has opened)."""
        # Who asks before what they send: 404, 401 and 403 come before a 400 for the body.
        issue = selectors.issue_get_for_officer(issue_id, actor=request.user)
        serializer = BondIssueSerializer(issue, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        issue = issue_services.issue_update_terms(
            actor=request.user, issue_id=issue_id, **serializer.validated_data
        )
        return Response(BondIssueSerializer(selectors.issue_get(issue.pk)).data)


class _IssueTransitionApi(APIView):
    def transition(self, request, issue_id: int) -> BondIssue:
        raise NotImplementedError

    @extend_schema(request=None, responses=BondIssueSerializer)
    def post(self, request, issue_id: int):
        issue = self.transition(request, issue_id)
        return Response(BondIssueSerializer(selectors.issue_get(issue.pk)).data)


class IssueOpenApi(_IssueTransitionApi):
    def transition(self, request, issue_id):
        return issue_services.issue_open(actor=request.user, issue_id=issue_id)


class IssueCloseApi(_IssueTransitionApi):
    def transition(self, request, issue_id):
        return issue_services.issue_close(actor=request.user, issue_id=issue_id)


class IssueWithdrawApi(_IssueTransitionApi):
    def transition(self, request, issue_id):
        return issue_services.issue_withdraw(actor=request.user, issue_id=issue_id)


class AllotInputSerializer(serializers.Serializer):
    allotted_on = serializers.DateField(required=False)


class IssueAllotApi(APIView):
    @extend_schema(request=AllotInputSerializer, responses=BondIssueSerializer)
    def post(self, request, issue_id: int):
        serializer = AllotInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issue = issue_services.issue_allot(
            actor=request.user, issue_id=issue_id, allotted_on=serializer.validated_data.get("allotted_on")
        )
        return Response(BondIssueSerializer(selectors.issue_get(issue.pk)).data)


class RegisterEntrySerializer(serializers.ModelSerializer):
    holding_id = serializers.IntegerField(source="pk")
    holder = serializers.SerializerMethodField()
    principal = MoneyField(source="principal_pence")

    class Meta:
        model = Holding
        fields = ["holding_id", "holder", "principal", "allotted_on", "interest_preference", "status"]

    @extend_schema_field(
        inline_serializer("Holder", {"name": serializers.CharField(), "postcode": serializers.CharField()})
    )
    def get_holder(self, holding: Holding) -> dict[str, str]:
        profile = getattr(holding.holder, "profile", None)
        return {
            "name": profile.full_name if profile else holding.holder.get_username(),
            "postcode": profile.postcode if profile else "",
        }


class IssueRegisterApi(generics.ListAPIView):
    serializer_class = RegisterEntrySerializer

    def get_queryset(self):
        issue = selectors.issue_get(self.kwargs["issue_id"])
        return selectors.register_of(issue, actor=self.request.user)


@extend_schema_field(OpenApiTypes.STR)
class ShareField(serializers.Field):
    """A share from 0 to 1, shown as a string with two decimals ("0.67"); output only."""

    def to_representation(self, value: float) -> str:
        return f"{value:.2f}"


class SignedLedgerHeadSerializer(serializers.Serializer):
    sequence = serializers.IntegerField(help_text="0 before the issuer's first signed checkpoint.")
    hash = serializers.CharField()
    signature = serializers.CharField(
        allow_null=True, help_text="Ed25519, hex; null before the first checkpoint."
    )
    key_id = serializers.CharField(allow_null=True, help_text="As served by GET ledger/public-key/.")
    algorithm = serializers.CharField(allow_null=True)
    signed_at = serializers.CharField(allow_null=True, help_text="In the form the signature covers.")
    tree_size = serializers.IntegerField(
        allow_null=True, help_text="The signed Merkle tree head (RFC 9162): entries 1..tree_size."
    )
    merkle_root = serializers.CharField(
        allow_null=True, help_text="Hex; null on checkpoints before the tree."
    )


class TransparencySerializer(serializers.Serializer):
    issue = serializers.IntegerField()
    issuer = serializers.IntegerField()
    status = serializers.CharField()
    currency = serializers.CharField()
    raised = MoneyField(source="raised_pence")
    investor_count = serializers.IntegerField()
    local_investor_share = ShareField(allow_null=True)
    interest_paid = MoneyField(source="interest_paid_pence", allow_zero=True)
    interest_waived = MoneyField(source="interest_waived_pence", allow_zero=True)
    principal_repaid = MoneyField(source="principal_repaid_pence", allow_zero=True)
    uses_of_funds_total = MoneyField(
        source="uses_of_funds_total_pence",
        allow_zero=True,
        help_text="What officers report the money was used for.",
    )
    ledger_head = SignedLedgerHeadSerializer(help_text="The issuer's latest signed checkpoint.")
    ledger_tip = inline_serializer(
        "LedgerTip", {"sequence": serializers.IntegerField(), "hash": serializers.CharField()}
    )


class IssueTransparencyApi(APIView):
    @extend_schema(responses=TransparencySerializer)
    def get(self, request, issue_id: int):
        issue = selectors.issue_get_for(issue_id, actor=request.user)
        return Response(TransparencySerializer(selectors.transparency_of(issue)).data)
