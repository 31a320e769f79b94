"""Bond issues, subscriptions, holdings and the ledger (see the submodules)."""

from investments.ledger.models import (  # noqa: F401  (registers the ledger models)
    LedgerAccount,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerHead,
    LedgerPosting,
)
