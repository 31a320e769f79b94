"""Issuers (the mutuals) and the roles people hold in them.

Invariants kept here:
- an issuer's `asset_lock_basis` fits its `legal_form` (see
  `issuers.services.ALLOWED_ASSET_LOCK_BASES`); checked by the service that
  creates issuers, since it is a rule with a source, not a data type;
- `max_interest_rate_percent` and `interest_tax_withholding_percent` lie in
  [0, 100] (database constraints);
- a person holds a role in an issuer at most once (a unique constraint);
- `winding_up_on` is set once, by `compliance.winding_up.winding_up_record`,
  and never cleared: from that day the asset lock lets the residual assets
  go only to another asset-locked body.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models


class LegalForm(models.TextChoices):
    COMMUNITY_BENEFIT_SOCIETY = "community_benefit_society", "Community benefit society"
    COOPERATIVE_SOCIETY = "cooperative_society", "Co-operative society"
    CIC_LIMITED_BY_SHARES = "cic_limited_by_shares", "CIC limited by shares"
    CIC_LIMITED_BY_GUARANTEE = "cic_limited_by_guarantee", "CIC limited by guarantee"
    CHARITY = "charity", "Charity"
    COMPANY_LIMITED_BY_GUARANTEE = "company_limited_by_guarantee", "Company limited by guarantee"
    OTHER = "other", "Other"


class AssetLockBasis(models.TextChoices):
    STATUTORY = "statutory", "Statutory (SI 2006/264)"
    CIC = "cic", "CIC Regulations 2005"
    ARTICLES = "articles", "Articles or rules"
    NONE = "none", "None"


SOCIETY_FORMS = frozenset({LegalForm.COMMUNITY_BENEFIT_SOCIETY, LegalForm.COOPERATIVE_SOCIETY})
CIC_FORMS = frozenset({LegalForm.CIC_LIMITED_BY_SHARES, LegalForm.CIC_LIMITED_BY_GUARANTEE})


class Issuer(models.Model):
    name = models.CharField(max_length=200)
    legal_form = models.CharField(max_length=40, choices=LegalForm.choices)
    registration_number = models.CharField(max_length=50, blank=True)
    asset_lock_basis = models.CharField(max_length=20, choices=AssetLockBasis.choices)
    max_interest_rate_percent = models.DecimalField(max_digits=5, decimal_places=2)
    # Where residents paying by bank transfer send their money.
    bank_account_name = models.CharField(max_length=200, blank=True)
    sort_code = models.CharField(max_length=8, blank=True)
    account_number = models.CharField(max_length=8, blank=True)
    # Basic-rate income tax deducted from interest paid to individuals (ITA 2007
    # s.874). Registered societies pay gross to UK residents whatever this says
    # (ITA 2007 s.887), and report instead (the HMRC return of interest).
    interest_tax_withholding_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("20.00")
    )
    # Dissolution: the day the members resolved (or a court ordered) that it be wound up.
    winding_up_on = models.DateField(null=True, blank=True)
    winding_up_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_interest_rate_percent__gte=Decimal("0"))
                & models.Q(max_interest_rate_percent__lte=Decimal("100")),
                name="issuer_max_rate_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(interest_tax_withholding_percent__gte=Decimal("0"))
                & models.Q(interest_tax_withholding_percent__lte=Decimal("100")),
                name="issuer_withholding_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def asset_locked(self) -> bool:
        return self.asset_lock_basis != AssetLockBasis.NONE

    @property
    def is_society(self) -> bool:
        return self.legal_form in SOCIETY_FORMS

    @property
    def is_cic(self) -> bool:
        return self.legal_form in CIC_FORMS


class Role(models.TextChoices):
    FINANCE_OFFICER = "finance_officer", "Finance officer"
    AUDITOR = "auditor", "Auditor"


class RoleGrant(models.Model):
    issuer = models.ForeignKey(Issuer, on_delete=models.CASCADE, related_name="role_grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(max_length=20, choices=Role.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "user", "role"], name="role_grant_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} of {self.issuer}"
