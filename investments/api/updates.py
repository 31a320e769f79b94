"""HTTP API for updates to bondholders: anyone reads an issue's news; its officers post it.

A post is JSON (no photo) or multipart/form-data (with a `photo` file and its
`photo_alt`). The photo is judged by its bytes and kept re-encoded without its
metadata (`bondplatform.images`); the answer gives the address it is served at.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.utils import html

from bondplatform.parsers import JSONParser
from bondplatform.schema import refusals
from investments import selectors
from investments.models import BondholderUpdate
from investments.selectors_updates import updates_of
from investments.services.updates import BODY_MAX, PHOTO_ALT_MAX, TITLE_MAX, bondholder_update_post


class UpdatePhotoSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="Where the photo is served (JPEG, PNG or WebP).")
    alt = serializers.CharField(help_text="What the photo shows, for people who cannot see it.")
    content_type = serializers.CharField(help_text="image/jpeg, image/png or image/webp.")
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class BondholderUpdateSerializer(serializers.ModelSerializer):
    photo = serializers.SerializerMethodField()

    class Meta:
        model = BondholderUpdate
        fields = ["id", "issue", "title", "body", "published_on", "photo", "created_at"]
        read_only_fields = fields

    @extend_schema_field(UpdatePhotoSerializer(allow_null=True))
    def get_photo(self, update: BondholderUpdate) -> dict[str, Any] | None:
        if not update.has_photo:
            return None
        path = reverse("bondholder-update-photo", args=[update.pk])
        request = self.context.get("request")
        return {
            "url": request.build_absolute_uri(path) if request else path,
            "alt": update.photo_alt,
            "content_type": update.photo_content_type,
            "width": update.photo_width,
            "height": update.photo_height,
        }


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "News of the project",
            value={"title": "The kitchen is open", "body": "Forty meals served in the first week."},
            request_only=True,
        )
    ]
)
class _DateField(serializers.DateField):
    """A date; in a form body, an empty value is a bad date, as the schema says, not a date left out
    (DRF's own reading of forms), since a client that sends the field means to give one."""

    def get_value(self, dictionary):
        if html.is_html_input(dictionary) and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)


class BondholderUpdateInSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=TITLE_MAX)
    body = serializers.CharField(max_length=BODY_MAX)
    published_on = _DateField(
        required=False, help_text="The day the update speaks for: today if not given; not in the future."
    )


class BondholderUpdateUploadSerializer(BondholderUpdateInSerializer):
    photo = serializers.FileField(
        required=False, help_text="A JPEG, PNG or WebP image, at most 5 MB (judged by its bytes)."
    )
    photo_alt = serializers.CharField(
        max_length=PHOTO_ALT_MAX,
        required=False,
        allow_blank=True,
        default="",
        help_text="What the photo shows, for people who cannot see it: required with a photo.",
    )


class IssueUpdatesApi(generics.ListAPIView):
    """GET (anyone; a draft's, its officers and auditors): an issue's updates, newest first.
    POST (an officer of its issuer): post one."""

    serializer_class = BondholderUpdateSerializer
    parser_classes = [JSONParser, MultiPartParser]

    def get_queryset(self):
        issue = selectors.issue_get_for(self.kwargs["issue_id"], actor=self.request.user)
        return updates_of(issue.pk)

    @refusals({404: ["issue_not_found"]})
    @extend_schema(
        responses=BondholderUpdateSerializer(many=True),
        description="Anyone: the issue's news from its officers, newest first (by the day each speaks "
        "for). A draft's are not found, except by its issuer's officers and auditors, and staff.",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @refusals(
        {
            401: ["not_authenticated"],
            403: ["not_an_officer", "two_factor_required"],
            404: ["issue_not_found"],
            400: ["invalid_photo"],
            409: ["issue_is_draft"],
            413: ["file_too_large"],
        }
    )
    @extend_schema(
        request={
            "application/json": BondholderUpdateInSerializer,
            "multipart/form-data": BondholderUpdateUploadSerializer,
        },
        responses={201: BondholderUpdateSerializer},
        description="News of the project, for the issue's page and, by e-mail after it is posted, "
        "for everyone whose money the issue holds (who has not turned such e-mails off). JSON, or "
        "multipart/form-data with a `photo` (400 `invalid_photo` unless a JPEG, PNG or WebP of at most "
        "5 MB) and its `photo_alt`. 409 `issue_is_draft` before the offer opens. An update cannot be "
        "changed afterwards: post a correction as a new one.",
    )
    def post(self, request, issue_id: int):
        # Who asks before what they send: 404, 401 and 403 come before a 400 for the body.
        selectors.issue_get_for_officer(issue_id, actor=request.user)
        serializer = BondholderUpdateUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        photo = data.get("photo")
        update = bondholder_update_post(
            actor=request.user,
            issue_id=issue_id,
            title=data["title"],
            body=data["body"],
            photo=photo.read() if photo else None,
            photo_alt=data["photo_alt"],
            published_on=data.get("published_on"),
        )
        return Response(
            BondholderUpdateSerializer(update, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )
