"""Which provider serves a payment method, or a stored provider name.

A provider turns a subscription into instructions for the resident (a bank
reference, a Stripe PaymentIntent) and settles refunds. Money arriving is
recorded by `investments.payments.receipts.receipt_record`, whatever the
provider, so that every path posts the same ledger entries.
"""

from __future__ import annotations

from bondplatform.errors import RuleViolation
from investments.payments.bank_transfer import BankTransferProvider
from investments.payments.base import PaymentProvider, PreparedPayment, RefundOutcome
from investments.payments.stripe import StripeProvider

__all__ = [
    "PaymentProvider",
    "PreparedPayment",
    "RefundOutcome",
    "provider_for_method",
    "provider_named",
    "register",
]

_BY_METHOD: dict[str, type[PaymentProvider]] = {
    "bank_transfer": BankTransferProvider,
    "card": StripeProvider,  # available when STRIPE_SECRET_KEY is set
}


def register(method: str, provider: type[PaymentProvider]) -> None:
    _BY_METHOD[method] = provider


def provider_for_method(method: str) -> PaymentProvider:
    provider_class = _BY_METHOD.get(method)
    provider = provider_class() if provider_class else None
    if provider is None or not provider.is_available():
        raise RuleViolation(
            "Paying by card is not available here yet: please pay by bank transfer."
            if method == "card"
            else f"The payment method {method!r} is not available.",
            code="payment_method_unavailable",
        )
    return provider


def provider_named(name: str) -> PaymentProvider:
    for provider_class in _BY_METHOD.values():
        if provider_class.name == name:
            return provider_class()
    raise LookupError(name)
