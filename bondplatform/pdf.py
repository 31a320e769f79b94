"""HTML to PDF for the documents people keep (certificates, annual statements), with WeasyPrint.

One place for the lazy import (WeasyPrint takes a second to load, and only
PDFs need it) and for the one safety rule: a document is made from our own
templates and fetches nothing. The URL fetcher refuses every URL, so no
text that reaches a template (a name, a description) can make the server
read a local file or call another host while it lays a page out.
"""

from __future__ import annotations

from typing import NoReturn

__all__ = ["pdf_from_html"]


def _fetch_nothing(url: str, *args, **kwargs) -> NoReturn:
    raise ValueError(f"Documents fetch nothing (asked for {url[:80]!r}).")


def pdf_from_html(html: str) -> bytes:
    """The PDF of a complete HTML document (styles inline)."""
    from weasyprint import HTML  # noqa: PLC0415 - lazy for start-up: it takes a second to load, only PDFs need it

    return HTML(string=html, url_fetcher=_fetch_nothing).write_pdf()
