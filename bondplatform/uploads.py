"""Uploads are refused as they stream in once a file passes `UPLOAD_MAX_FILE_SIZE`.

Django keeps `DATA_UPLOAD_MAX_MEMORY_SIZE` for the rest of a body but not for
its files: a multipart upload of any size would be read whole, to memory and
then to a temporary file, and before sign-in is checked (the CSRF check reads
a form's fields, and so its files, before any view runs). This handler,
first in FILE_UPLOAD_HANDLERS, refuses a body that announces more than one
file's limit plus a form's worth of fields before reading any of it, and
stops reading a file at the limit otherwise (a body may lie about its
length, or be chunked): `UploadTooLarge`, answered 413 `file_too_large`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler

from bondplatform.errors import UploadTooLarge


def _refused(limit: int) -> UploadTooLarge:
    return UploadTooLarge(f"A file may be at most {limit // (1024 * 1024)} MB.")


class SizeLimitedUploadHandler(FileUploadHandler):
    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        limit = settings.UPLOAD_MAX_FILE_SIZE
        if content_length > limit + settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise _refused(limit)

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > settings.UPLOAD_MAX_FILE_SIZE:
            raise _refused(settings.UPLOAD_MAX_FILE_SIZE)
        return raw_data  # on to the handler that keeps it (memory, or a temporary file)

    def file_complete(self, file_size):
        return None  # the next handler makes the file
