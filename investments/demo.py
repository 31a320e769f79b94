"""Demo bond issue for `manage.py seed_demo`: Citylife's money-back bond, open, with
a paid subscription and a pending one, and an update to its bondholders with a photo,
made through the same services as the API."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from PIL import Image, ImageDraw

from investments.models import BondIssue, Subscription
from investments.payments.receipts import receipt_record
from investments.services import issues as issue_services
from investments.services import subscriptions as subscription_services
from investments.services.updates import bondholder_update_post
from issuers.models import Issuer, Role, RoleGrant

DEMO_ISSUE = "Citylife Money-Back Bond 2026"


def seed(*, stdout: Any) -> None:
    issuer = Issuer.objects.filter(name="Sheffield Citylife Society").first()
    if issuer is None:
        return
    if BondIssue.objects.filter(issuer=issuer, name=DEMO_ISSUE).exists():
        return
    grant = RoleGrant.objects.filter(issuer=issuer, role=Role.FINANCE_OFFICER).select_related("user").first()
    if grant is None:
        return
    officer = grant.user
    now = timezone.now()
    issue = issue_services.issue_create(
        actor=officer,
        issuer=issuer,
        name=DEMO_ISSUE,
        description=(
            "Five-year money-back bonds, in the tradition of Citylife's 1999 Sheffield bonds: "
            "no interest, your money back in full at maturity, and the forgone interest "
            "becomes local jobs and homes."
        ),
        currency="GBP",
        coupon_rate_percent=Decimal("0.00"),
        term_months=60,
        interest_frequency="at_maturity",
        day_count="act_365f",
        min_subscription_pence=100_00,
        max_subscription_pence=5_000_00,
        min_raise_pence=50_000_00,
        max_raise_pence=250_000_00,
        opens_at=now - dt.timedelta(days=3),
        closes_at=now + dt.timedelta(days=60),
        eligible_postcode_prefixes=["S"],
        cooling_off_days=14,
        notice_days=90,
    )
    issue_services.issue_open(actor=officer, issue_id=issue.pk)
    User = get_user_model()
    rita, sam = User.objects.get(username="rita"), User.objects.get(username="sam")
    paid, _ = subscription_services.subscription_create(
        actor=rita, issue_id=issue.pk, amount_pence=1_000_00, payment_method="bank_transfer"
    )
    receipt_record(
        actor=officer,
        subscription_id=paid.pk,
        amount_pence=1_000_00,
        reference=paid.reference,
        received_on=timezone.localdate(),
        idempotency_key="demo:rita",
    )
    subscription_services.subscription_create(
        actor=sam, issue_id=issue.pk, amount_pence=250_00, payment_method="bank_transfer"
    )
    bondholder_update_post(
        actor=officer,
        issue_id=issue.pk,
        title="The first £1,000 is in: thank you",
        body=(
            "Three days into the offer, the first bonds are paid for. The money will refit the "
            "old workshop on Green Lane as a community kitchen, with six apprenticeships for "
            "young people from the estate.\n\nCome and see the building on Saturday from 10 am."
        ),
        photo=_workshop_drawing(),
        photo_alt="A drawing of the Green Lane workshop: a brick building with a pitched roof and a wide door.",
    )
    count = Subscription.objects.filter(issue=issue).count()
    stdout.write(f"Opened the demo issue {DEMO_ISSUE!r} with {count} subscriptions.")


def _workshop_drawing() -> bytes:
    """A simple drawing of the workshop, as a PNG (the demo ships no image files)."""
    image = Image.new("RGB", (800, 450), (214, 234, 248))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 360, 800, 450), fill=(120, 170, 90))
    draw.rectangle((220, 200, 580, 360), fill=(170, 80, 60))
    draw.polygon([(200, 200), (400, 90), (600, 200)], fill=(90, 60, 50))
    draw.rectangle((350, 260, 450, 360), fill=(0, 105, 92))
    for left in (250, 490):
        draw.rectangle((left, 230, left + 60, 280), fill=(250, 240, 200))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
