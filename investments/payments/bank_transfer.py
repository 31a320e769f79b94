"""Bank transfer: the embedded default provider.

The resident is shown the issuer's bank details and a unique reference; an
officer records the receipt (or imports a statement). Refunds are owed until
an officer sends them and marks them sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from investments import accounts
from investments.payments.base import PaymentProvider, RefundOutcome

if TYPE_CHECKING:
    from investments.models import Refund, Subscription


class BankTransferProvider(PaymentProvider):
    name = "bank_transfer"
    clearing_account = accounts.CASH_AT_BANK
    refunds_sent_by_hand = True

    def is_available(self) -> bool:
        return True

    def instructions(self, subscription: Subscription) -> dict[str, Any]:
        issuer = subscription.issue.issuer
        return {
            "provider": self.name,
            "reference": subscription.reference,
            "bank_account_name": issuer.bank_account_name or issuer.name,
            "sort_code": issuer.sort_code,
            "account_number": issuer.account_number,
        }

    def refund(self, refund: Refund) -> RefundOutcome:
        return RefundOutcome(settled=False)
