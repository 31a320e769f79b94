"""HTTP API for bond issues, subscriptions and payments: validate, call one service, serialize."""

from __future__ import annotations

import logging
import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from bondplatform.errors import ServiceError
from bondplatform.fields import MoneyField
from investments import selectors
from investments.models import (
    BondIssue,
    DayCount,
    Holding,
    InterestFrequency,
    IssueStatus,
    PaymentMethod,
    Subscription,
)
from investments.payments import stripe_client
from investments.services import issues as issue_services
from investments.services import payments as payment_services
from investments.services import statements as statement_services
from investments.services import stripe_webhooks as stripe_webhook_services
from investments.services import subscriptions as subscription_services
from issuers import gates
from issuers import selectors as issuer_selectors
from issuers.models import Issuer

logger = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The same key and body return the first result again and move nothing twice.",
)


def idempotency_key(request) -> str | None:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return None
    if len(key) > 100:
        raise serializers.ValidationError({"Idempotency-Key": ["At most 100 characters."]})
    return key


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
        return selectors.issue_list_for(self.request.user, status=wanted)

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
        return Response(BondIssueSerializer(selectors.issue_get_for(request.user, issue_id)).data)

    @extend_schema(request=BondIssueSerializer, responses=BondIssueSerializer)
    def patch(self, request, issue_id: int):
        """Change a draft's terms (409 `terms_frozen` once it has opened)."""
        issue = selectors.issue_get(issue_id)
        gates.require_officer(request.user, issue.issuer_id)
        serializer = BondIssueSerializer(issue, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if "issuer" in changes and changes.pop("issuer").pk != issue.issuer_id:
            raise serializers.ValidationError({"issuer": ["An issue cannot move to another issuer."]})
        issue = issue_services.issue_update_terms(actor=request.user, issue_id=issue_id, **changes)
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
        gates.require_register_reader(self.request.user, issue.issuer_id)
        return selectors.register_of(issue)


class TransparencySerializer(serializers.Serializer):
    issue = serializers.IntegerField()
    status = serializers.CharField()
    currency = serializers.CharField()
    raised = MoneyField(source="raised_pence")
    investor_count = serializers.IntegerField()
    local_investor_share = serializers.CharField(allow_null=True)
    interest_paid = MoneyField(source="interest_paid_pence", allow_zero=True)
    interest_waived = MoneyField(source="interest_waived_pence", allow_zero=True)
    principal_repaid = MoneyField(source="principal_repaid_pence", allow_zero=True)
    ledger_head = inline_serializer(
        "LedgerHeadRef", {"sequence": serializers.IntegerField(), "hash": serializers.CharField()}
    )


class IssueTransparencyApi(APIView):
    @extend_schema(responses=TransparencySerializer)
    def get(self, request, issue_id: int):
        issue = selectors.issue_get_for(request.user, issue_id)
        return Response(TransparencySerializer(selectors.transparency_of(issue)).data)


class SubscriptionSerializer(serializers.ModelSerializer):
    amount = MoneyField(source="amount_pence")
    received = MoneyField(source="received_pence", read_only=True)
    currency = serializers.CharField(source="issue.currency", read_only=True)
    payment = serializers.SerializerMethodField()

    class Meta:
        model = Subscription
        fields = [
            "id",
            "issue",
            "status",
            "amount",
            "currency",
            "received",
            "payment_method",
            "payment",
            "created_at",
            "expires_at",
            "paid_at",
        ]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_payment(self, subscription: Subscription) -> dict:
        return subscription_services.payment_instructions(subscription)


class SubscribeInputSerializer(serializers.Serializer):
    amount = MoneyField()
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices)


class IssueSubscribeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=SubscribeInputSerializer,
        responses={201: SubscriptionSerializer},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request, issue_id: int):
        serializer = SubscribeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription, created = subscription_services.subscription_create(
            actor=request.user,
            issue_id=issue_id,
            amount_pence=serializer.validated_data["amount"],
            payment_method=serializer.validated_data["payment_method"],
            idempotency_key=idempotency_key(request),
        )
        # A replay (same Idempotency-Key and body) answers as the first request did,
        # and says that it is a replay.
        response = Response(SubscriptionSerializer(subscription).data, status=status.HTTP_201_CREATED)
        if not created:
            response["Idempotent-Replayed"] = "true"
        return response


class MySubscriptionsApi(generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = SubscriptionSerializer

    def get_queryset(self):
        return selectors.subscriptions_of(self.request.user)


class SubscriptionCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=SubscriptionSerializer)
    def post(self, request, subscription_id: int):
        subscription = subscription_services.subscription_cancel(
            actor=request.user, subscription_id=subscription_id
        )
        return Response(SubscriptionSerializer(subscription).data)


class RecordPaymentInputSerializer(serializers.Serializer):
    amount = MoneyField()
    reference = serializers.CharField(max_length=100)
    received_on = serializers.DateField()


class SubscriptionRecordPaymentApi(APIView):
    @extend_schema(
        request=RecordPaymentInputSerializer,
        responses=SubscriptionSerializer,
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request, subscription_id: int):
        serializer = RecordPaymentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = idempotency_key(request)
        receipt = payment_services.receipt_record(
            actor=request.user,
            subscription_id=subscription_id,
            amount_pence=serializer.validated_data["amount"],
            reference=serializer.validated_data["reference"],
            received_on=serializer.validated_data["received_on"],
            idempotency_key=f"manual:{request.user.pk}:{key}" if key else f"manual:{uuid.uuid4().hex}",
            # An officer records money that reached the issuer's bank account, whatever the
            # subscription's method: it lands in cash at bank, never in Stripe clearing.
            provider="bank_transfer",
        )
        return Response(SubscriptionSerializer(selectors.subscription_get(receipt.subscription_id)).data)


class RefundMarkSentApi(APIView):
    @extend_schema(
        request=None,
        responses=inline_serializer(
            "RefundOut", {"id": serializers.IntegerField(), "status": serializers.CharField()}
        ),
    )
    def post(self, request, refund_id: int):
        refund = payment_services.refund_mark_sent(actor=request.user, refund_id=refund_id)
        return Response(
            {
                "id": refund.pk,
                "status": refund.status,
                "amount": MoneyField().to_representation(refund.amount_pence),
            }
        )


class StripeWebhookAckSerializer(serializers.Serializer):
    received = serializers.BooleanField()
    event = serializers.CharField()
    outcome = serializers.CharField(
        help_text="What we did with it; `in_progress` while another delivery handles it."
    )


