"""The interface every payment provider implements.

Providers talk to the outside world (a bank, Stripe) and never change our
records nor import a service: they return what happened (`PreparedPayment`,
`RefundOutcome`) or raise a `ServiceError`, and the payment service that
called them records it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from investments.models import Refund, Subscription


@dataclass(frozen=True)
class PreparedPayment:
    """What the provider set up for the resident to pay against (a Stripe PaymentIntent)."""

    provider_payment_id: str
    # Lets the resident's browser confirm the payment with the provider; never shown once paid.
    client_secret: str


@dataclass(frozen=True)
class RefundOutcome:
    # True when the money has gone back to the resident (card refunds);
    # False when an officer still has to send it (bank transfers).
    settled: bool
    provider_refund_id: str | None = None


class PaymentProvider(ABC):
    #: stored on subscriptions and receipts
    name: str
    #: the ledger account where this provider's money lands
    clearing_account: str
    #: whether an officer sends this provider's refunds and marks them sent (a bank
    #: transfer), rather than the provider sending them and telling us (a card, at Stripe)
    refunds_sent_by_hand: bool = False

    @abstractmethod
    def is_available(self) -> bool: ...

    def prepare(self, subscription: Subscription) -> PreparedPayment | None:
        """After the subscription is committed: create what the resident pays against.

        Runs outside the database transaction (it may call out over the network),
        and raises a `ServiceError` if the provider cannot be reached or refuses;
        `investments.payments.card.payment_prepare` keeps what it returns, or
        releases the subscription's place when it fails. Asked again for the same
        subscription, it must return the same payment (an idempotency key).
        Bank transfers need nothing: the reference is made with the subscription."""
        return None

    def abandon(self, subscription: Subscription) -> None:
        """After an unpaid subscription has ended (cancelled, expired, issue closed):
        withdraw whatever the resident could still pay against. Runs outside the
        database transaction; money that arrives anyway is refunded as a late payment."""
        return

    @abstractmethod
    def instructions(self, subscription: Subscription) -> dict[str, Any]:
        """The API's `payment` object: what the client needs next."""

    @abstractmethod
    def refund(self, refund: Refund) -> RefundOutcome:
        """Send a refund back, or say that it is left for an officer to send."""
