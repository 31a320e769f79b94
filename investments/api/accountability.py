"""HTTP API for horizontal accountability: what an issue's money was used for, and who took part.

Both are public: the community checks the mutual. Uses of funds name purposes
and the ledger entry that paid them, never the payee (who may be a person);
the participation audit shows no group of fewer than 5 investors
(`investments.participation`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from bondplatform.fields import MoneyField
from bondplatform.schema import refusals
from compliance.api_outflows import LedgerEntryRefSerializer
from investments import selectors
from investments.models import UseOfFunds
from investments.selectors_accountability import participation_of, uses_of_funds_of
from investments.services.accountability import use_of_funds_report
from issuers.selectors import issuer_get


def _web_address(value: str) -> None:
    if value and not value.lower().startswith(("https://", "http://")):
        raise serializers.ValidationError("A web address starting https://.")


class UseOfFundsInSerializer(serializers.Serializer):
    amount = MoneyField()
    purpose = serializers.CharField(max_length=500)
    spent_on = serializers.DateField()
    evidence_url = serializers.URLField(
        max_length=500, allow_blank=True, default="", validators=[_web_address]
    )
    ledger_sequence = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        help_text="The sequence, in the issuer's ledger, of the distribution that paid it "
        "(a payment for full consideration or a transfer to another asset-locked body).",
    )


class UseOfFundsSerializer(serializers.ModelSerializer):
    amount = MoneyField(source="amount_pence")
    currency = serializers.CharField(source="issue.currency")
    evidence_url = serializers.URLField(read_only=True, allow_blank=True, help_text="Blank without one.")
    ledger_entry = LedgerEntryRefSerializer()

    class Meta:
        model = UseOfFunds
        fields = [
            "id",
            "issue",
            "amount",
            "currency",
            "purpose",
            "spent_on",
            "evidence_url",
            "ledger_entry",
            "reported_at",
        ]
        read_only_fields = fields


@refusals({404: ["issue_not_found"]})
class IssueUsesOfFundsApi(generics.ListAPIView):
    """GET (anyone): what the issue's money was used for. POST (an officer): report a use."""

    serializer_class = UseOfFundsSerializer

    def get_queryset(self):
        issue = selectors.issue_get_for(self.kwargs["issue_id"], actor=self.request.user)
        return uses_of_funds_of(issue)

    @refusals(
        {
            400: ["invalid_amount", "not_a_spending_entry"],
            401: ["not_authenticated"],
            403: ["not_an_officer", "two_factor_required"],
            409: ["no_funds_raised"],
            422: ["exceeds_ledger_entry", "exceeds_funds_raised"],
        }
    )
    @extend_schema(
        request=UseOfFundsInSerializer,
        responses={201: UseOfFundsSerializer},
        description="Tied to the ledger entry that paid it: a distribution already made (400 "
        "`not_a_spending_entry` otherwise). 422 `exceeds_ledger_entry` if the uses reported against that "
        "entry would add up to more than it paid, `exceeds_funds_raised` if the issue's to more than it "
        "raised; 409 `no_funds_raised` for an issue that kept no money.",
    )
    def post(self, request, issue_id: int):
        # Who asks before what they send: 404, 401 and 403 come before a 400 for the body.
        selectors.issue_get_for_officer(issue_id, actor=request.user)
        serializer = UseOfFundsInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        use = use_of_funds_report(
            actor=request.user, issue_id=issue_id, amount_pence=data.pop("amount"), **data
        )
        return Response(UseOfFundsSerializer(use).data, status=status.HTTP_201_CREATED)


@extend_schema_field(OpenApiTypes.STR)
class FractionShareField(serializers.Field):
    """A share from 0 to 1 as a string with two decimals ("0.40"), rounded half-even; output only."""

    def to_representation(self, value: Fraction) -> str:
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        return str(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))


class DistrictSerializer(serializers.Serializer):
    district = serializers.CharField(help_text='A postcode district ("S1"), or "other".')
    investors = serializers.IntegerField(help_text="At least 5.")

    def to_representation(self, instance):
        district, investors = instance
        return {"district": district, "investors": investors}


class SubscriptionSizesSerializer(serializers.Serializer):
    lower_quartile = MoneyField(source="lower_quartile_pence", allow_null=True)
    median = MoneyField(source="median_pence", allow_null=True)
    upper_quartile = MoneyField(source="upper_quartile_pence", allow_null=True)
    share_under_500 = FractionShareField(allow_null=True)


class ParticipationSerializer(serializers.Serializer):
    issuer = serializers.IntegerField()
    currency = serializers.CharField()
    area = serializers.ListField(
        child=serializers.CharField(), help_text="The postcode prefixes its offers have been open to."
    )
    minimum_group = serializers.IntegerField(help_text="No figure counts fewer investors than this.")
    investor_count = serializers.IntegerField(allow_null=True, help_text="Null for 1 to 4.")
    districts = DistrictSerializer(many=True, help_text="Districts of fewer than 5 merged into other.")
    subscription_sizes = SubscriptionSizesSerializer(
        help_text="Over each investor's money in the issuer; null where showing it would show a group under 5."
    )
    first_time_investors = serializers.IntegerField(allow_null=True)
    local_share = FractionShareField(
        allow_null=True, help_text="Share of the money that came from the issuer's area (null without one)."
    )


class IssuerParticipationApi(generics.GenericAPIView):
    serializer_class = ParticipationSerializer
    pagination_class = None

    @refusals({404: ["issuer_not_found"]}, signed_in=False)
    @extend_schema(
        responses=ParticipationSerializer,
        description="Anyone: how broad and local the issuer's ownership is, never showing a group of "
        "fewer than 5 investors.",
    )
    def get(self, request, issuer_id: int):
        return Response(ParticipationSerializer(participation_of(issuer_get(issuer_id))).data)
