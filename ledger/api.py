"""HTTP API for the ledger: read-only, thin, gated by `issuers.gates.require_ledger_reader` (in the selector).

(Read-only but for one thing: a statement signs the chain head at its cut-off.)

Order of refusals: 401 nobody signed in (`IsAuthenticated`), 400 a missing or
malformed `issuer`, then 404 no such issuer and 403 not an officer or auditor of
it (or staff), both from `selectors.ledger_issuer_get`.
Every entry carries all that its hash covers, in the canonical formats, so an
auditor can recompute the chain from the API's output alone.
"""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from bondplatform.money import format_pence
from bondplatform.pagination import BoundedLimitOffsetPagination
from bondplatform.query import id_field, query_validated
from bondplatform.schema import ID, MONEY_OUT, refusals
from issuers.selectors import issuer_get
from ledger import selectors
from ledger.canonical import format_timestamp
from ledger.models import LedgerEntry, LedgerPosting
from ledger.signing import checkpoint_message, public_key_info
from ledger.statements import (
    PDF_MAX_POSTINGS,
    statement_build,
    statement_csv_lines,
    statement_filename,
    statement_pdf,
)
from ledger.verify import ledger_verify

ISSUER_PARAM = OpenApiParameter("issuer", ID, required=True, description="The issuer's id.")


class IssuerQuerySerializer(serializers.Serializer):
    issuer = id_field()


class EntryQuerySerializer(IssuerQuerySerializer):
    since = serializers.DateField(required=False, help_text="Value date from (inclusive).")
    until = serializers.DateField(required=False, help_text="Value date to (inclusive).")

    def validate(self, attrs):
        since, until = attrs.get("since"), attrs.get("until")
        if since and until and since > until:
            raise serializers.ValidationError({"until": ["Must not be before since."]})
        return attrs


class _BooksApi(APIView):
    # A read of one issuer's books: someone signed in first (401), before their query is read.
    permission_classes = [IsAuthenticated]


def _readable_issuer(request, query_serializer: type[serializers.Serializer]):
    """Validate the query, then the selector finds the issuer and checks the reader; returns
    (issuer, validated query)."""
    query = query_validated(request, query_serializer)
    issuer = selectors.ledger_issuer_get(query["issuer"], actor=request.user)
    return issuer, query


class PostingOutSerializer(serializers.Serializer):
    account = serializers.CharField(source="account.code")
    debit = serializers.SerializerMethodField()
    credit = serializers.SerializerMethodField()
    currency = serializers.CharField()

    @extend_schema_field(MONEY_OUT)
    def get_debit(self, posting: LedgerPosting) -> str:
        return format_pence(posting.debit_pence)

    @extend_schema_field(MONEY_OUT)
    def get_credit(self, posting: LedgerPosting) -> str:
        return format_pence(posting.credit_pence)


class EntryOutSerializer(serializers.Serializer):
    sequence = serializers.IntegerField()
    kind = serializers.CharField()
    value_date = serializers.DateField()
    description = serializers.CharField()
    idempotency_key = serializers.CharField()
    reverses = serializers.SerializerMethodField(help_text="Sequence of the entry this one reverses.")
    recorded_at = serializers.SerializerMethodField(help_text="UTC, as hashed.")
    postings = PostingOutSerializer(many=True)
    prev_hash = serializers.CharField()
    hash = serializers.CharField()

    def get_reverses(self, entry: LedgerEntry) -> int | None:
        return entry.reverses.sequence if entry.reverses is not None else None

    def get_recorded_at(self, entry: LedgerEntry) -> str:
        return format_timestamp(entry.recorded_at)


class HeadSerializer(serializers.Serializer):
    sequence = serializers.IntegerField()
    hash = serializers.CharField()


ENTRY_PARAMS = [
    ISSUER_PARAM,
    OpenApiParameter("since", OpenApiTypes.DATE, required=False, description="Value date from."),
    OpenApiParameter("until", OpenApiTypes.DATE, required=False, description="Value date to."),
]


