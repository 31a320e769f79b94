"""HTTP API for issuers and their role grants: validate, call one service, serialize."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from bondplatform.schema import refusals
from issuers import gates, selectors, services
from issuers.models import AssetLockBasis, Issuer, LegalForm, Role


class IssuerSerializer(serializers.ModelSerializer):
    legal_form = serializers.ChoiceField(choices=LegalForm.choices)
    asset_lock_basis = serializers.ChoiceField(choices=AssetLockBasis.choices)
    max_interest_rate_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, coerce_to_string=True
    )
    asset_locked = serializers.BooleanField(read_only=True)

    class Meta:
        model = Issuer
        fields = [
            "id",
            "name",
            "legal_form",
            "registration_number",
            "asset_locked",
            "asset_lock_basis",
            "max_interest_rate_percent",
            "bank_account_name",
            "sort_code",
            "account_number",
        ]
        # The issuer's bank details are given to a resident with the reference
        # of their own subscription (its `payment` object), not published here.
        extra_kwargs = {
            "bank_account_name": {"write_only": True},
            "sort_code": {"write_only": True},
            "account_number": {"write_only": True},
        }


class IssuerListCreateApi(generics.ListAPIView):
    serializer_class = IssuerSerializer

    def get_queryset(self):
        return selectors.issuer_list()

    @refusals(
        {
            401: ["not_authenticated"],
            403: ["staff_only", "two_factor_required"],
            400: ["asset_lock_basis_mismatch", "rate_cap_exceeded"],
        }
    )
    @extend_schema(request=IssuerSerializer, responses={201: IssuerSerializer})
    def post(self, request):
        # The gate before the body: a stranger learns nothing about what a valid issuer looks
        # like (401 or 403 whatever they send). The one gate a view still calls: there is no
        # issuer to read yet that a selector could check it with. The service checks it again.
        gates.require_staff(request.user)
        serializer = IssuerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issuer = services.issuer_create(actor=request.user, **serializer.validated_data)
        return Response(IssuerSerializer(issuer).data, status=status.HTTP_201_CREATED)


class IssuerDetailApi(APIView):
    @refusals({404: ["issuer_not_found"]})
    @extend_schema(responses=IssuerSerializer)
    def get(self, request, issuer_id: int):
        return Response(IssuerSerializer(selectors.issuer_get(issuer_id)).data)


class RoleGrantInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)


class RoleGrantOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    issuer = serializers.IntegerField(source="issuer_id")
    username = serializers.CharField(source="user.username")
    role = serializers.CharField()


class _RoleGrantApi(APIView):
    # Who asks before what they send: 401, 404, 403, and only then 400 for the body.
    permission_classes = [IsAuthenticated]
    role: Role

    @refusals(
        {
            403: ["not_an_officer", "two_factor_required"],
            404: ["issuer_not_found", "user_not_found"],
            409: ["already_granted"],
            422: ["segregation_of_duties"],
        }
    )
    @extend_schema(request=RoleGrantInputSerializer, responses={201: RoleGrantOutputSerializer})
    def post(self, request, issuer_id: int):
        issuer = selectors.issuer_get_to_grant(issuer_id, actor=request.user)
        serializer = RoleGrantInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        grant = services.role_grant(
            actor=request.user, issuer=issuer, username=serializer.validated_data["username"], role=self.role
        )
        return Response(RoleGrantOutputSerializer(grant).data, status=status.HTTP_201_CREATED)


class OfficerGrantApi(_RoleGrantApi):
    role = Role.FINANCE_OFFICER


class AuditorGrantApi(_RoleGrantApi):
    role = Role.AUDITOR


class _RoleRevokeApi(APIView):
    # Who asks before what they name: 401, 404 for the issuer, 403, then 404 for the grant.
    permission_classes = [IsAuthenticated]
    role: Role

    @refusals(
        {
            403: ["not_an_officer", "two_factor_required"],
            404: ["issuer_not_found", "role_grant_not_found"],
            409: ["last_officer"],
        }
    )
    @extend_schema(request=None, responses={204: None})
    def delete(self, request, issuer_id: int, user_id: int):
        """End the person's role in the issuer (staff, or an officer of it). The issuer's last
        finance officer stays unless staff ask (409 `last_officer`)."""
        issuer = selectors.issuer_get_to_grant(issuer_id, actor=request.user)
        services.role_revoke_of(actor=request.user, issuer_id=issuer.pk, user_id=user_id, role=self.role)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OfficerRevokeApi(_RoleRevokeApi):
    role = Role.FINANCE_OFFICER


class AuditorRevokeApi(_RoleRevokeApi):
    role = Role.AUDITOR


# me/ lives here, not in people: a person's roles are grants on issuers.
class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField()
    postcode = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    issuers = serializers.ListField(
        child=inline_serializer(
            "IssuerRole", {"id": serializers.IntegerField(), "role": serializers.CharField()}
        )
    )
    two_factor = serializers.BooleanField()


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(selectors.person_summary(request.user))
