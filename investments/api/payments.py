"""HTTP API for payments: recording a receipt, marking a refund sent, Stripe's webhook and
bank statements. Each view validates, calls one service, and serializes; the services
check who may act."""

from __future__ import annotations

import logging
import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from bondplatform.errors import ServiceError
from bondplatform.fields import MoneyField
from bondplatform.idempotency import IDEMPOTENCY_HEADER, idempotency_key
from bondplatform.schema import refusals
from investments import selectors
from investments.api.subscriptions import SubscriptionSerializer
from investments.payments import bank_statements, receipts, refunds, stripe_client, webhooks
from issuers import selectors as issuer_selectors

logger = logging.getLogger(__name__)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A transfer received",
            value={"amount": "200.00", "reference": "MB7K2Q9XPD", "received_on": "2026-11-30"},
            request_only=True,
        )
    ]
)
class RecordPaymentInputSerializer(serializers.Serializer):
    amount = MoneyField()
    reference = serializers.CharField(max_length=100)
    received_on = serializers.DateField()


class SubscriptionRecordPaymentApi(APIView):
    permission_classes = [IsAuthenticated]  # who asks before what they send (401 first)

    @refusals(
        {
            401: ["not_authenticated"],
            403: ["not_an_officer", "two_factor_required"],
            404: ["subscription_not_found"],
            400: ["invalid_amount", "invalid_received_on"],
            409: ["idempotency_key_reused", "invalid_state"],
            422: ["reference_mismatch"],
        }
    )
    @extend_schema(
        request=RecordPaymentInputSerializer,
        responses=SubscriptionSerializer,
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request, subscription_id: int):
        # Who may see it before what is sent: 404 for anyone else's or a missing one, 403 for
        # a resident's own, then the body (the service checks the same gate for its other callers).
        selectors.subscription_get_for_officer(subscription_id, actor=request.user)
        serializer = RecordPaymentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = idempotency_key(request)
        receipt = receipts.receipt_record(
            actor=request.user,
            subscription_id=subscription_id,
            amount_pence=serializer.validated_data["amount"],
            reference=serializer.validated_data["reference"],
            received_on=serializer.validated_data["received_on"],
            idempotency_key=f"manual:{request.user.pk}:{key}" if key else f"manual:{uuid.uuid4().hex}",
        )
        return Response(SubscriptionSerializer(selectors.subscription_get(receipt.subscription_id)).data)


