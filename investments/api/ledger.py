"""`ledger/entries/?issue=`: the ledger's entry list, narrowed to one bond issue's accounts.

The ledger knows nothing of bonds; which accounts belong to an issue is this
app's knowledge (`investments.accounts`), so the narrowing is added here.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema

from bondplatform.query import id_field
from bondplatform.schema import ID, refusals
from investments.selectors import issue_ledger_accounts
from ledger.api import ENTRY_PARAMS, EntryOutSerializer, EntryQuerySerializer, LedgerEntriesApi


class IssueEntryQuerySerializer(EntryQuerySerializer):
    issue = id_field(required=False)


class IssueLedgerEntriesApi(LedgerEntriesApi):
    query_serializer = IssueEntryQuerySerializer

    def account_codes(self, issuer, query: dict) -> list[str] | None:
        issue_id = query.get("issue")
        return None if issue_id is None else issue_ledger_accounts(issue_id)

    @refusals(
        {
            401: ["not_authenticated"],
            403: ["not_an_officer_or_auditor", "two_factor_required"],
            404: ["issuer_not_found"],
        }
    )
    @extend_schema(
        parameters=[
            *ENTRY_PARAMS,
            OpenApiParameter("issue", ID, required=False, description="Only entries of this bond issue."),
        ],
        responses=EntryOutSerializer(many=True),
    )
    def get(self, request):
        return super().get(request)
