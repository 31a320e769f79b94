"""HTTP API for registration, tokens and the signed-in person."""

import datetime as dt

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from bondplatform.errors import ServiceError
from people import selectors, services


class RegisterSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    email = serializers.EmailField()
    password = serializers.CharField(max_length=128, write_only=True)
    full_name = serializers.CharField(max_length=200)
    date_of_birth = serializers.DateField()
    # Roomy: the service normalises and says "not a UK postcode" itself.
    postcode = serializers.CharField(max_length=16)

    def validate_date_of_birth(self, value: dt.date) -> dt.date:
        if value > dt.date.today() or value.year < 1900:
            raise serializers.ValidationError("Not a plausible date of birth.")
        return value


class RegisteredSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class RegisterApi(APIView):
    authentication_classes: list = []

    @extend_schema(request=RegisterSerializer, responses={201: RegisteredSerializer})
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        profile = services.resident_register(**serializer.validated_data)
        return Response(
            {"id": profile.user_id, "username": profile.user.username}, status=status.HTTP_201_CREATED
        )


class TokenInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128)


class InvalidCredentials(ServiceError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid_credentials"


class TokenApi(APIView):
    authentication_classes: list = []

    @extend_schema(
        request=TokenInputSerializer,
        responses=inline_serializer("TokenOutput", {"token": serializers.CharField()}),
    )
    def post(self, request):
        serializer = TokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request, **serializer.validated_data)
        if user is None:
            raise InvalidCredentials("Those are not a valid username and password.")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


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


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(selectors.person_summary(request.user))
