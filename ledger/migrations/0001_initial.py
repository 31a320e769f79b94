"""The ledger becomes its own app: its models move here from `investments`, its rows do not move.

State only (`SeparateDatabaseAndState`): the tables keep their names
(`investments_ledger*`), so no row is copied or rewritten, the append-only
and balance triggers (investments 0002) stay attached to them, and the chain
verifies with the same heads after the move. `investments` 0007 then drops
the models from its own state.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('issuers', '0001_initial'),
        # The tables and their triggers were created there.
        ('investments', '0006_refund_reason_unpaid_in_time'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='LedgerAccount',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('code', models.CharField(max_length=64)),
                        ('account_type', models.CharField(choices=[('asset', 'Asset'), ('liability', 'Liability'), ('equity', 'Equity'), ('income', 'Income'), ('expense', 'Expense')], max_length=10)),
                        ('normal_side', models.CharField(choices=[('debit', 'Debit'), ('credit', 'Credit')], max_length=6)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('issuer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='ledger_accounts', to='issuers.issuer')),
                    ],
                    options={
                        'db_table': 'investments_ledgeraccount',
                        'ordering': ['issuer_id', 'code'],
                    },
                ),
                migrations.CreateModel(
                    name='LedgerCheckpoint',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('sequence', models.BigIntegerField()),
                        ('hash', models.CharField(max_length=64)),
                        ('signed_at', models.DateTimeField()),
                        ('algorithm', models.CharField(default='Ed25519', max_length=20)),
                        ('key_id', models.CharField(max_length=32)),
                        ('signature', models.CharField(max_length=128)),
                        ('issuer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='ledger_checkpoints', to='issuers.issuer')),
                    ],
                    options={
                        'db_table': 'investments_ledgercheckpoint',
                        'ordering': ['issuer_id', 'sequence'],
                    },
                ),
                migrations.CreateModel(
                    name='LedgerEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('sequence', models.BigIntegerField()),
                        ('kind', models.CharField(choices=[('subscription_payment', 'Subscription payment received'), ('subscription_refund', 'Subscription refunded'), ('allotment', 'Bonds allotted'), ('interest_accrual', 'Interest accrued'), ('interest_payment', 'Interest paid'), ('interest_waiver', 'Interest waived'), ('interest_reinvestment', 'Interest reinvested'), ('tax_withholding', 'Tax withheld'), ('redemption', 'Principal repaid'), ('distribution', 'Distribution'), ('fee', 'Fee'), ('transfer', 'Transfer between own accounts'), ('reversal', 'Reversal'), ('adjustment', 'Adjustment')], max_length=30)),
                        ('value_date', models.DateField()),
                        ('description', models.CharField(max_length=500)),
                        ('idempotency_key', models.CharField(max_length=200)),
                        ('recorded_at', models.DateTimeField()),
                        ('prev_hash', models.CharField(max_length=64)),
                        ('hash', models.CharField(max_length=64)),
                        ('issuer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='ledger_entries', to='issuers.issuer')),
                        ('reverses', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='reversal', to='ledger.ledgerentry')),
                    ],
                    options={
                        'db_table': 'investments_ledgerentry',
                        'verbose_name_plural': 'ledger entries',
                        'ordering': ['issuer_id', 'sequence'],
                    },
                ),
                migrations.CreateModel(
                    name='LedgerHead',
                    fields=[
                        ('issuer', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, primary_key=True, related_name='ledger_head', serialize=False, to='issuers.issuer')),
                        ('last_sequence', models.BigIntegerField(default=0)),
                        ('last_hash', models.CharField(default='0000000000000000000000000000000000000000000000000000000000000000', max_length=64)),
                    ],
                    options={
                        'db_table': 'investments_ledgerhead',
                        'constraints': [models.CheckConstraint(condition=models.Q(('last_sequence__gte', 0)), name='ledger_head_sequence_gte_0')],
                    },
                ),
                migrations.CreateModel(
                    name='LedgerPosting',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('position', models.PositiveSmallIntegerField()),
                        ('amount_pence', models.BigIntegerField()),
                        ('currency', models.CharField(max_length=3)),
                        ('account', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='postings', to='ledger.ledgeraccount')),
                        ('entry', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='postings', to='ledger.ledgerentry')),
                    ],
                    options={
                        'db_table': 'investments_ledgerposting',
                        'ordering': ['entry_id', 'position'],
                    },
                ),
                migrations.AddConstraint(
                    model_name='ledgeraccount',
                    constraint=models.UniqueConstraint(fields=('issuer', 'code'), name='ledger_account_code_once'),
                ),
                migrations.AddConstraint(
                    model_name='ledgercheckpoint',
                    constraint=models.UniqueConstraint(fields=('issuer', 'sequence', 'key_id'), name='ledger_checkpoint_once_per_key'),
                ),
                migrations.AddIndex(
                    model_name='ledgerentry',
                    index=models.Index(fields=['issuer', 'value_date'], name='ledger_entry_value_date'),
                ),
                migrations.AddConstraint(
                    model_name='ledgerentry',
                    constraint=models.UniqueConstraint(fields=('issuer', 'sequence'), name='ledger_entry_sequence_once'),
                ),
                migrations.AddConstraint(
                    model_name='ledgerentry',
                    constraint=models.UniqueConstraint(fields=('issuer', 'idempotency_key'), name='ledger_entry_idempotency_key_once'),
                ),
                migrations.AddConstraint(
                    model_name='ledgerentry',
                    constraint=models.CheckConstraint(condition=models.Q(('sequence__gte', 1)), name='ledger_entry_sequence_gte_1'),
                ),
                migrations.AddIndex(
                    model_name='ledgerposting',
                    index=models.Index(fields=['account', 'currency', 'amount_pence'], name='ledger_posting_balance'),
                ),
                migrations.AddConstraint(
                    model_name='ledgerposting',
                    constraint=models.UniqueConstraint(fields=('entry', 'position'), name='ledger_posting_position_once'),
                ),
                migrations.AddConstraint(
                    model_name='ledgerposting',
                    constraint=models.CheckConstraint(condition=models.Q(('amount_pence', 0), _negated=True), name='ledger_posting_amount_nonzero'),
                ),
            ],
            database_operations=[],
        ),
    ]
