"""The ledger: accounts, entries, postings, the chain head and signed checkpoints.

Invariants kept here (and where each one is enforced):
- double entry: every entry has at least two postings whose signed amounts
  (positive = debit, negative = credit, integer minor units, never zero) sum to
  zero per currency. `services.entry_post` checks it before writing; on
  PostgreSQL a deferred constraint trigger checks it again at COMMIT
  (migration 0002), so no code path, raw SQL included, can commit an
  unbalanced entry;
- append-only: entries, postings and checkpoints are never updated or
  deleted. Database triggers refuse UPDATE and DELETE on PostgreSQL and
  SQLite, and TRUNCATE on PostgreSQL. Corrections are new entries that
  `reverses` the wrong one (an entry is reversed at most once);
- one chain per issuer: `sequence` is gapless from 1 within an issuer, and
  `hash = SHA-256(prev_hash || canonical bytes)` (see `canonical.py`), so any
  change, deletion or reordering of a stored row is detected by `verify.py`;
- idempotency: (issuer, idempotency_key) is unique; a business event posts at
  most once;
- no personal data: account codes name purposes and ids only (see
  `ACCOUNT_CHART`), so a resident's personal data can be erased from the
  register without touching the chain.

`LedgerHead` is the one mutable row: the issuer's last sequence and hash,
locked with SELECT ... FOR UPDATE by every post to serialise the chain. It is
not part of the record; the verifier recomputes the chain from the entries
and checks that the head agrees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import models

GENESIS_HASH = "0" * 64


class AccountType(models.TextChoices):
    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    EQUITY = "equity", "Equity"
    INCOME = "income", "Income"
    EXPENSE = "expense", "Expense"
    # Off the balance sheet: a record the auditor sees (interest a holder waived),
    # kept in pairs of memorandum accounts that net each other, so the trial
    # balance of the real accounts is untouched.
    MEMORANDUM = "memorandum", "Memorandum"


class Side(models.TextChoices):
    DEBIT = "debit", "Debit"
    CREDIT = "credit", "Credit"


@dataclass(frozen=True)
class ChartLine:
    account_type: AccountType
    normal_side: Side
    # Per-holding accounts must carry the holding id (`bond_principal:42`);
    # the others may carry an id of whatever they are kept per (or none).
    needs_id: bool = False


# The chart of accounts, the same for every issuer. An account code is a
# prefix from this chart, optionally followed by ":" and a numeric id: purposes
# and ids only, never a name, so the ledger holds no personal data.
ACCOUNT_CHART: dict[str, ChartLine] = {
    "cash_at_bank": ChartLine(AccountType.ASSET, Side.DEBIT),
    "stripe_clearing": ChartLine(AccountType.ASSET, Side.DEBIT),
    "subscriptions_held": ChartLine(AccountType.LIABILITY, Side.CREDIT),
    "bond_principal": ChartLine(AccountType.LIABILITY, Side.CREDIT, needs_id=True),
    "interest_expense": ChartLine(AccountType.EXPENSE, Side.DEBIT),
    "interest_payable": ChartLine(AccountType.LIABILITY, Side.CREDIT, needs_id=True),
    "refunds_payable": ChartLine(AccountType.LIABILITY, Side.CREDIT),
    "community_fund": ChartLine(AccountType.EQUITY, Side.CREDIT),
    "tax_payable": ChartLine(AccountType.LIABILITY, Side.CREDIT),
    "stripe_fees": ChartLine(AccountType.EXPENSE, Side.DEBIT),
    "distributions": ChartLine(AccountType.EQUITY, Side.DEBIT),
    # What the issuer buys for full consideration (a supplier paid against an invoice).
    "goods_and_services": ChartLine(AccountType.EXPENSE, Side.DEBIT),
    "redemption_payable": ChartLine(AccountType.LIABILITY, Side.CREDIT, needs_id=True),
    # Interest a holder waived (per holding), against one contra account per issuer.
    "memo_interest_waived": ChartLine(AccountType.MEMORANDUM, Side.CREDIT, needs_id=True),
    "memo_interest_waived_contra": ChartLine(AccountType.MEMORANDUM, Side.DEBIT),
}

ACCOUNT_CODE_RE = re.compile(r"^(?P<prefix>[a-z_]+)(?::(?P<id>[1-9][0-9]{0,18}))?$")


def chart_line(code: str) -> ChartLine | None:
    """The chart line for an account code, or None if the code is not allowed."""
    match = ACCOUNT_CODE_RE.fullmatch(code)
    if match is None:
        return None
    line = ACCOUNT_CHART.get(match["prefix"])
    if line is None or (line.needs_id and match["id"] is None):
        return None
    return line


class EntryKind(models.TextChoices):
    SUBSCRIPTION_PAYMENT = "subscription_payment", "Subscription payment received"
    SUBSCRIPTION_REFUND = "subscription_refund", "Subscription refunded"
    ALLOTMENT = "allotment", "Bonds allotted"
    INTEREST_ACCRUAL = "interest_accrual", "Interest accrued"
    INTEREST_PAYMENT = "interest_payment", "Interest paid"
    INTEREST_WAIVER = "interest_waiver", "Interest waived"
    INTEREST_REINVESTMENT = "interest_reinvestment", "Interest reinvested"
    TAX_WITHHOLDING = "tax_withholding", "Tax withheld"
    REDEMPTION = "redemption", "Principal repaid"
    DISTRIBUTION = "distribution", "Distribution"
    FEE = "fee", "Fee"
    TRANSFER = "transfer", "Transfer between own accounts"
    REVERSAL = "reversal", "Reversal"
    ADJUSTMENT = "adjustment", "Adjustment"
    PAYOUT = "payout", "Payout sent to a holder"


class LedgerAccount(models.Model):
    issuer = models.ForeignKey("issuers.Issuer", on_delete=models.PROTECT, related_name="ledger_accounts")
    code = models.CharField(max_length=64)
    account_type = models.CharField(max_length=10, choices=AccountType.choices)
    normal_side = models.CharField(max_length=6, choices=Side.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # Table name kept from when the ledger lived in `investments` (see migration 0001).
        db_table = "investments_ledgeraccount"
        ordering = ["issuer_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "code"], name="ledger_account_code_once"),
        ]

    def __str__(self) -> str:
        return f"{self.code} (issuer {self.issuer_id})"


class LedgerHead(models.Model):
    """The end of an issuer's chain; the row every post locks (FOR UPDATE)."""

    issuer = models.OneToOneField(
        "issuers.Issuer", on_delete=models.PROTECT, primary_key=True, related_name="ledger_head"
    )
    last_sequence = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    # When the last entry was recorded. A post is recorded no earlier (one that waited for the
    # lock after reading the clock takes this time instead), so recording order is chain order.
    last_recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Table name kept from when the ledger lived in `investments` (see migration 0001).
        db_table = "investments_ledgerhead"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(last_sequence__gte=0), name="ledger_head_sequence_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"issuer {self.issuer_id} at {self.last_sequence}"


