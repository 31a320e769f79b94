"""HTTP API for registration, tokens and the signed-in person."""

import datetime as dt

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from bondplatform.errors import ServiceError
from people import services, totp


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
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "sign_in"

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
    otp = serializers.CharField(
        max_length=10,
        required=False,
        help_text="The authenticator's code, once two-factor sign-in is set up.",
    )


class InvalidCredentials(ServiceError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid_credentials"


class TokenApi(APIView):
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "sign_in"

    @extend_schema(
        request=TokenInputSerializer,
        responses=inline_serializer("TokenOutput", {"token": serializers.CharField()}),
    )
    def post(self, request):
        serializer = TokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = authenticate(request, username=data["username"], password=data["password"])
        if user is None:
            raise InvalidCredentials("Those are not a valid username and password.")
        services.totp_check_sign_in(user=user, otp=data.get("otp"))
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class TwoFactorSerializer(serializers.Serializer):
    confirmed = serializers.BooleanField()
    secret = serializers.CharField(required=False)
    otpauth_uri = serializers.CharField(required=False)


class OtpInputSerializer(serializers.Serializer):
    otp = serializers.CharField(max_length=10)


class TwoFactorApi(APIView):
    """Set up two-factor sign-in: POST for a new secret (shown once), then confirm it with a code."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=TwoFactorSerializer)
    def get(self, request):
        return Response({"confirmed": services.two_factor_confirmed(request.user)})

    @extend_schema(request=None, responses={201: TwoFactorSerializer})
    def post(self, request):
        device = services.totp_begin(actor=request.user)
        return Response(
            {
                "confirmed": False,
                "secret": device.secret,
                "otpauth_uri": totp.provisioning_uri(device.secret, account=request.user.get_username()),
            },
            status=status.HTTP_201_CREATED,
        )


class TwoFactorConfirmApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=OtpInputSerializer, responses=TwoFactorSerializer)
    def post(self, request):
        serializer = OtpInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.totp_confirm(actor=request.user, otp=serializer.validated_data["otp"])
        return Response({"confirmed": True})
