"""HTTP API for subscriptions: subscribing to an issue, a resident's own list, cancelling.

Each view validates its input, calls one service and serializes what it returns;
the services check who may act.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from bondplatform.fields import MoneyField
from bondplatform.idempotency import IDEMPOTENCY_HEADER, idempotency_key
from bondplatform.schema import refusals
from investments import selectors
from investments.models import PaymentMethod, Subscription
from investments.services import subscriptions as subscription_services


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


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "By bank transfer",
            value={"amount": "250.00", "payment_method": "bank_transfer"},
            request_only=True,
        )
    ]
)
class SubscribeInputSerializer(serializers.Serializer):
    amount = MoneyField()
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices)


class IssueSubscribeApi(APIView):
    permission_classes = [IsAuthenticated]

    @refusals(
        {
            400: ["invalid_amount"],
            402: ["card_declined"],
            403: ["email_not_verified", "not_a_resident"],
            404: ["issue_not_found"],
            409: ["issue_not_open", "idempotency_key_reused", "payment_provider_conflict"],
            422: [
                "below_minimum",
                "cap_exceeded_per_investor",
                "cap_exceeded_issuer_aggregate",
                "issue_full",
                "not_eligible",
                "payment_method_unavailable",
                "payment_provider_refused",
            ],
            503: ["payment_provider_unavailable"],
        }
    )
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

    @refusals(
        {
            403: ["not_yours"],
            404: ["subscription_not_found"],
            409: ["invalid_state"],
            422: ["cooling_off_expired"],
            503: ["payment_provider_unavailable"],
        }
    )
    @extend_schema(request=None, responses=SubscriptionSerializer)
    def post(self, request, subscription_id: int):
        subscription = subscription_services.subscription_cancel(
            actor=request.user, subscription_id=subscription_id
        )
        return Response(SubscriptionSerializer(subscription).data)