class LedgerEntriesApi(_BooksApi):
    """The issuer's entries. The apps above may narrow them to a set of accounts
    by subclassing: `query_serializer` for their parameters and `account_codes`
    to turn them into account codes (see `investments.api.ledger`)."""

    pagination_class = BoundedLimitOffsetPagination
    query_serializer: type[serializers.Serializer] = EntryQuerySerializer

    def account_codes(self, issuer, query: dict) -> list[str] | None:
        return None

    @refusals(
        {
            401: ["not_authenticated"],
            403: ["not_an_officer_or_auditor", "two_factor_required"],
            404: ["issuer_not_found"],
        }
    )
    @extend_schema(parameters=ENTRY_PARAMS, responses=EntryOutSerializer(many=True))
    def get(self, request):
        issuer, query = _readable_issuer(request, self.query_serializer)
        entries = selectors.entry_list(
            issuer=issuer,
            account_codes=self.account_codes(issuer, query),
            since=query.get("since"),
            until=query.get("until"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(entries, request, view=self)
        return paginator.get_paginated_response(EntryOutSerializer(page, many=True).data)


class BalanceRowSerializer(serializers.Serializer):
    account = serializers.CharField()
    account_type = serializers.CharField()
    normal_side = serializers.CharField()
    currency = serializers.CharField()
    debit = serializers.SerializerMethodField()
    credit = serializers.SerializerMethodField()

    @extend_schema_field(MONEY_OUT)
    def get_debit(self, row) -> str:
        return format_pence(row.debit_pence)

    @extend_schema_field(MONEY_OUT)
    def get_credit(self, row) -> str:
        return format_pence(row.credit_pence)


@extend_schema_field(MONEY_OUT)
class _MoneyText(serializers.CharField):
    """Money already formatted ("250.00")."""


class BalanceTotalSerializer(serializers.Serializer):
    currency = serializers.CharField()
    debit = _MoneyText()
    credit = _MoneyText()


class TrialBalanceSerializer(serializers.Serializer):
    issuer = serializers.IntegerField()
    accounts = BalanceRowSerializer(many=True)
    totals = BalanceTotalSerializer(many=True)
    balanced = serializers.BooleanField()
    head = HeadSerializer()


class LedgerBalancesApi(_BooksApi):
    @refusals(
        {
            401: ["not_authenticated"],
            403: ["not_an_officer_or_auditor", "two_factor_required"],
            404: ["issuer_not_found"],
        }
    )
    @extend_schema(parameters=[ISSUER_PARAM], responses=TrialBalanceSerializer)
    def get(self, request):
        issuer, _ = _readable_issuer(request, IssuerQuerySerializer)
        sequence, digest = selectors.ledger_head(issuer=issuer)
        balance = selectors.trial_balance(issuer=issuer)
        totals = [
            {"currency": currency, "debit": format_pence(debits), "credit": format_pence(credits)}
            for currency, (debits, credits) in sorted(balance.totals.items())
        ]
        data = {
            "issuer": issuer.pk,
            "accounts": BalanceRowSerializer(balance.rows, many=True).data,
            "totals": totals,
            "balanced": balance.balanced,
            "head": {"sequence": sequence, "hash": digest},
        }
        return Response(data)


class VerificationSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    entries_checked = serializers.IntegerField()
    head = HeadSerializer()
    first_invalid_sequence = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_blank=True)


class LedgerVerifyApi(_BooksApi):
    @refusals(
        {
            401: ["not_authenticated"],
            403: ["not_an_officer_or_auditor", "two_factor_required"],
            404: ["issuer_not_found"],
        }
    )
    @extend_schema(parameters=[ISSUER_PARAM], responses=VerificationSerializer)
    def get(self, request):
        issuer, _ = _readable_issuer(request, IssuerQuerySerializer)
        result = ledger_verify(issuer)
        return Response(
            {
                "valid": result.valid,
                "entries_checked": result.entries_checked,
                "head": {"sequence": result.head_sequence, "hash": result.head_hash},
                "first_invalid_sequence": result.first_invalid_sequence,
                "reason": result.reason,
            }
        )


class CheckpointSerializer(serializers.Serializer):
    issuer = serializers.IntegerField(source="issuer_id")
    sequence = serializers.IntegerField()
    hash = serializers.CharField()
    signed_at = serializers.SerializerMethodField()
    algorithm = serializers.CharField()
    key_id = serializers.CharField()
    signature = serializers.CharField(help_text="Hex Ed25519 signature over signed_message (ASCII).")
    signed_message = serializers.SerializerMethodField()

    def get_signed_at(self, checkpoint) -> str:
        return format_timestamp(checkpoint.signed_at)

    def get_signed_message(self, checkpoint) -> str:
        return checkpoint_message(checkpoint).decode("ascii")


class PublicKeyQuerySerializer(serializers.Serializer):
    issuer = id_field(required=False)


class LedgerPublicKeyApi(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    @refusals({404: ["issuer_not_found"]}, signed_in=False)
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "issuer", ID, required=False, description="Also return this issuer's latest checkpoint."
            )
        ],
        responses=inline_serializer(
            "LedgerPublicKey",
            {
                "algorithm": serializers.CharField(),
                "key_id": serializers.CharField(),
                "public_key_hex": serializers.CharField(),
                "public_key_base64": serializers.CharField(),
                "public_key_pem": serializers.CharField(),
                "latest_checkpoint": CheckpointSerializer(allow_null=True),
            },
        ),
    )
    def get(self, request):
        query = query_validated(request, PublicKeyQuerySerializer)
        key = public_key_info()
        data: dict[str, object] = {
            "algorithm": key.algorithm,
            "key_id": key.key_id,
            "public_key_hex": key.public_key_hex,
            "public_key_base64": key.public_key_base64,
            "public_key_pem": key.public_key_pem,
            "latest_checkpoint": None,
        }
        issuer_id = query.get("issuer")
        if issuer_id is not None:
            checkpoint = selectors.checkpoint_latest(issuer=issuer_get(issuer_id))
            data["latest_checkpoint"] = CheckpointSerializer(checkpoint).data if checkpoint else None
        return Response(data)


