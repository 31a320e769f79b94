"""Stripe reconciliation: does our Stripe clearing account agree with Stripe? (Reads only; fixes nothing.)

Stripe's side is its balance transactions (charges, refunds, their fees),
read through the wrapper with each transaction's source expanded, and
attributed to an issuer through the PaymentIntent of the charge or refund
(our subscriptions keep their PaymentIntent id). Our side is each issuer's
`stripe_clearing` balance in the ledger, and the receipts, refunds and fee
entries behind it.

Differences are listed at three levels so that a person can find the cause:
- per issuer: ledger `stripe_clearing` balance against Stripe's net (charges
  less refunds less fees);
- per PaymentIntent: what Stripe charged against what we recorded received;
- per refund: refunds at Stripe that our books lack, refunds our books call
  sent that Stripe does not have; and fees Stripe took that the ledger lacks.
Transactions that belong to no subscription of ours (payouts, or charges
made outside this service) are listed as unattributed: our ledger does not
book payouts yet, so on an account that has paid out they are expected.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Sum

from bondplatform.money import display_pounds
from investments.models import Receipt, Refund, RefundStatus, Subscription
from investments.payments import stripe_client
from investments.payments.stripe import StripeProvider
from ledger.models import LedgerPosting

STRIPE = StripeProvider.name


@dataclass
class IssuerComparison:
    issuer_id: int
    ledger_clearing_pence: int = 0
    ledger_fees_pence: int = 0
    stripe_charged_pence: int = 0
    stripe_refunded_pence: int = 0
    stripe_fees_pence: int = 0
    differences: list[str] = field(default_factory=list)

    @property
    def stripe_net_pence(self) -> int:
        return self.stripe_charged_pence - self.stripe_refunded_pence - self.stripe_fees_pence


@dataclass
class Reconciliation:
    issuers: list[IssuerComparison] = field(default_factory=list)
    unattributed: list[str] = field(default_factory=list)

    @property
    def differences(self) -> list[str]:
        return [line for each in self.issuers for line in each.differences] + self.unattributed


@dataclass
class _StripeSide:
    charged: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # by PaymentIntent
    refunds: dict[str, tuple[str, int]] = field(default_factory=dict)  # refund id -> (PaymentIntent, amount)
    fees: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # by PaymentIntent
    unattributed: list[str] = field(default_factory=list)


def stripe_reconcile(*, issuer_id: int | None = None) -> Reconciliation:
    stripe_side = _stripe_side()
    intents = (
        set(stripe_side.charged) | {pi for pi, _ in stripe_side.refunds.values()} | set(stripe_side.fees)
    )
    ours = Subscription.objects.filter(provider=STRIPE, provider_payment_id__isnull=False)
    issuer_of: dict[str, int] = {
        pi: issuer for pi, issuer in ours.values_list("provider_payment_id", "issue__issuer_id") if pi
    }

    result = Reconciliation()
    for pi in sorted(intents - set(issuer_of)):
        result.unattributed.append(f"PaymentIntent {pi} at Stripe belongs to no subscription of ours.")
    result.unattributed += stripe_side.unattributed
    if issuer_id is not None:
        result.unattributed = []  # they belong to no issuer, so not to this one

    issuers = set(issuer_of.values()) | set(
        LedgerPosting.objects.filter(account__code="stripe_clearing").values_list(
            "account__issuer_id", flat=True
        )
    )
    if issuer_id is not None:
        issuers &= {issuer_id}
    for each in sorted(issuers):
        result.issuers.append(
            _compare(each, stripe_side, {pi for pi, owner in issuer_of.items() if owner == each})
        )
    return result


def _stripe_side() -> _StripeSide:
    side = _StripeSide()
    transactions = list(stripe_client.balance_transactions())
    # A refund made against a charge (not a PaymentIntent) names only the charge.
    intent_of_charge = {
        str(source.get("id")): pi
        for source in (t.get("source") for t in transactions)
        if isinstance(source, dict) and source.get("object") == "charge" and (pi := _payment_intent(source))
    }
    for transaction in transactions:
        kind = transaction.get("type")
        source = transaction.get("source")
        source = source if isinstance(source, dict) else {"id": source}
        amount = int(transaction.get("amount") or 0)
        fee = int(transaction.get("fee") or 0)
        charge = source.get("charge")
        charge = charge.get("id") if isinstance(charge, dict) else charge
        pi = _payment_intent(source) or intent_of_charge.get(str(charge))
        if kind in ("charge", "payment") and pi:
            side.charged[pi] += amount
            side.fees[pi] += fee
        elif kind in ("refund", "payment_refund") and pi:
            side.refunds[str(source.get("id"))] = (pi, -amount)
            side.fees[pi] += fee
        else:
            side.unattributed.append(
                f"Balance transaction {transaction.get('id')} ({kind}, {display_pounds(amount)}) is not a charge "
                "or refund of a PaymentIntent: our ledger does not book it."
            )
    return side


def _payment_intent(source: dict[str, Any]) -> str | None:
    pi = source.get("payment_intent")
    if isinstance(pi, dict):
        pi = pi.get("id")
    return pi if isinstance(pi, str) and pi else None


def _compare(issuer_id: int, stripe_side: _StripeSide, intents: set[str]) -> IssuerComparison:
    row = IssuerComparison(issuer_id=issuer_id)
    postings = LedgerPosting.objects.filter(account__issuer_id=issuer_id)
    row.ledger_clearing_pence = (
        postings.filter(account__code="stripe_clearing").aggregate(total=Sum("amount_pence"))["total"] or 0
    )
    row.ledger_fees_pence = (
        postings.filter(account__code="stripe_fees").aggregate(total=Sum("amount_pence"))["total"] or 0
    )
    row.stripe_charged_pence = sum(stripe_side.charged.get(pi, 0) for pi in intents)
    row.stripe_fees_pence = sum(stripe_side.fees.get(pi, 0) for pi in intents)
    stripe_refunds = {rid: amount for rid, (pi, amount) in stripe_side.refunds.items() if pi in intents}
    row.stripe_refunded_pence = sum(stripe_refunds.values())

    received: dict[str, int] = defaultdict(int)
    for pi, amount in Receipt.objects.filter(
        provider=STRIPE, subscription__issue__issuer_id=issuer_id
    ).values_list("subscription__provider_payment_id", "amount_pence"):
        received[pi or ""] += amount  # "" would be a card receipt with no PaymentIntent: shown, not hidden
    for pi in sorted(set(received) | {pi for pi in intents if stripe_side.charged.get(pi)}):
        charged = stripe_side.charged.get(pi, 0)
        if charged != received.get(pi, 0):
            row.differences.append(
                f"issuer {issuer_id}: PaymentIntent {pi}: Stripe charged {display_pounds(charged)}, "
                f"we recorded {display_pounds(received.get(pi, 0))} received."
            )

    sent = dict(
        Refund.objects.filter(
            provider=STRIPE, status=RefundStatus.SENT, subscription__issue__issuer_id=issuer_id
        ).values_list("provider_refund_id", "amount_pence")
    )
    for rid in sorted(set(stripe_refunds) | {rid for rid in sent if rid}):
        at_stripe, in_books = stripe_refunds.get(rid), sent.get(rid)
        if at_stripe == in_books:
            continue
        if in_books is None:
            row.differences.append(
                f"issuer {issuer_id}: refund {rid} of {display_pounds(at_stripe or 0)} at Stripe is not in our books."
            )
        elif at_stripe is None:
            row.differences.append(
                f"issuer {issuer_id}: refund {rid} of {display_pounds(in_books)} is sent in our books but not at Stripe."
            )
        else:
            row.differences.append(
                f"issuer {issuer_id}: refund {rid}: Stripe {display_pounds(at_stripe)}, our books {display_pounds(in_books)}."
            )
    if row.stripe_fees_pence != row.ledger_fees_pence:
        row.differences.append(
            f"issuer {issuer_id}: Stripe took {display_pounds(row.stripe_fees_pence)} in fees; "
            f"the ledger's stripe_fees shows {display_pounds(row.ledger_fees_pence)}."
        )
    if row.ledger_clearing_pence != row.stripe_net_pence:
        row.differences.insert(
            0,
            f"issuer {issuer_id}: ledger stripe_clearing {display_pounds(row.ledger_clearing_pence)}, "
            f"Stripe net {display_pounds(row.stripe_net_pence)} "
            f"(difference {display_pounds(row.ledger_clearing_pence - row.stripe_net_pence)}).",
        )
    return row
