"""Issues and subscriptions are locked in one place, in one order (investments/locks.py)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_service_locks_an_issue_or_a_subscription_by_hand():
    """Every lock of these rows goes through `investments.locks`, so the order cannot drift."""
    offenders = []
    for path in (ROOT / "investments").rglob("*.py"):
        if path.name == "locks.py" or "migrations" in path.parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"(BondIssue|Subscription)\.objects\.select_for_update", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}")
            if re.search(r"(committed_pence|raised_pence)=F\(", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number} (capacity arithmetic)")
    assert not offenders, "lock or count through investments.locks instead: " + ", ".join(offenders)
