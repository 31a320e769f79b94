"""Fixtures of the payments tests."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile


@pytest.fixture
def upload(api_client_for):
    """upload(user, issuer, text, name="statement.csv") -> the API's answer to `user` uploading
    `text` (str or bytes) as the issuer's bank statement."""

    def upload(user, issuer, text: str | bytes, name="statement.csv"):
        content = text.encode() if isinstance(text, str) else text
        return api_client_for(user).post(
            f"/api/v1/issuers/{issuer.pk}/bank-statements/",
            {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
            format="multipart",
        )

    return upload
