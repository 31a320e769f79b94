"""CSV for people to open in a spreadsheet, without formula injection.

A cell that starts with `=`, `+`, `-`, `@` (or a tab or carriage return)
is read by Excel, LibreOffice and Google Sheets as a formula, which a
resident's name or reference could smuggle in ("=HYPERLINK(...)"). Such a
cell is prefixed with an apostrophe, which spreadsheets show as text (OWASP,
"CSV Injection"). Numbers we format ourselves (amounts like "250.00") are
never negative in these files and pass unchanged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    """The whole file, every cell neutralised, CRLF line ends (RFC 4180)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()
