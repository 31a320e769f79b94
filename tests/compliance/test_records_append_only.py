"""The decision log and the audit trail are records: the database refuses to edit or delete them."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from bondplatform.audit import audit_record
from bondplatform.models import AuditEvent
from compliance.models import Decision
from compliance.services import decision_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(society, officer):
    decision = decision_record(
        actor=officer,
        issuer=society,
        rule="rate_cap",
        allowed=True,
        reason="Within the cap.",
        subject=society,
    )
    event = audit_record(actor=officer, issuer=society, action="issuer.update", obj=society)
    return decision, event


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE {table} SET issuer_id = NULL",
        "DELETE FROM {table}",
    ],
)
@pytest.mark.parametrize("model", [Decision, AuditEvent], ids=["decisions", "audit events"])
def test_raw_sql_cannot_edit_or_delete_a_record(records, model, sql):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql.format(table=model._meta.db_table))
    assert model.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # TRUNCATE needs no pending deferred checks: commit first
@pytest.mark.parametrize("model", [Decision, AuditEvent], ids=["decisions", "audit events"])
def test_truncate_is_refused_on_postgresql(records, model):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {model._meta.db_table} CASCADE")
    assert model.objects.count() == 1


def test_the_orm_cannot_either(records):
    decision, event = records
    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.filter(pk=decision.pk).update(reason="Edited afterwards.")
    with pytest.raises(IntegrityError), transaction.atomic():
        event.delete()
