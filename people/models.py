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