class StripeWebhookApi(APIView):
    """Stripe's webhook: no session or token (Stripe signs the raw body instead), so no CSRF either."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Stripe webhook (signed by Stripe)",
        description=(
            "The raw body is verified against `STRIPE_WEBHOOK_SECRET` and the `Stripe-Signature` header "
            "(timestamp at most five minutes old); anything else is 400 `invalid_signature`. Verified events "
            "are stored, then handled once; unknown types are acknowledged and ignored."
        ),
        request={"application/json": OpenApiTypes.OBJECT},
        responses={200: StripeWebhookAckSerializer},
        parameters=[
            OpenApiParameter("Stripe-Signature", str, OpenApiParameter.HEADER, required=True),
        ],
        auth=[],
    )
    def post(self, request):
        event = stripe_client.webhook_event(
            payload=request.body, signature=request.headers.get("Stripe-Signature")
        )
        try:
            record = stripe_webhook_services.stripe_event_receive(event=event)
        except Exception as exc:
            # Stored but not handled: a non-2xx answer makes Stripe deliver it again.
            logger.exception("Stripe event %s could not be handled", event["id"])
            raise WebhookNotHandled(
                "The event was stored and will be handled when Stripe sends it again."
            ) from exc
        return Response(
            {"received": True, "event": record.event_id, "outcome": record.outcome or "in_progress"}
        )


class WebhookNotHandled(ServiceError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "webhook_not_handled"


class BankStatementUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text=(
            "CSV with a header row: date (YYYY-MM-DD or DD/MM/YYYY), amount (pounds; money out is negative), "
            "reference, and optionally description."
        )
    )


_StatementLine = inline_serializer(
    "BankStatementMatchedLine",
    {
        "line": serializers.IntegerField(),
        "subscription": serializers.IntegerField(),
        "issue": serializers.IntegerField(),
        "reference": serializers.CharField(),
        "date": serializers.DateField(),
        "amount": serializers.CharField(),
        "status": serializers.CharField(),
        "received": serializers.CharField(),
        "refund_owed": serializers.CharField(allow_null=True),
        "already_recorded": serializers.BooleanField(),
    },
    many=True,
)


class BankStatementReportSerializer(serializers.Serializer):
    issuer = serializers.IntegerField(source="issuer_id")
    currency = serializers.CharField(default="GBP")
    matched = _StatementLine
    unmatched = inline_serializer(
        "BankStatementUnmatchedLine",
        {
            "line": serializers.IntegerField(),
            "date": serializers.DateField(),
            "amount": serializers.CharField(),
            "reference": serializers.CharField(),
            "description": serializers.CharField(),
            "reason": serializers.CharField(),
        },
        many=True,
    )
    skipped = inline_serializer(
        "BankStatementSkippedLine",
        {"line": serializers.IntegerField(), "reason": serializers.CharField()},
        many=True,
    )
    # DRF's metaclass moves declared fields out of the class, so this does not
    # shadow Serializer.errors; the stubs cannot know that.
    errors = inline_serializer(  # type: ignore[assignment]
        "BankStatementLineError",
        {
            "line": serializers.IntegerField(),
            "code": serializers.CharField(),
            "detail": serializers.CharField(),
        },
        many=True,
    )
    totals = serializers.SerializerMethodField()

    @extend_schema_field(
        inline_serializer(
            "BankStatementTotals",
            {
                "lines": serializers.IntegerField(),
                "matched": serializers.IntegerField(),
                "recorded": serializers.IntegerField(),
                "unmatched": serializers.IntegerField(),
                "skipped": serializers.IntegerField(),
                "errors": serializers.IntegerField(),
                "matched_amount": serializers.CharField(),
                "recorded_amount": serializers.CharField(),
                "unmatched_amount": serializers.CharField(),
            },
        )
    )
    def get_totals(self, report) -> dict:
        return report.totals()


class BankStatementImportApi(APIView):
    """An officer uploads the issuer's bank statement; lines are matched to subscriptions by reference."""

    parser_classes = [MultiPartParser]
    # A statement may be larger than a JSON body; it is read into memory once.
    MAX_BYTES = 5 * 1024 * 1024

    @extend_schema(
        summary="Import a bank statement (CSV) and record the payments it shows",
        description=(
            "multipart/form-data with one file field `file`. Each line is matched to a subscription of this "
            "issuer by its reference; matched lines are recorded as receipts (overpayments owe the excess "
            "back, short payments stay pending), unmatched and malformed lines are listed, never guessed. "
            "Uploading the same statement again records nothing twice."
        ),
        request={"multipart/form-data": BankStatementUploadSerializer},
        responses={200: BankStatementReportSerializer},
    )
    def post(self, request, issuer_id: int):
        gates.require_officer(request.user, issuer_selectors.issuer_get(issuer_id))
        serializer = BankStatementUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        if upload.size > self.MAX_BYTES:
            raise serializers.ValidationError({"file": [f"At most {self.MAX_BYTES // (1024 * 1024)} MB."]})
        report = statement_services.bank_statement_import(
            actor=request.user, issuer_id=issuer_id, content=upload.read()
        )
        return Response(BankStatementReportSerializer(report).data)
