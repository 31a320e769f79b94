"""People: a resident's profile beside Django's user.

Personal data lives here and in the register, never in the ledger, so that it
can be redacted without breaking the ledger's hash chain.
"""

from django.conf import settings
from django.db import models


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    full_name = models.CharField(max_length=200)
    date_of_birth = models.DateField()
    # Stored normalised: upper case, one space before the inward code.
    postcode = models.CharField(max_length=10)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.full_name


class TotpDevice(models.Model):
    """A person's authenticator app. Once confirmed, signing in needs its code too."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device"
    )
    secret = models.CharField(max_length=64)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last 30-second step whose code was accepted: a code is never accepted twice.
    last_step = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"authenticator of {self.user}"

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None
