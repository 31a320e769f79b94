"""Where new payouts go: the interest run's batch, or the issuer's open batch of the day.

Called inside the transaction that makes the money owed, after it has locked
the issue (and the run or the holdings): a batch is locked last before the
ledger head (the order in `investments/locks.py`), so a batch being marked
sent never receives a payout half-way.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from investments.models import InterestRun, PayoutBatch, PayoutBatchStatus


def payout_batch_of_run(run: InterestRun, *, issuer_id: int) -> PayoutBatch:
    """The run's own batch (created with its first payout; the caller holds the run's lock)."""
    batch, _ = PayoutBatch.objects.get_or_create(
        interest_run=run, defaults={"issuer_id": issuer_id, "opened_on": run.period_end}
    )
    return PayoutBatch.objects.select_for_update().get(pk=batch.pk)


def payout_batch_of_day(*, issuer_id: int, day: dt.date) -> PayoutBatch:
    """The issuer's open batch of redemptions and maturities for `day`, locked; created if there is none.

    Two transactions creating it at once: the unique constraint makes the
    loser wait for the winner's COMMIT and fail, and it then takes the
    winner's batch."""
    for _ in range(2):
        batch = (
            PayoutBatch.objects.select_for_update()
            .filter(issuer_id=issuer_id, opened_on=day, interest_run=None, status=PayoutBatchStatus.OPEN)
            .first()
        )
        if batch is not None:
            return batch
        try:
            with transaction.atomic():
                return PayoutBatch.objects.create(issuer_id=issuer_id, opened_on=day)
        except IntegrityError:
            continue
    raise AssertionError("unreachable: the open batch of the day was created and then vanished")
