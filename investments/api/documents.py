"""HTTP API for the documents people keep: bond certificates, annual statements, the register as at a date.

Refusals: 401 nobody signed in; for a holding's certificate 404 no such
holding, then 403 anyone but its holder and its issuer's officers and
auditors; for the register 400 a malformed date (`invalid_query`), 404 no
such issue, 403 anyone but its issuer's officers and auditors, then 400 a
date to come; for a statement 400 `invalid_tax_year`. Each declares them
with `@refusals`, so the schema says so too.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from bondplatform.fields import MoneyField
from bondplatform.money import format_pence
from bondplatform.query import query_validated
from bondplatform.schema import refusals
from investments.api.downloads import CsvDownloadApi, PdfDownloadApi
from investments.documents.annual_statements import (
    FIRST_TAX_YEAR,
    AnnualStatement,
    annual_statement_for,
    annual_statement_pdf,
    checkpoint_facts,
    tax_year_parse,
)
from investments.documents.certificates import certificate_get_for, certificate_render
from investments.documents.register import register_as_at, register_csv
from ledger.canonical import format_date, format_timestamp

YEAR_PARAM = OpenApiParameter(
    "year",
    {"type": "integer", "minimum": FIRST_TAX_YEAR, "maximum": 9999},
    required=True,
    description="The UK tax year by its first calendar year: 2026 is 6 April 2026 to 5 April 2027; "
    f"from {FIRST_TAX_YEAR} to the current one.",
)

# A missing, junk or out-of-range year: one code, whose detail says which years there are.
STATEMENT_REFUSALS: dict[int, list[str]] = {400: ["invalid_tax_year"], 401: ["not_authenticated"]}


class TaxYearQuerySerializer(serializers.Serializer):
    """`year`, read by `tax_year_parse`, so that a missing, junk or out-of-range year answers
    400 `invalid_tax_year` alike."""

    year = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)

    def validate(self, attrs):
        return {"year": tax_year_parse(attrs.get("year"))}


class HoldingCertificatePdfApi(PdfDownloadApi):
    permission_classes = [IsAuthenticated]

    @refusals(
        {
            401: ["not_authenticated"],
            403: ["not_an_officer_or_auditor", "two_factor_required"],
            404: ["holding_not_found"],
        }
    )
    @extend_schema(
        operation_id="v1_holding_certificate_pdf",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        description="The bond certificate: for the holder, and the issuer's officers and auditors.",
    )
    def get(self, request, holding_id: int):
        certificate = certificate_get_for(actor=request.user, holding_id=holding_id)
        return self.pdf_response(
            certificate_render(certificate), f"certificate-{certificate.certificate_number}.pdf"
        )


def _statement(request) -> AnnualStatement:
    year = query_validated(request, TaxYearQuerySerializer)["year"]
    return annual_statement_for(actor=request.user, year=year)


class MyStatementPdfApi(PdfDownloadApi):
    permission_classes = [IsAuthenticated]

    @refusals(STATEMENT_REFUSALS)
    @extend_schema(
        operation_id="v1_me_statement_pdf",
        parameters=[YEAR_PARAM],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        description="Your annual statement for a UK tax year, with the certificate of interest and tax "
        "deducted; 400 `invalid_tax_year`.",
    )
    def get(self, request):
        statement = _statement(request)
        return self.pdf_response(annual_statement_pdf(statement), f"statement-{statement.year}.pdf")


def _pence(amount: int) -> str:
    return format_pence(amount)


def _line_json(line) -> dict[str, Any]:
    entry = line.entry
    return {
        "sequence": entry.sequence,
        "value_date": format_date(entry.value_date),
        "kind": entry.kind,
        "description": entry.description,
        "principal_change": _pence(line.principal_change_pence),
        "subscription": _pence(line.subscription_pence),
        "interest_gross": _pence(line.interest_gross_pence),
        "tax_withheld": _pence(line.tax_withheld_pence),
        "interest_net": _pence(line.interest_net_pence),
        "interest_reinvested": _pence(line.interest_reinvested_pence),
        "interest_waived": _pence(line.interest_waived_pence),
        "redemption": _pence(line.redemption_pence),
        "paid_out": _pence(line.paid_out_pence),
        # Every field the entry's hash covers (ledger.canonical), so the line can be checked offline.
        "entry": {
            "issuer": entry.issuer_id,
            "sequence": entry.sequence,
            "kind": entry.kind,
            "value_date": format_date(entry.value_date),
            "description": entry.description,
            "idempotency_key": entry.idempotency_key,
            "reverses": entry.reverses.sequence if entry.reverses_id else None,
            "recorded_at": format_timestamp(entry.recorded_at),
            "postings": [[account, currency, pence] for account, currency, pence in line.postings],
            "prev_hash": entry.prev_hash,
            "hash": entry.hash,
        },
        "inclusion_proof": line.inclusion_proof,
    }


def annual_statement_json(statement: AnnualStatement) -> dict[str, Any]:
    holdings = []
    for h in statement.holdings:
        issue = h.holding.issue
        holdings.append(
            {
                "holding": h.holding.pk,
                "issue": issue.pk,
                "issue_name": issue.name,
                "issuer": issue.issuer_id,
                "issuer_name": issue.issuer.name,
                "currency": h.currency,
                "opening_principal": _pence(h.opening_principal_pence),
                "subscriptions": _pence(h.total("subscription")),
                "interest_gross": _pence(h.total("interest_gross")),
                "tax_withheld": _pence(h.total("tax_withheld")),
                "interest_net": _pence(h.total("interest_net")),
                "interest_reinvested": _pence(h.total("interest_reinvested")),
                "interest_waived": _pence(h.total("interest_waived")),
                "redemptions": _pence(h.total("redemption")),
                "paid_out": _pence(h.total("paid_out")),
                "closing_principal": _pence(h.closing_principal_pence),
                "lines": [_line_json(line) for line in h.lines],
            }
        )
    return {
        "year": statement.year,
        "tax_year": {"start": format_date(statement.start), "end": format_date(statement.end)},
        "holder": {"name": statement.holder_name, "postcode": statement.holder_postcode},
        "generated_at": format_timestamp(statement.generated_at),
        "holdings": holdings,
        "certificate_of_interest": [
            {
                "issuer": c.issuer.pk,
                "issuer_name": c.issuer.name,
                "registration_number": c.issuer.registration_number,
                "currency": c.currency,
                "interest_gross": _pence(c.gross_pence),
                "tax_deducted": _pence(c.tax_pence),
                "interest_net": _pence(c.net_pence),
                "interest_waived": _pence(c.waived_pence),
            }
            for c in statement.certificate
        ],
        "checkpoints": [
            checkpoint_facts(c) for c in sorted(statement.checkpoints.values(), key=lambda c: c.issuer_id)
        ],
    }


class _LineSerializer(serializers.Serializer):
    """Documentation of a statement line (the view builds the JSON itself)."""

    sequence = serializers.IntegerField()
    value_date = serializers.DateField()
    kind = serializers.CharField()
    description = serializers.CharField()
    principal_change = MoneyField(allow_zero=True, help_text="Signed: + allotted or reinvested, - redeemed.")
    subscription = MoneyField(allow_zero=True)
    interest_gross = MoneyField(allow_zero=True)
    tax_withheld = MoneyField(allow_zero=True)
    interest_net = MoneyField(allow_zero=True)
    interest_reinvested = MoneyField(allow_zero=True)
    interest_waived = MoneyField(allow_zero=True)
    redemption = MoneyField(allow_zero=True)
    paid_out = MoneyField(allow_zero=True)
    entry = serializers.DictField(help_text="Every field the entry's hash covers (ledger.canonical).")
    inclusion_proof = serializers.DictField(
        allow_null=True,
        help_text="RFC 9162 audit path of the entry at its issuer's latest checkpoint "
        "{checkpoint_sequence, tree_size, leaf_index, audit_path}; null until a checkpoint covers it.",
    )


class _HoldingYearSerializer(serializers.Serializer):
    holding = serializers.IntegerField()
    issue = serializers.IntegerField()
    issue_name = serializers.CharField()
    issuer = serializers.IntegerField()
    issuer_name = serializers.CharField()
    currency = serializers.CharField()
    opening_principal = MoneyField(allow_zero=True)
    subscriptions = MoneyField(allow_zero=True)
    interest_gross = MoneyField(allow_zero=True)
    tax_withheld = MoneyField(allow_zero=True)
    interest_net = MoneyField(allow_zero=True)
    interest_reinvested = MoneyField(allow_zero=True)
    interest_waived = MoneyField(allow_zero=True)
    redemptions = MoneyField(allow_zero=True)
    paid_out = MoneyField(allow_zero=True)
    closing_principal = MoneyField(allow_zero=True)
    lines = _LineSerializer(many=True)


class _CertificateLineSerializer(serializers.Serializer):
    issuer = serializers.IntegerField()
    issuer_name = serializers.CharField()
    registration_number = serializers.CharField()
    currency = serializers.CharField()
    interest_gross = MoneyField(allow_zero=True)
    tax_deducted = MoneyField(allow_zero=True)
    interest_net = MoneyField(allow_zero=True)
    interest_waived = MoneyField(allow_zero=True)


class AnnualStatementSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    tax_year = serializers.DictField(child=serializers.DateField())
    holder = serializers.DictField(child=serializers.CharField())
    generated_at = serializers.CharField()
    holdings = _HoldingYearSerializer(many=True)
    certificate_of_interest = _CertificateLineSerializer(many=True)
    checkpoints = serializers.ListField(child=serializers.DictField())


class MyStatementJsonApi(APIView):
    permission_classes = [IsAuthenticated]

    @refusals(STATEMENT_REFUSALS)
    @extend_schema(
        operation_id="v1_me_statement_json",
        parameters=[YEAR_PARAM],
        responses=AnnualStatementSerializer,
        description="The annual statement's lines with each entry in full and its inclusion proof.",
    )
    def get(self, request):
        response = Response(annual_statement_json(_statement(request)))
        response["Cache-Control"] = "private, no-store"
        return response


class RegisterQuerySerializer(serializers.Serializer):
    as_at = serializers.DateField(required=False, help_text="Default: today.")


class IssueRegisterCsvApi(CsvDownloadApi):
    permission_classes = [IsAuthenticated]

    @refusals(
        {
            401: ["not_authenticated"],
            403: ["not_an_officer_or_auditor", "two_factor_required"],
            404: ["issue_not_found"],
        }
    )
    @extend_schema(
        operation_id="v1_issue_register_csv",
        parameters=[
            OpenApiParameter("as_at", OpenApiTypes.DATE, required=False, description="Default: today.")
        ],
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
        description="The register of bondholders at the end of a day: officers and auditors. 400 "
        "`invalid_query` for a day to come.",
    )
    def get(self, request, issue_id: int):
        as_at = query_validated(request, RegisterQuerySerializer).get("as_at")
        if as_at is None:
            as_at = timezone.localdate()
        issue, rows = register_as_at(actor=request.user, issue_id=issue_id, as_at=as_at)
        return self.csv_response(register_csv(issue, rows, as_at=as_at), f"register-{issue.pk}-{as_at}.csv")
