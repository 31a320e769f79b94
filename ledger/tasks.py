"""django-q2 tasks for the ledger: each calls services and is safe to run again."""

from __future__ import annotations

import logging

from bondplatform.errors import ServiceError
from ledger.models import LedgerHead
from ledger.signing import checkpoint_sign

logger = logging.getLogger(__name__)


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
