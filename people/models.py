"""People: a resident's profile beside Django's user, and how people sign in.

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
    # News about their bonds that a resident may do without (payment received, interest,
    # payouts sent). What they must know is always sent: how to pay, their allotment and
    # certificate, a decision on early repayment, a refund (investments.notifications).
    email_updates = models.BooleanField(default=True)
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


class RecoveryCode(models.Model):
    """A one-time code that stands in for the authenticator once (a lost phone).

    Ten are given when two-factor sign-in is confirmed, shown once. Only the
    SHA-256 of each is kept: a code carries 80 random bits, too many to guess
    from the digest, so a slow password hash is not needed to protect it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "digest"], name="people_recovery_code_unique_per_user")
        ]

    def __str__(self) -> str:
        return f"recovery code of {self.user}"


class AuthToken(models.Model):
    """An API token from one sign-in (`Authorization: Token <key>`).

    Only the SHA-256 of the key is stored: a copy of the database does not sign
    anyone in. Each sign-in gets its own token, which expires (TOKEN_TTL) and
    can be revoked alone (`auth/logout/`). `verified_device` is the authenticator
    whose code this sign-in gave; tokens issued on the password alone have none,
    and the gates that need two-factor sign-in refuse them (issuers.gates)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auth_tokens")
    digest = models.CharField(max_length=64, unique=True)
    verified_device = models.ForeignKey(
        TotpDevice, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"token of {self.user} until {self.expires_at:%Y-%m-%d %H:%M}"


class SignInFailures(models.Model):
    """Failed sign-ins per account name, for the lock-out (issue 9, finding 1).

    In the database so that every web process counts together. Keyed by the
    name as typed, normalised (NFKC, case-folded), whether or not such an
    account exists, so the lock-out says nothing about which names are taken."""

    username_key = models.CharField(max_length=150, unique=True)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "sign-in failures"

    def __str__(self) -> str:
        return f"{self.failures} failed sign-ins as {self.username_key}"


class AccountSecurity(models.Model):
    """What proves who a person is, beyond Django's user row. Absent means "never changed".

    `credentials_epoch` counts the changes to a person's second factor (set up,
    removed, reset by staff). A web session remembers the epoch it signed in
    at; a session from an earlier epoch is ended at its next request, so a
    session that predates two-factor set-up does not outlive it. (A password
    change ends other sessions through Django's own session hash.)

    `verified_email` is the address proven by a signed link: verification holds
    only while it is still the account's address."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="security"
    )
    credentials_epoch = models.PositiveIntegerField(default=0)
    verified_email = models.EmailField(blank=True, default="")
    email_verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "account security"

    def __str__(self) -> str:
        return f"security of {self.user}"
