"""HTTP API for registration, tokens, two-factor set-up and the signed-in person."""

import datetime as dt

from django.contrib.auth import logout
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from bondplatform.schema import refusals
from people import selectors, sessions, totp
from people.models import AuthToken, TotpDevice
from people.services import registration, sign_in, tokens, two_factor


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

    @refusals(
        {
            400: ["username_taken", "email_taken", "invalid_username", "invalid_postcode", "weak_password"],
            429: ["throttled"],
        }
    )
    @extend_schema(request=RegisterSerializer, responses={201: RegisteredSerializer})
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        profile = registration.resident_register(**serializer.validated_data)
        return Response(
            {"id": profile.user_id, "username": profile.user.username}, status=status.HTTP_201_CREATED
        )


class TokenInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128)
    otp = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        help_text="The authenticator's code (or a recovery code), once two-factor sign-in is set up.",
    )


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()
    two_factor = serializers.BooleanField(help_text="Whether this sign-in gave a two-factor code.")


def _token_body(token: AuthToken, key: str) -> dict:
    return {"token": key, "expires_at": token.expires_at, "two_factor": token.verified_device_id is not None}


class TokenApi(APIView):
    """Sign in: a new token per sign-in, valid for TOKEN_TTL seconds.

    Wrong passwords and codes count against the account: after
    SIGN_IN_LOCKOUT_FAILURES it is locked (429 `account_locked`, Retry-After)."""

    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "sign_in"

    @refusals(
        {400: ["invalid_credentials", "otp_required", "invalid_otp"], 429: ["throttled", "account_locked"]}
    )
    @extend_schema(request=TokenInputSerializer, responses=TokenOutputSerializer)
    def post(self, request):
        serializer = TokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        checked = sign_in.sign_in_check(
            username=data["username"], password=data["password"], otp=data.get("otp")
        )
        token, key = tokens.auth_token_create(user=checked.user, verified_device=checked.device)
        return Response(_token_body(token, key))


class LogoutApi(APIView):
    """Sign out: the token the request came with stops working (or the web session ends)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        if isinstance(request.auth, AuthToken):
            tokens.auth_token_revoke(actor=request.user, token=request.auth)
        else:
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _carry_on(request, *, epoch: int, device: TotpDevice | None) -> None:
    """After a change the caller made to their own credentials: their web session (if the
    request came with one) carries on at the new epoch; every other session ends."""
    if request.auth is None and hasattr(request._request, "session"):
        sessions.session_stamp(request._request.session, epoch=epoch, device=device)


def _own_token(request) -> AuthToken | None:
    return request.auth if isinstance(request.auth, AuthToken) else None


class TwoFactorSerializer(serializers.Serializer):
    confirmed = serializers.BooleanField()
    secret = serializers.CharField(required=False)
    otpauth_uri = serializers.CharField(required=False)
    recovery_codes = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Given once, at confirmation: each stands in for a code once.",
    )


class PasswordInputSerializer(serializers.Serializer):
    password = serializers.CharField(max_length=128, required=False, allow_blank=True)


class OtpInputSerializer(serializers.Serializer):
    otp = serializers.CharField(max_length=32)


class TwoFactorApi(APIView):
    """Set up two-factor sign-in: POST (with the current password) for a new secret, shown once,
    then confirm it with a code; DELETE (with the password) to remove it."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=TwoFactorSerializer)
    def get(self, request):
        return Response({"confirmed": selectors.two_factor_confirmed(request.user)})

    @refusals({400: ["invalid_password"], 409: ["two_factor_already_confirmed"], 429: ["account_locked"]})
    @extend_schema(request=PasswordInputSerializer, responses={201: TwoFactorSerializer})
    def post(self, request):
        serializer = PasswordInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        device = two_factor.totp_begin(actor=request.user, password=serializer.validated_data.get("password"))
        return Response(
            {
                "confirmed": False,
                "secret": device.secret,
                "otpauth_uri": totp.provisioning_uri(device.secret, account=request.user.get_username()),
            },
            status=status.HTTP_201_CREATED,
        )

    @refusals(
        {
            400: ["invalid_password"],
            403: ["two_factor_required"],
            409: ["two_factor_not_set_up"],
            429: ["account_locked"],
        }
    )
    @extend_schema(request=PasswordInputSerializer, responses={204: None})
    def delete(self, request):
        serializer = PasswordInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        removal = two_factor.totp_remove(
            actor=request.user,
            password=serializer.validated_data.get("password"),
            keep_token=_own_token(request),
        )
        _carry_on(request, epoch=removal.credentials_epoch, device=None)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TwoFactorConfirmApi(APIView):
    permission_classes = [IsAuthenticated]

    @refusals(
        {
            400: ["invalid_otp"],
            409: ["two_factor_not_started", "two_factor_already_confirmed"],
            429: ["account_locked"],
        }
    )
    @extend_schema(request=OtpInputSerializer, responses=TwoFactorSerializer)
    def post(self, request):
        serializer = OtpInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        enrolment = two_factor.totp_confirm(
            actor=request.user, otp=serializer.validated_data["otp"], keep_token=_own_token(request)
        )
        _carry_on(request, epoch=enrolment.credentials_epoch, device=enrolment.device)
        return Response({"confirmed": True, "recovery_codes": enrolment.recovery_codes})


class EmailVerificationInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=500, help_text="The token from the link in the e-mail.")


class EmailVerifiedSerializer(serializers.Serializer):
    verified = serializers.BooleanField()
    username = serializers.CharField()


class EmailVerifyApi(APIView):
    """Verify an e-mail address with the token from the link sent at registration (no sign-in:
    the token is the proof)."""

    authentication_classes: list = []

    @refusals(
        {400: ["invalid_verification_link", "verification_link_expired"], 404: ["user_not_found"]},
        signed_in=False,
    )
    @extend_schema(request=EmailVerificationInputSerializer, responses=EmailVerifiedSerializer)
    def post(self, request):
        serializer = EmailVerificationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = registration.email_verify(token=serializer.validated_data["token"])
        return Response({"verified": True, "username": user.get_username()})


class EmailVerificationResendApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "sign_in"  # each one sends an e-mail

    @refusals({400: ["no_email"], 429: ["throttled"]})
    @extend_schema(
        request=None, responses={202: inline_serializer("Sent", {"sent": serializers.BooleanField()})}
    )
    def post(self, request):
        registration.email_verification_request(actor=request.user)
        return Response({"sent": True}, status=status.HTTP_202_ACCEPTED)
