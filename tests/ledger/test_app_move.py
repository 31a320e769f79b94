"""The ledger's move to its own app keeps every row, every hash and every guard.

A database at the migrations before the move (investments 0006, ledger and
the core's audit trail not yet apps of their own) holds ledger rows; the
executor then migrates it forward to today's leaves. Nothing is copied or
rewritten: the same entries verify to the same chain heads, and the
append-only triggers still refuse an UPDATE. Then back again, and forward,
to show the move is reversible.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from ledger.selectors import ledger_head

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_THE_MOVE = [
    ("investments", "0006_refund_reason_unpaid_in_time"),
    ("compliance", "0001_initial"),
    ("ledger", None),
    ("bondplatform", None),
]


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection)


def leaves():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def test_rows_from_before_the_move_verify_with_the_same_heads_after_it(new_issuer, pay_in):
    society, coop = new_issuer("Citylife Society"), new_issuer("Kelham Island Co-op")
    for n in range(5):
        pay_in(society, f"pay-{n}", 10_000 + n)
    pay_in(coop, "coop-1", 50_000)
    heads = {issuer.pk: ledger_head(issuer=issuer) for issuer in (society, coop)}

    executor = migrate(BEFORE_THE_MOVE)
    old_state = executor.loader.project_state(BEFORE_THE_MOVE[:2]).apps
    # Before the move the models belonged to `investments`, and they see the rows.
    assert old_state.get_model("investments", "LedgerEntry").objects.count() == 6
    assert old_state.get_model("investments", "LedgerPosting").objects.count() == 12
    assert ("ledger", "0001_initial") not in executor.loader.applied_migrations

    migrate(leaves())

    assert {issuer.pk: ledger_head(issuer=issuer) for issuer in (society, coop)} == heads
    out = StringIO()
    call_command("verify_ledger", stdout=out)
    assert out.getvalue().count(": valid, ") == 2, out.getvalue()
    for issuer in (society, coop):
        assert f"head #{heads[issuer.pk][0]} {heads[issuer.pk][1]}" in out.getvalue()

    # The guards moved with the tables: the record is still append-only.
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE investments_ledgerposting SET amount_pence = amount_pence + 1")

    # And new posts continue the same chain.
    entry = pay_in(society, "after-the-move", 1_00)
    assert entry.sequence == heads[society.pk][0] + 1
    assert entry.prev_hash == heads[society.pk][1]


def test_the_move_can_be_reversed_and_replayed_without_touching_a_row(new_issuer, pay_in):
    society = new_issuer()
    pay_in(society, "pay-1")
    head = ledger_head(issuer=society)

    migrate(BEFORE_THE_MOVE)
    migrate(leaves())
    migrate(BEFORE_THE_MOVE)
    migrate(leaves())

    assert ledger_head(issuer=society) == head
    call_command("verify_ledger", stdout=StringIO())