class RefundMarkSentApi(APIView):
    permission_classes = [IsAuthenticated]  # who asks before what they send (401 first)

    @refusals(
        {
            401: ["not_authenticated"],
            403: ["not_an_officer", "two_factor_required"],
            404: ["refund_not_found"],
            409: ["invalid_state"],
        }
    )
    @extend_schema(
        description=(
            "An officer has sent a bank-transfer refund by hand. A card refund is the payment "
            "provider's to send: 422 `refund_is_providers`."
        ),
        request=None,
        responses=inline_serializer(
            "RefundOut", {"id": serializers.IntegerField(), "status": serializers.CharField()}
        ),
    )
    def post(self, request, refund_id: int):
        refund = refunds.refund_mark_sent(actor=request.user, refund_id=refund_id)
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

    @refusals({400: ["invalid_signature"], 503: ["webhook_not_handled"]}, signed_in=False)
    @extend_schema(
        summary="Stripe webhook (signed by Stripe)",
        description=(
            "The raw body is verified against `STRIPE_WEBHOOK_SECRET` and the `Stripe-Signature` header "
            "(timestamp at most five minutes old, and not more than five minutes ahead); anything else is 400 "
            "`invalid_signature`. A signed body nested more than 64 deep is 400 `malformed_request`. Verified events "
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
            record = webhooks.stripe_event_receive(event=event)
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


class BankStatementHandRecordedReceiptSerializer(serializers.Serializer):
    receipt = serializers.IntegerField(source="receipt_id")
    amount = MoneyField(source="amount_pence")
    received_on = serializers.DateField()


class BankStatementMatchedLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(source="number")
    subscription = serializers.IntegerField(source="subscription_id")
    issue = serializers.IntegerField(source="issue_id")
    reference = serializers.CharField()
    date = serializers.DateField()
    amount = MoneyField(source="amount_pence")
    status = serializers.CharField()
    received = MoneyField(source="received_pence")
    refund_owed = MoneyField(source="refund_owed_pence", allow_null=True)
    already_recorded = serializers.BooleanField()
    matched_to_hand_recorded_receipt = BankStatementHandRecordedReceiptSerializer(
        source="hand_recorded",
        allow_null=True,
        help_text=(
            "The receipt an officer recorded by hand that this line is (the same subscription and amount, "
            "received within a week of the line's date): the line claimed it, now or in an earlier upload, "
            "and nothing new was recorded for it (`already_recorded` is true). Null otherwise."
        ),
    )
    unclaimed_hand_recorded_receipts = BankStatementHandRecordedReceiptSerializer(
        source="unclaimed_hand_recorded",
        many=True,
        help_text=(
            "For a line recorded from the statement: the receipts of its subscription recorded by hand that "
            "no statement line has claimed (another amount, or more than a week away). One may be this line "
            "with a mistyped amount or date, now counted twice: an officer should look."
        ),
    )


class BankStatementUnmatchedLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(source="number")
    date = serializers.DateField()
    amount = MoneyField(source="amount_pence")
    reference = serializers.CharField()
    description = serializers.CharField()
    reason = serializers.CharField()


class BankStatementSkippedLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(source="number")
    reason = serializers.CharField()


class BankStatementLineErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(source="number")
    code = serializers.CharField()
    detail = serializers.CharField()


class BankStatementTotalsSerializer(serializers.Serializer):
    lines = serializers.IntegerField()
    matched = serializers.IntegerField()
    recorded = serializers.IntegerField()
    unmatched = serializers.IntegerField()
    skipped = serializers.IntegerField()
    errors = serializers.IntegerField()  # type: ignore[assignment]  # see BankStatementReportSerializer
    matched_amount = MoneyField(source="matched_pence", allow_zero=True)
    recorded_amount = MoneyField(source="recorded_pence", allow_zero=True)
    unmatched_amount = MoneyField(source="unmatched_pence", allow_zero=True)


class BankStatementReportSerializer(serializers.Serializer):
    # `matched` has always come first in this response; kept so the JSON stays byte for byte.
    matched = BankStatementMatchedLineSerializer(many=True)
    issuer = serializers.IntegerField(source="issuer_id")
    currency = serializers.CharField(default="GBP")
    unmatched = BankStatementUnmatchedLineSerializer(many=True)
    skipped = BankStatementSkippedLineSerializer(many=True)
    # DRF's metaclass moves declared fields out of the class, so this does not
    # shadow Serializer.errors; the stubs cannot know that.
    errors = BankStatementLineErrorSerializer(many=True)  # type: ignore[assignment]
    totals = BankStatementTotalsSerializer(read_only=True)


class BankStatementImportApi(APIView):
    """An officer uploads the issuer's bank statement; lines are matched to subscriptions by reference."""

    parser_classes = [MultiPartParser]
    # Signed in before the body is read: the file (up to UPLOAD_MAX_FILE_SIZE, refused with
    # 413 file_too_large as it streams in past that) is read into memory once.
    permission_classes = [IsAuthenticated]

    @refusals(
        {
            401: ["not_authenticated"],
            403: ["not_an_officer", "two_factor_required"],
            404: ["issuer_not_found"],
            400: ["invalid_statement"],
        }
    )
    @extend_schema(
        summary="Import a bank statement (CSV) and record the payments it shows",
        description=(
            "multipart/form-data with one file field `file`. Each line is matched to a subscription of this "
            "issuer by its reference; matched lines are recorded as receipts (overpayments owe the excess "
            "back, short payments stay pending), unmatched and malformed lines are listed, never guessed. "
            "Uploading the same statement again records nothing twice. A line that an officer already "
            "recorded by hand (a receipt of the same subscription and amount, received within a week of the "
            "line's date, not yet claimed by another line) claims that receipt instead of being recorded "
            "again: see `matched_to_hand_recorded_receipt`."
        ),
        request={"multipart/form-data": BankStatementUploadSerializer},
        responses={200: BankStatementReportSerializer},
    )
    def post(self, request, issuer_id: int):
        issuer_selectors.issuer_get_for_officer(issuer_id, actor=request.user)  # who may, before the file
        serializer = BankStatementUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        report = bank_statements.bank_statement_import(
            actor=request.user, issuer_id=issuer_id, content=upload.read()
        )
        return Response(BankStatementReportSerializer(report).data)
