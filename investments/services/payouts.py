"""Money owed to holders, paid by bank transfer in batches; and where each resident wants it paid.

Interest, redemptions and maturities are posted as payable when they fall
due (interest_payable:<h>, redemption_payable:<h>) and become payouts in a
batch (`services/payout_batches.py`). An officer downloads a batch for the
bank's bulk upload, makes the payments, and marks the batch sent: only then
does the ledger move the cash, one entry per payout (key `payout:<id>`):
Dr interest_payable:<h> or redemption_payable:<h> / Cr cash_at_bank.

Every outflow passes the asset lock (`compliance.asset_lock_judge`) in the
transaction that posts it: the batch's interest and its principal, each
judged against what the terms have made owed to those holders, which is
what their payable accounts hold in the ledger (a payout above its
holding's payable balance makes the whole batch refused, 422
`asset_lock_violation`, its deny decision kept).

Payout accounts: a UK sort code and account number (checked for their
shape: there is no open register of UK sort codes to check them against),
or an IBAN validated by `schwifty` (country, length, format and checksum).
Nothing is guessed or corrected beyond removing spaces and dashes.
"""

from __future__ import annotations

import re
from collections import defaultdict

from django.db import IntegrityError, transaction
from django.utils import timezone
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from bondplatform.actors import Actor
from bondplatform.audit import audit_record
from bondplatform.errors import BadInput, Conflict, InvalidState, NotFound
from compliance.asset_lock import Outflow, Purpose, asset_lock_judge
from compliance.services import refusals_kept
from investments import accounts, notifications
from investments.models import (
    InterestRunStatus,
    Payout,
    PayoutAccount,
    PayoutBatch,
    PayoutBatchStatus,
    PayoutKind,
    PayoutStatus,
)
from issuers import gates
from ledger.models import EntryKind
from ledger.selectors import account_balances
from ledger.services import EntrySpec, Posting, entries_post

POST_CHUNK = 500
_SORT_CODE = re.compile(r"^[0-9]{6}$")
_ACCOUNT_NUMBER = re.compile(r"^[0-9]{8}$")


def payable_account(payout: Payout) -> str:
    if payout.kind == PayoutKind.INTEREST:
        return accounts.interest_payable_of(payout.holding_id)
    return accounts.redemption_payable_of(payout.holding_id)


def payout_account_set(
    *,
    actor: Actor,
    account_name: str,
    sort_code: str = "",
    account_number: str = "",
    iban: str = "",
) -> PayoutAccount:
    """A resident gives (or changes) the account their payouts go to."""
    person = gates.require_person(actor)
    account_name = account_name.strip()
    sort_code = re.sub(r"[\s-]", "", sort_code or "")
    account_number = re.sub(r"\s", "", account_number or "")
    iban = re.sub(r"\s", "", iban or "").upper()
    errors: dict[str, list[str]] = {}
    if not account_name or len(account_name) > 70 or "\x00" in account_name:
        errors["account_name"] = ["The name on the account, 1 to 70 characters."]
    if iban and (sort_code or account_number):
        errors["iban"] = ["Give either an IBAN or a sort code and account number, not both."]
    elif iban:
        try:
            iban = IBAN(iban).compact
        except (SchwiftyException, ValueError) as exc:
            errors["iban"] = [f"Not a valid IBAN: {exc}."]
    else:
        if not _SORT_CODE.fullmatch(sort_code):
            errors["sort_code"] = ["Six digits, such as 60-83-01."]
        if not _ACCOUNT_NUMBER.fullmatch(account_number):
            errors["account_number"] = ["Eight digits."]
    if errors:
        raise BadInput("The account details are not valid.", code="invalid_payout_account", fields=errors)
    with transaction.atomic(durable=True):
        account, _ = PayoutAccount.objects.select_for_update().update_or_create(
            user=person,
            defaults={
                "account_name": account_name,
                "sort_code": "" if iban else sort_code,
                "account_number": "" if iban else account_number,
                "iban": iban,
            },
        )
        # The audit trail records that it changed, not the numbers.
        audit_record(
            actor=actor,
            issuer=None,
            action="payout_account.set",
            obj=account,
            data={"kind": "iban" if iban else "uk"},
        )
        return account


def payout_batch_get_for_officer(actor: Actor, batch_id: int) -> PayoutBatch:
    gates.require_signed_in(actor)
    missing = NotFound("No such payout batch.", code="payout_batch_not_found")
    batch = PayoutBatch.objects.select_related("issuer", "interest_run").filter(pk=batch_id).first()
    if batch is None:
        raise missing
    gates.require_private(actor, issuer_id=batch.issuer_id, owner_id=None, missing=missing)
    gates.require_officer(actor, batch.issuer)
    return batch


