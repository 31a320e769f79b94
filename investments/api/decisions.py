"""`compliance/decisions/?issue=` (and `.csv`): the decision log, narrowed to one bond issue.

The decision log knows nothing of bonds; which decisions concern an issue (its
subscriptions, holdings, runs, refunds and payouts) is this app's knowledge
(`selectors_accountability.decision_subjects_of_issue`), so the narrowing is
added here, as `investments.api.ledger` does for the ledger's entries.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from compliance.api import (
    CSV_SCHEMA,
    DECISION_PARAMS,
    DecisionCsvApi,
    DecisionListApi,
    DecisionQuerySerializer,
)
from investments.models import BondIssue
from investments.selectors_accountability import decision_subjects_of_issue

ISSUE_PARAM = OpenApiParameter(
    "issue", int, required=False, description="Only the decisions about this bond issue."
)


class IssueDecisionQuerySerializer(DecisionQuerySerializer):
    issue = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        issue = attrs.get("issue")
        if issue is not None and not BondIssue.objects.filter(pk=issue, issuer_id=attrs["issuer"]).exists():
            raise serializers.ValidationError({"issue": ["No such issue of this issuer."]})
        return attrs


class _ByIssue:
    query_serializer: type[serializers.Serializer] = IssueDecisionQuerySerializer

    def subjects(self, query):
        issue = query.get("issue")
        return None if issue is None else decision_subjects_of_issue(issue)


class IssueDecisionListApi(_ByIssue, DecisionListApi):
    @extend_schema(parameters=[*DECISION_PARAMS, ISSUE_PARAM])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class IssueDecisionCsvApi(_ByIssue, DecisionCsvApi):
    @extend_schema(parameters=[*DECISION_PARAMS, ISSUE_PARAM], **CSV_SCHEMA)
    def get(self, request):
        return super().get(request)
