"""Bond issues, subscriptions, holdings and the ledger (see the submodules)."""
