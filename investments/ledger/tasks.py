"""django-q2 tasks for the ledger: each calls services and is safe to run again."""

from __future__ import annotations

import logging

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.signals import post_migrate

from bondplatform.errors import ServiceError
from investments.ledger.models import LedgerHead
from investments.ledger.signing import checkpoint_sign

logger = logging.getLogger(__name__)

SIGN_SCHEDULE_NAME = "ledger: sign each issuer's chain head (daily)"
SIGN_TASK = "investments.ledger.tasks.sign_all_checkpoints"


def sign_all_checkpoints() -> dict[int, int | None]:
    """Sign every issuer's chain head; {issuer id: signed sequence, or None if refused}.

    An issuer whose chain fails verification is logged as an error and left
    unsigned; the others are still signed.
    """
    signed: dict[int, int | None] = {}
    issuer_ids = LedgerHead.objects.filter(last_sequence__gt=0).values_list("issuer_id", flat=True)
    for issuer_id in issuer_ids.order_by("issuer_id"):
        try:
            checkpoint = checkpoint_sign(issuer=issuer_id)
        except ServiceError as exc:
            logger.error("Ledger of issuer %s not signed: %s", issuer_id, exc.detail)
            signed[issuer_id] = None
        else:
            signed[issuer_id] = checkpoint.sequence if checkpoint else None
    return signed


def schedule_ensure(*, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    """post_migrate: make sure the daily signing schedule exists (once, found by name)."""
    from django_q.models import Schedule

    if Schedule._meta.db_table not in connections[using].introspection.table_names():
        return  # django_q not migrated yet; its own migrate run will call this again
    Schedule.objects.using(using).get_or_create(
        name=SIGN_SCHEDULE_NAME,
        defaults={"func": SIGN_TASK, "schedule_type": Schedule.DAILY, "repeats": -1},
    )


def connect_signals(sender) -> None:
    post_migrate.connect(schedule_ensure, sender=sender, dispatch_uid="ledger_sign_schedule")
