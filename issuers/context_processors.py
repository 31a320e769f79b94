"""Template context for every page: whether to offer the officer pages in the navigation.

Computed here, before rendering, because templates never query: one query for a
signed-in person, none for anybody else.
"""

from __future__ import annotations

from typing import Any

from issuers import gates


def roles(request) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {"holds_issuer_role": bool(user is not None and gates.holds_any_role(user))}
