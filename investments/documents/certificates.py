"""Bond certificates: the holder's evidence of a holding, tied to the ledger entry that allotted it.

A certificate names the issuer, the holder, the principal allotted, the
terms, the allotment and maturity dates, and the allotment's ledger entry:
its sequence in the issuer's chain and a verification code, the first 20
hex digits of that entry's hash in groups of four. The hash covers the
entry's amount, accounts, dates and place in the chain (`ledger.canonical`),
so anyone who can see entry #N of the issuer's ledger (its officers and
auditors, or the holder through the inclusion proofs of their annual
statement) can check that the code on the paper is the entry's.

The principal shown is the amount allotted (the allotment entry's credit to
the holding's principal), not today's: reinvested interest and redemptions
change the holding later, and the annual statements show them.

`certificate_pdf(holding_id=...)` makes the file without a permission check,
for the allotment e-mail sent by the worker; people reach it through
`certificate_get_for`, which checks who asks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils import timezone

from bondplatform.actors import Actor, is_system
from bondplatform.errors import NotFound
from bondplatform.pdf import pdf_from_html
from investments import accounts
from investments.interest import maturity_date
from investments.models import BondIssue, Holding
from issuers import gates
from issuers.models import Issuer
from ledger.models import LedgerEntry, LedgerPosting

__all__ = [
    "VERIFICATION_CODE_DIGITS",
    "Certificate",
    "certificate_get_for",
    "certificate_of",
    "certificate_pdf",
    "certificate_render",
    "holder_name",
    "holding_get_for_documents",
    "verification_code",
]

# 20 hex digits (80 bits of the entry's hash): far beyond guessing, short enough to read out.
VERIFICATION_CODE_DIGITS = 20


def verification_code(entry_hash: str) -> str:
    """'3f9a0c...' -> '3F9A-0C..-....-....-....': the first 20 hex digits of the hash, grouped by four."""
    digits = entry_hash[:VERIFICATION_CODE_DIGITS].upper()
    return "-".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def holder_name(user) -> str:
    profile = getattr(user, "profile", None)
    return profile.full_name if profile is not None else user.get_username()


def holding_get_for_documents(holding_id: int, *, actor: Actor) -> Holding:
    """A holding, for its holder or for the officers and auditors of its issuer: 401 for nobody,
    404 for anyone who may not know it exists (`gates.require_private`: ids reveal nothing),
    then 403 for staff, who may know it but not read a holder's papers."""
    gates.require_signed_in(actor)
    missing = NotFound("No such holding.", code="holding_not_found")
    holding = Holding.objects.select_related("issue__issuer", "holder__profile").filter(pk=holding_id).first()
    if holding is None:
        raise missing
    gates.require_private(
        actor, issuer_id=holding.issue.issuer_id, owner_id=holding.holder_id, missing=missing
    )
    if not is_system(actor) and actor.pk == holding.holder_id:
        return holding
    gates.require_register_reader(actor, holding.issue.issuer_id)
    return holding


@dataclass(frozen=True)
class Certificate:
    holding: Holding
    issue: BondIssue
    issuer: Issuer
    holder_name: str
    holder_postcode: str
    principal_pence: int
    currency: str
    allotted_on: dt.date
    maturity_date: dt.date
    entry_sequence: int
    entry_hash: str
    verification_code: str
    certificate_number: str


def certificate_of(holding: Holding) -> Certificate:
    """The certificate of a holding (no permission check: the callers check)."""
    issue = holding.issue
    entry = (
        LedgerEntry.objects.filter(
            issuer_id=issue.issuer_id, idempotency_key=f"allotment:{holding.subscription_id}"
        )
        .only("id", "sequence", "hash")
        .first()
    )
    if entry is None:  # every holding is made with its allotment entry, in one transaction
        raise NotFound("This holding has no allotment in the ledger.", code="allotment_not_found")
    credit = LedgerPosting.objects.filter(
        entry_id=entry.pk, account__code=accounts.principal_of(holding.pk)
    ).values_list("amount_pence", flat=True)
    principal = -sum(credit)
    profile = getattr(holding.holder, "profile", None)
    return Certificate(
        holding=holding,
        issue=issue,
        issuer=issue.issuer,
        holder_name=holder_name(holding.holder),
        holder_postcode=profile.postcode if profile is not None else "",
        principal_pence=principal,
        currency=issue.currency,
        allotted_on=holding.allotted_on,
        maturity_date=maturity_date(allotted_on=holding.allotted_on, term_months=issue.term_months),
        entry_sequence=entry.sequence,
        entry_hash=entry.hash,
        verification_code=verification_code(entry.hash),
        certificate_number=f"MB-{issue.issuer_id}-{issue.pk}-{holding.pk}",
    )


def certificate_get_for(*, actor: Actor, holding_id: int) -> Certificate:
    return certificate_of(holding_get_for_documents(holding_id, actor=actor))


def certificate_render(certificate: Certificate) -> bytes:
    html = render_to_string(
        "investments/documents/certificate.html",
        {"c": certificate, "made_on": timezone.localdate()},
    )
    return pdf_from_html(html)


def certificate_pdf(*, holding_id: int) -> bytes:
    """The PDF bytes of a holding's certificate, for the worker (the allotment e-mail attaches it)."""
    holding = Holding.objects.select_related("issue__issuer", "holder__profile").filter(pk=holding_id).first()
    if holding is None:
        raise NotFound("No such holding.", code="holding_not_found")
    return certificate_render(certificate_of(holding))
