"""Writes for bond issues and subscriptions (payments and refunds: `investments.payments`).

Every function here is one business operation: keyword-only, takes the acting
user as `actor`, owns its transaction, and writes its audit or decision rows
in that transaction. Locks are always taken in one order (issue, then
investor, then the ledger head) so that concurrent operations queue instead
of deadlocking.
"""