def payout_batch_mark_sent(*, actor: Actor, batch_id: int, idempotency_key: str | None = None) -> PayoutBatch:
    """The officer has made the batch's payments: the ledger moves the cash (once).

    Marking a batch already sent returns it and moves nothing, so a request
    retried while the first is in flight waits for the batch's lock and then
    answers as the first did. An `idempotency_key` names this batch's
    sending: given for another batch of the issuer, it is refused (409
    `idempotency_key_reused`)."""
    try:
        return _payout_batch_mark_sent(actor=actor, batch_id=batch_id, idempotency_key=idempotency_key)
    except IntegrityError:
        # The same key marked another batch sent at the same moment, and committed first.
        batch = PayoutBatch.objects.get(pk=batch_id)
        if idempotency_key is None or _sent_with_key(batch, idempotency_key) is None:
            raise
        raise _key_reused() from None


def _sent_with_key(batch: PayoutBatch, idempotency_key: str) -> PayoutBatch | None:
    """Another batch of the issuer that this key marked sent, if any."""
    return (
        PayoutBatch.objects.filter(issuer_id=batch.issuer_id, sent_idempotency_key=idempotency_key)
        .exclude(pk=batch.pk)
        .first()
    )


def _key_reused() -> Conflict:
    return Conflict(
        "This Idempotency-Key was used to mark another payout batch sent.", code="idempotency_key_reused"
    )


def _payout_batch_mark_sent(*, actor: Actor, batch_id: int, idempotency_key: str | None) -> PayoutBatch:
    batch = payout_batch_get_for_officer(actor, batch_id)
    with refusals_kept(actor=actor, issuer=batch.issuer, subject=batch), transaction.atomic(durable=True):
        batch = (
            PayoutBatch.objects.select_for_update(of=("self",))
            .select_related("issuer", "interest_run")
            .get(pk=batch_id)
        )
        if idempotency_key is not None and _sent_with_key(batch, idempotency_key) is not None:
            raise _key_reused()
        if batch.status == PayoutBatchStatus.SENT:
            return batch
        if batch.interest_run is not None and batch.interest_run.status != InterestRunStatus.COMPLETED:
            raise InvalidState(
                "The interest run is still adding payouts to this batch; mark it sent once the run has completed.",
                code="interest_run_not_completed",
                extra={"interest_run": batch.interest_run_id},
            )
        payouts = list(batch.payouts.select_for_update().filter(status=PayoutStatus.OWED).order_by("id"))
        _judge(actor, batch, payouts)
        today = timezone.localdate()
        now = timezone.now()
        for start in range(0, len(payouts), POST_CHUNK):
            chunk = payouts[start : start + POST_CHUNK]
            entries = entries_post(
                issuer=batch.issuer_id,
                entries=[
                    EntrySpec(
                        kind=EntryKind.PAYOUT,
                        value_date=today,
                        description=f"Payout {p.pk} sent ({p.kind}): holding {p.holding_id}, batch {batch.pk}",
                        idempotency_key=f"payout:{p.pk}",
                        postings=[
                            Posting(payable_account(p), p.amount_pence),
                            Posting(accounts.CASH_AT_BANK, -p.amount_pence),
                        ],
                    )
                    for p in chunk
                ],
            )
            for payout, entry in zip(chunk, entries, strict=True):
                payout.status = PayoutStatus.SENT
                payout.sent_at = now
                payout.sent_entry = entry
        Payout.objects.bulk_update(payouts, ["status", "sent_at", "sent_entry"], batch_size=POST_CHUNK)
        batch.status = PayoutBatchStatus.SENT
        batch.sent_at = now
        batch.marked_by = gates.require_person(actor)
        batch.sent_idempotency_key = idempotency_key
        batch.save(update_fields=["status", "sent_at", "marked_by", "sent_idempotency_key"])
        audit_record(
            actor=actor,
            issuer=batch.issuer,
            action="payout_batch.sent",
            obj=batch,
            data={"payouts": len(payouts), "total_pence": sum(p.amount_pence for p in payouts)},
        )
        notifications.payouts_sent(batch)
        return batch


def _judge(actor: Actor, batch: PayoutBatch, payouts: list[Payout]) -> None:
    """The asset lock, once for the batch's interest and once for its principal.

    Owed to each holding is what its payable account holds; the amount owed
    that the batch may pay is the sum over holdings of the lesser of what it
    pays them and what they are owed, so the batch is within the terms
    exactly when no holder would get more than they are owed."""
    paying: dict[str, int] = defaultdict(int)
    for payout in payouts:
        paying[payable_account(payout)] += payout.amount_pence
    if not paying:
        return
    balances = {
        row.account: -row.balance_pence
        for row in account_balances(issuer=batch.issuer_id)
        if row.account in paying
    }
    for purpose, prefix in (
        (Purpose.BOND_INTEREST, "interest_payable:"),
        (Purpose.BOND_PRINCIPAL, "redemption_payable:"),
    ):
        codes = [code for code in paying if code.startswith(prefix)]
        if not codes:
            continue
        amount = sum(paying[code] for code in codes)
        owed = sum(min(paying[code], max(balances.get(code, 0), 0)) for code in codes)
        asset_lock_judge(
            actor=actor,
            issuer=batch.issuer,
            outflow=Outflow(
                purpose=purpose,
                amount_pence=amount,
                recipient=f"bondholders paid by payout batch {batch.pk}",
                owed_pence=owed,
            ),
            subject=batch,
        )
