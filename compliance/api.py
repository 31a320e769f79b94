"""HTTP API for the decision log: every allow and deny, with its rule and reason."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated

from bondplatform.query import id_field, query_validated
from bondplatform.schema import ID, refusals
from compliance import selectors
from compliance.models import Decision, Outcome


class DecisionSerializer(serializers.ModelSerializer):
    subject = serializers.SerializerMethodField()

    class Meta:
        model = Decision
        fields = ["id", "decided_at", "rule", "outcome", "reason", "subject", "context"]

    def get_subject(self, decision: Decision) -> dict[str, str]:
        return {"type": decision.subject_type, "id": decision.subject_id}


class DecisionQuerySerializer(serializers.Serializer):
    issuer = id_field()
    rule = serializers.CharField(max_length=60, required=False)
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False)


@refusals(
    {
        401: ["not_authenticated"],
        403: ["not_an_officer_or_auditor", "two_factor_required"],
        404: ["issuer_not_found"],
    }
)
class DecisionListApi(generics.ListAPIView):
    # Refusals in order: 401 nobody signed in, 400 the query, then (from the selector)
    # 404 no such issuer and 403 not an officer, auditor or staff.
    serializer_class = DecisionSerializer
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("issuer", ID, required=True),
            OpenApiParameter("rule", str),
            OpenApiParameter("outcome", str, enum=Outcome.values),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        query = query_validated(self.request, DecisionQuerySerializer)
        return selectors.decision_list(
            actor=self.request.user,
            issuer_id=query["issuer"],
            rule=query.get("rule"),
            outcome=query.get("outcome"),
        )
