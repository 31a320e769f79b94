"""What an issue's money was used for, and its news, as its officers report them to everyone.

Imported at the end of `investments.models`, so these are models of the
`investments` app; `investments/services/accountability.py` writes the uses of
funds, `investments/services/updates.py` the updates to bondholders.

Invariants kept here:
- a use of funds is a positive amount, tied to the ledger entry that paid
  it, which is a distribution of the issue's issuer (checked by the service:
  the ledger entry is the proof that the money left, and the distribution's
  asset-lock decision that it was allowed to);
- the uses reported against one entry never add up to more than it paid, and
  an issue's uses never to more than it raised (the service, under the issue's
  lock);
- an update to bondholders is never changed once posted (no service edits or
  deletes one: its e-mail has gone, and the page must say what the e-mail
  said; a correction is a new update). It has a title and a text; a photo,
  if any, is a JPEG, PNG or WebP that the service decoded and encoded afresh,
  with its alternative text (the database checks both);
- a photo's bytes live in their own table, so that listing updates never
  reads them, and in the database, so that the backups (`pg_dump`) hold them
  and every web process, on any machine, can serve them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class UseOfFunds(models.Model):
    issue = models.ForeignKey("investments.BondIssue", on_delete=models.PROTECT, related_name="uses_of_funds")
    ledger_entry = models.ForeignKey("ledger.LedgerEntry", on_delete=models.PROTECT, related_name="+")
    amount_pence = models.BigIntegerField()
    purpose = models.CharField(max_length=500)
    spent_on = models.DateField()
    evidence_url = models.URLField(max_length=500, blank=True)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["issue_id", "spent_on", "id"]
        verbose_name_plural = "uses of funds"
        constraints = [
            models.CheckConstraint(condition=Q(amount_pence__gt=0), name="use_of_funds_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount_pence}p of issue {self.issue_id}: {self.purpose[:40]}"


# The content types a photo is kept and served as (bondplatform.images).
PHOTO_CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp")


class BondholderUpdate(models.Model):
    """News of the project an issue pays for, from its officers, to its bondholders and the public."""

    issue = models.ForeignKey("investments.BondIssue", on_delete=models.PROTECT, related_name="updates")
    title = models.CharField(max_length=200)
    body = models.TextField()
    # The day the update speaks for (today unless the officer gives an earlier one).
    published_on = models.DateField()
    # "" for an update without a photo; else the photo's type, and its size in pixels.
    photo_content_type = models.CharField(max_length=20, blank=True)
    photo_alt = models.CharField(max_length=300, blank=True)
    photo_width = models.PositiveIntegerField(null=True, blank=True)
    photo_height = models.PositiveIntegerField(null=True, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-published_on", "-id"]
        indexes = [models.Index(fields=["issue", "-published_on", "-id"], name="update_issue_newest")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(title="") & ~Q(body=""), name="bondholder_update_has_title_and_body"
            ),
            models.CheckConstraint(
                condition=Q(photo_content_type="")
                | (
                    Q(photo_content_type__in=PHOTO_CONTENT_TYPES)
                    & ~Q(photo_alt="")
                    & Q(photo_width__gt=0)
                    & Q(photo_height__gt=0)
                ),
                name="bondholder_update_photo_described",
            ),
        ]

    def __str__(self) -> str:
        return f"Update {self.pk} on issue {self.issue_id}: {self.title[:40]}"

    @property
    def has_photo(self) -> bool:
        return bool(self.photo_content_type)


class BondholderUpdatePhoto(models.Model):
    """The bytes of an update's photo (re-encoded, without metadata), read only to serve them."""

    update = models.OneToOneField(
        BondholderUpdate, on_delete=models.PROTECT, primary_key=True, related_name="photo"
    )
    content = models.BinaryField()

    def __str__(self) -> str:
        return f"Photo of update {self.pk}"