class StatementQuerySerializer(IssuerQuerySerializer):
    """`issuer`, and `from` and `to` (names Python cannot declare as attributes)."""

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False)
        fields["to"] = serializers.DateField(required=False)
        return fields

    def validate(self, attrs):
        start, end = attrs.get("from"), attrs.get("to")
        if start and end and start > end:
            raise serializers.ValidationError({"to": ["Must not be before from."]})
        return attrs


STATEMENT_PARAMS = [
    ISSUER_PARAM,
    OpenApiParameter(
        "from",
        OpenApiTypes.DATE,
        required=False,
        description="First day (UTC) on which entries were recorded; default: the ledger's start.",
    ),
    OpenApiParameter(
        "to", OpenApiTypes.DATE, required=False, description="Last day (UTC), inclusive; default: today."
    ),
]


class _DownloadOrJsonError(BaseContentNegotiation):
    """A download answers in its own format whatever the Accept header says, and
    a refusal in JSON, like every other error: so `Accept: text/csv` is no 406."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class _StatementDownloadApi(_BooksApi):
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _DownloadOrJsonError

    def _statement(self, request):
        issuer, query = _readable_issuer(request, StatementQuerySerializer)
        return statement_build(issuer=issuer, date_from=query.get("from"), date_to=query.get("to"))

    @staticmethod
    def _as_attachment(response: HttpResponse | StreamingHttpResponse, filename: str):
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "private, no-store"
        return response


class LedgerStatementCsvApi(_StatementDownloadApi):
    @refusals(
        {
            401: ["not_authenticated"],
            403: ["not_an_officer_or_auditor", "two_factor_required"],
            404: ["issuer_not_found"],
            422: ["ledger_invalid"],
        }
    )
    @extend_schema(
        operation_id="v1_ledger_statement_csv",
        parameters=STATEMENT_PARAMS,
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
        description="The entries recorded in the period, one row per posting, with the chain hashes and "
        "the service's signature in leading `# key: value` lines; `tools/verify_statement.py` checks it.",
    )
    def get(self, request):
        statement = self._statement(request)
        response = StreamingHttpResponse(
            statement_csv_lines(statement), content_type="text/csv; charset=utf-8"
        )
        return self._as_attachment(response, statement_filename(statement, "csv"))


class LedgerStatementPdfApi(_StatementDownloadApi):
    @refusals(
        {
            401: ["not_authenticated"],
            403: ["not_an_officer_or_auditor", "two_factor_required"],
            404: ["issuer_not_found"],
            400: ["statement_too_large"],
            422: ["ledger_invalid"],
        }
    )
    @extend_schema(
        operation_id="v1_ledger_statement_pdf",
        parameters=STATEMENT_PARAMS,
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        description="The same statement for people to read; 400 `statement_too_large` past "
        f"{PDF_MAX_POSTINGS:,} postings (ask for the CSV or a shorter period).",
    )
    def get(self, request):
        statement = self._statement(request)
        response = HttpResponse(statement_pdf(statement), content_type="application/pdf")
        return self._as_attachment(response, statement_filename(statement, "pdf"))
