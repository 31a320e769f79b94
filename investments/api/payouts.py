"""HTTP API for payouts: where a resident is paid, and the officer's batches for the bank."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from bondplatform.errors import NotFound
from bondplatform.fields import MoneyField
from bondplatform.idempotency import IDEMPOTENCY_HEADER, idempotency_key
from bondplatform.money import format_pence
from bondplatform.schema import refusals
from bondplatform.spreadsheets import csv_text
from investments.api.downloads import CsvDownloadApi
from investments.models import PayoutAccount, PayoutBatch
from investments.selectors_servicing import payout_batches_of, payouts_of_batch
from investments.services import payouts as payout_services


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A UK account",
            value={"account_name": "R Ahmed", "sort_code": "60-83-01", "account_number": "20345678"},
            request_only=True,
        )
    ]
)
class PayoutAccountSerializer(serializers.Serializer):
    account_name = serializers.CharField(max_length=70)
    sort_code = serializers.CharField(max_length=12, required=False, allow_blank=True, default="")
    account_number = serializers.CharField(max_length=12, required=False, allow_blank=True, default="")
    iban = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if not attrs.get("iban") and not (attrs.get("sort_code") or attrs.get("account_number")):
            raise serializers.ValidationError(
                {"non_field_errors": ["Give a sort code and account number, or an IBAN."]}
            )
        return attrs


class MyPayoutAccountApi(APIView):
    permission_classes = [IsAuthenticated]

    @refusals({404: ["payout_account_not_found"]})
    @extend_schema(responses=PayoutAccountSerializer)
    def get(self, request):
        account = PayoutAccount.objects.filter(user=request.user).first()
        if account is None:
            raise NotFound("You have not given a payout account yet.", code="payout_account_not_found")
        return Response(PayoutAccountSerializer(account).data)

    @refusals({400: ["invalid_payout_account"]})
    @extend_schema(
        request=PayoutAccountSerializer,
        responses=PayoutAccountSerializer,
        description="`{account_name, sort_code, account_number}` or `{account_name, iban}`; an IBAN is "
        "validated (country, length, checksum), a UK account checked for its shape; 400 "
        "`invalid_payout_account` with a message per field otherwise.",
    )
    def put(self, request):
        serializer = PayoutAccountSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = payout_services.payout_account_set(actor=request.user, **serializer.validated_data)
        return Response(PayoutAccountSerializer(account).data)


class PayoutBatchSerializer(serializers.ModelSerializer):
    interest_run = serializers.IntegerField(source="interest_run_id", allow_null=True)
    payout_count = serializers.IntegerField()
    total = MoneyField(source="total_pence", allow_zero=True)
    owed = MoneyField(source="owed_pence", allow_zero=True, help_text="Not yet sent.")
    without_account = serializers.IntegerField(help_text="Payouts to holders who have given no account yet.")
    currency = serializers.CharField(default="GBP")

    class Meta:
        model = PayoutBatch
        fields = [
            "id",
            "issuer",
            "interest_run",
            "opened_on",
            "status",
            "payout_count",
            "currency",
            "total",
            "owed",
            "without_account",
            "created_at",
            "sent_at",
        ]
        read_only_fields = fields


@refusals(
    {401: ["not_authenticated"], 403: ["not_an_officer", "two_factor_required"], 404: ["issuer_not_found"]}
)
class IssuerPayoutBatchesApi(generics.ListAPIView):
    serializer_class = PayoutBatchSerializer

    def get_queryset(self):
        return payout_batches_of(self.request.user, issuer_id=self.kwargs["issuer_id"])


PAYOUT_CSV_HEADER = [
    "payout_id",
    "holder_name",
    "account_name",
    "sort_code",
    "account_number",
    "iban",
    "amount",
    "currency",
    "reference",
    "kind",
    "status",
    "note",
]


class PayoutBatchCsvApi(CsvDownloadApi):
    @refusals(
        {
            401: ["not_authenticated"],
            403: ["not_an_officer", "two_factor_required"],
            404: ["payout_batch_not_found"],
        }
    )
    @extend_schema(
        operation_id="v1_payout_batches_payouts_csv",
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
        description="One row per payout for the bank's bulk upload. Holders who have given no payout "
        "account are listed too, with empty bank details and a note: owed, never dropped.",
    )
    def get(self, request, batch_id: int):
        batch = payout_services.payout_batch_get_for_officer(request.user, batch_id)
        rows = []
        for row in payouts_of_batch(batch):
            payout, account = row.payout, row.account
            rows.append(
                [
                    payout.pk,
                    row.holder_name,
                    account.account_name if account else "",
                    account.sort_code if account else "",
                    account.account_number if account else "",
                    account.iban if account else "",
                    format_pence(payout.amount_pence),
                    payout.holding.issue.currency,
                    f"BOND{payout.holding.issue_id}-{payout.pk}",
                    payout.kind,
                    payout.status,
                    "" if account else "no payout account given: owed, pay by hand once known",
                ]
            )
        return self.csv_response(csv_text(PAYOUT_CSV_HEADER, rows), f"payout-batch-{batch.pk}.csv")


class PayoutBatchMarkSentApi(APIView):
    @refusals(
        {
            401: ["not_authenticated"],
            403: ["not_an_officer", "two_factor_required"],
            404: ["payout_batch_not_found"],
            409: ["invalid_state", "interest_run_not_completed", "idempotency_key_reused"],
            422: ["asset_lock_violation"],
        }
    )
    @extend_schema(
        request=None,
        responses=PayoutBatchSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        description="The officer has made the payments: the ledger moves the cash (Dr payable, Cr "
        "cash_at_bank), after the asset lock allows it (422 `asset_lock_violation`). Marking a batch "
        "already sent returns it and moves nothing; an `Idempotency-Key` used to mark another batch "
        "sent is refused (409 `idempotency_key_reused`).",
    )
    def post(self, request, batch_id: int):
        batch = payout_services.payout_batch_mark_sent(
            actor=request.user, batch_id=batch_id, idempotency_key=idempotency_key(request)
        )
        return Response(
            PayoutBatchSerializer(
                payout_batches_of(request.user, issuer_id=batch.issuer_id).get(pk=batch.pk)
            ).data
        )
