"""CSV and PDF downloads in the API: the file whatever the Accept header says, a refusal as JSON like every error."""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView


class _DownloadOrJsonError(BaseContentNegotiation):
    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class CsvDownloadApi(APIView):
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _DownloadOrJsonError

    @staticmethod
    def csv_response(text: str, filename: str) -> HttpResponse:
        response = HttpResponse(text.encode("utf-8"), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "private, no-store"
        return response


class PdfDownloadApi(APIView):
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _DownloadOrJsonError

    @staticmethod
    def pdf_response(pdf: bytes, filename: str) -> HttpResponse:
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "private, no-store"
        return response
