"""Public tree heads and proofs: anyone may collect an issuer's signed checkpoints over time
and ask for the RFC 9162 consistency proof between two of them, so that an auditor who kept
last year's checkpoint can check that the ledger has only grown since (nothing rewritten).

Only hashes leave the service here, never an entry's content: the proofs reveal nothing
about anybody. Verify them offline with `tools/verify_statement.py consistency`.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from bondplatform.errors import BadInput
from bondplatform.pagination import BoundedLimitOffsetPagination
from bondplatform.query import id_field, query_validated
from bondplatform.schema import ID, refusals
from issuers.selectors import issuer_get
from ledger import selectors
from ledger.api import CheckpointSerializer
from ledger.proofs import IssuerTree


class TreeHeadSerializer(CheckpointSerializer):
    tree_size = serializers.IntegerField(
        allow_null=True, help_text="Entries 1..tree_size; null before format 2."
    )
    merkle_root = serializers.CharField(
        allow_null=True, help_text="RFC 9162 root, hex; null before format 2."
    )


class CheckpointQuerySerializer(serializers.Serializer):
    issuer = id_field()


class LedgerCheckpointsApi(APIView):
    """Every checkpoint the service signed for an issuer, oldest first."""

    authentication_classes: list = []
    permission_classes: list = []
    pagination_class = BoundedLimitOffsetPagination

    @refusals({404: ["issuer_not_found"]}, signed_in=False)
    @extend_schema(
        parameters=[OpenApiParameter("issuer", ID, required=True, description="The issuer's id.")],
        responses=TreeHeadSerializer(many=True),
    )
    def get(self, request):
        query = query_validated(request, CheckpointQuerySerializer)
        issuer = issuer_get(query["issuer"])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.checkpoint_list(issuer=issuer), request, view=self)
        return paginator.get_paginated_response(TreeHeadSerializer(page, many=True).data)


class ConsistencyQuerySerializer(serializers.Serializer):
    issuer = id_field()
    first = id_field(help_text="The older tree size.")
    second = id_field(help_text="The newer tree size.")

    def validate(self, attrs):
        if attrs["first"] > attrs["second"]:
            raise BadInput(
                "first must not be larger than second.",
                code="invalid_tree_size",
                fields={"first": ["Must not be larger than second."]},
            )
        return attrs


class LedgerConsistencyProofApi(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    @refusals({400: ["invalid_tree_size"], 404: ["issuer_not_found"]}, signed_in=False)
    @extend_schema(
        parameters=[
            OpenApiParameter("issuer", ID, required=True, description="The issuer's id."),
            OpenApiParameter("first", ID, required=True, description="The older tree size."),
            OpenApiParameter("second", ID, required=True, description="The newer tree size."),
        ],
        responses=inline_serializer(
            "ConsistencyProof",
            {
                "issuer": serializers.IntegerField(),
                "first": serializers.IntegerField(),
                "second": serializers.IntegerField(),
                "first_root": serializers.CharField(),
                "second_root": serializers.CharField(),
                "proof": serializers.ListField(child=serializers.CharField()),
            },
        ),
        description="The RFC 9162 consistency proof from the tree of `first` entries to that of `second`; "
        "400 `invalid_tree_size` when `first` is larger than `second` or the ledger has fewer than "
        "`second` entries.",
    )
    def get(self, request):
        query = query_validated(request, ConsistencyQuerySerializer)
        issuer = issuer_get(query["issuer"])
        first, second = query["first"], query["second"]
        tree = IssuerTree(issuer.pk)
        proof = tree.consistency_proof(first, second)
        return Response(
            {
                "issuer": issuer.pk,
                "first": first,
                "second": second,
                "first_root": tree.root(first).hex(),
                "second_root": tree.root(second).hex(),
                "proof": [node.hex() for node in proof],
            }
        )