class LedgerEntry(models.Model):
    issuer = models.ForeignKey("issuers.Issuer", on_delete=models.PROTECT, related_name="ledger_entries")
    sequence = models.BigIntegerField()
    kind = models.CharField(max_length=30, choices=EntryKind.choices)
    value_date = models.DateField()
    description = models.CharField(max_length=500)
    idempotency_key = models.CharField(max_length=200)
    # At most one reversal per entry (a OneToOne), always of the same issuer.
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversal"
    )
    recorded_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        # Table name kept from when the ledger lived in `investments` (see migration 0001).
        db_table = "investments_ledgerentry"
        ordering = ["issuer_id", "sequence"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "sequence"], name="ledger_entry_sequence_once"),
            models.UniqueConstraint(
                fields=["issuer", "idempotency_key"], name="ledger_entry_idempotency_key_once"
            ),
            models.CheckConstraint(condition=models.Q(sequence__gte=1), name="ledger_entry_sequence_gte_1"),
        ]
        indexes = [models.Index(fields=["issuer", "value_date"], name="ledger_entry_value_date")]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.kind} (issuer {self.issuer_id})"


class LedgerPosting(models.Model):
    # No separate index on entry_id: the unique (entry, position) index serves
    # the lookups by entry, the deferred balance trigger's included.
    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="postings", db_index=False)
    # No separate index on account_id: the covering (account, currency,
    # amount_pence) index serves it and the trial balance (an index-only scan).
    account = models.ForeignKey(
        LedgerAccount, on_delete=models.PROTECT, related_name="postings", db_index=False
    )
    position = models.PositiveSmallIntegerField()
    # Signed minor units: positive is a debit, negative a credit; never zero.
    amount_pence = models.BigIntegerField()
    currency = models.CharField(max_length=3)

    class Meta:
        # Table name kept from when the ledger lived in `investments` (see migration 0001).
        db_table = "investments_ledgerposting"
        ordering = ["entry_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "position"], name="ledger_posting_position_once"),
            models.CheckConstraint(condition=~models.Q(amount_pence=0), name="ledger_posting_amount_nonzero"),
        ]
        indexes = [
            models.Index(fields=["account", "currency", "amount_pence"], name="ledger_posting_balance"),
        ]

    def __str__(self) -> str:
        return f"{self.amount_pence} {self.currency} on account {self.account_id}"

    @property
    def debit_pence(self) -> int:
        return self.amount_pence if self.amount_pence > 0 else 0

    @property
    def credit_pence(self) -> int:
        return -self.amount_pence if self.amount_pence < 0 else 0


