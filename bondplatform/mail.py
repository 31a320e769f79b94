"""Sending e-mail: one plain-text and one HTML part from a pair of templates, with links
made absolute from `SITE_URL` (an e-mail is read far from the request that caused it).

Only the worker calls `mail_send` (through `bondplatform.background.after_commit`), so
no request ever waits on an SMTP server and nothing is sent for a transaction that
rolled back. Delivery is at least once: a worker that dies after sending but before
marking its work done sends again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str


def absolute_url(path: str) -> str:
    """`/me/` -> `https://bonds.example.org/me/` (SITE_URL, default http://127.0.0.1:8000)."""
    return settings.SITE_URL.rstrip("/") + path


def mail_send(
    *,
    to: Iterable[str],
    subject: str,
    template: str,
    context: Mapping[str, Any],
    attachments: Iterable[Attachment] = (),
) -> int:
    """Send `templates/email/<template>.txt` and `.html` to `to`; how many messages went (0 or 1)."""
    recipients = [address for address in to if address]
    if not recipients:
        return 0
    context = {**context, "site_url": settings.SITE_URL.rstrip("/"), "subject": subject}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"email/{template}.txt", context),
        to=recipients,
    )
    message.attach_alternative(render_to_string(f"email/{template}.html", context), "text/html")
    for attachment in attachments:
        message.attach(attachment.filename, attachment.content, attachment.mimetype)
    return message.send()