class LedgerCheckpoint(models.Model):
    """A signed statement that the issuer's chain had `hash` at `sequence` at `signed_at`."""

    issuer = models.ForeignKey("issuers.Issuer", on_delete=models.PROTECT, related_name="ledger_checkpoints")
    sequence = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    algorithm = models.CharField(max_length=20, default="Ed25519")
    # The first 16 bytes of SHA-256 of the raw public key, hex.
    key_id = models.CharField(max_length=32)
    signature = models.CharField(max_length=128)
    # Since the Merkle tree (format 2): the signed tree head, RFC 9162. The tree
    # covers entries 1..tree_size (tree_size == sequence); null on format-1 checkpoints.
    tree_size = models.BigIntegerField(null=True, blank=True)
    merkle_root = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        # Table name kept from when the ledger lived in `investments` (see migration 0001).
        db_table = "investments_ledgercheckpoint"
        ordering = ["issuer_id", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "sequence", "key_id"], name="ledger_checkpoint_once_per_key"
            ),
        ]

    def __str__(self) -> str:
        return f"checkpoint of issuer {self.issuer_id} at {self.sequence}"


class MerkleNode(models.Model):
    """A stored root of a complete subtree of an issuer's Merkle tree (RFC 9162), 2**level leaves
    from leaf `index * 2**level`: a cache derived from the immutable entries, written once
    when first computed, so a proof in a large ledger reads a few rows instead of rehashing
    it (`ledger.proofs`). A wrong row cannot forge anything: proofs are checked against
    signed roots."""

    issuer = models.ForeignKey("issuers.Issuer", on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "level", "index"], name="merkle_node_once"),
        ]

    def __str__(self) -> str:
        return f"issuer {self.issuer_id} node {self.level}/{self.index}"


__all__ = [
    "ACCOUNT_CHART",
    "GENESIS_HASH",
    "AccountType",
    "EntryKind",
    "LedgerAccount",
    "LedgerCheckpoint",
    "LedgerEntry",
    "LedgerHead",
    "LedgerPosting",
    "MerkleNode",
    "Side",
    "chart_line",
]

# Large PDF statements made in the background (ledger.statement_jobs).
from ledger.statement_job_models import (  # noqa: E402, F401
    StatementJob,
    StatementJobPart,
    StatementJobSlice,
    StatementJobStatus,
)
