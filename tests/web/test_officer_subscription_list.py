"""The officer's list of an issue's subscriptions: filtered by status, searched, paginated."""

import pytest

from investments import views_officer
from investments.payments.receipts import receipt_record
from investments.services.subscriptions import subscription_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_subscriptions(society, officer, open_issue, make_user):
    """An open issue with three residents' subscriptions; the first paid."""
    issue = open_issue(society, officer)
    subscriptions = [
        subscription_create(
            actor=make_user(name, full_name=full_name),
            issue_id=issue.pk,
            amount_pence=200_00,
            payment_method="bank_transfer",
        )[0]
        for name, full_name in (("ann", "Ann Archer"), ("bob", "Bob Baker"), ("cat", "Cat Cooper"))
    ]
    first = subscriptions[0]
    receipt_record(
        actor=officer,
        subscription_id=first.pk,
        amount_pence=200_00,
        reference=first.reference,
        received_on=first.created_at.date(),
        idempotency_key="paid-ann",
    )
    return issue, subscriptions


def test_the_list_filters_by_status_and_searches_names_and_references(client, officer, three_subscriptions):
    issue, (ann, bob, cat) = three_subscriptions
    client.force_login(officer)
    url = f"/officer/issues/{issue.pk}/"
    page = client.get(url).content.decode()
    assert "3 subscriptions." in page
    paid = client.get(url, {"status": "paid"}).content.decode()
    assert "1 subscription matches." in paid and ann.reference in paid and bob.reference not in paid
    found = client.get(url, {"search": "baker"}).content.decode()
    assert bob.reference in found and ann.reference not in found
    found = client.get(url, {"search": cat.reference.lower()}).content.decode()
    assert cat.reference in found and bob.reference not in found
    nothing = client.get(url, {"search": "nobody"}).content.decode()
    assert "No subscription matches." in nothing


def test_the_list_is_paginated_keeping_its_filters(client, officer, three_subscriptions, monkeypatch):
    monkeypatch.setattr(views_officer, "PAGE_SIZE", 1)
    issue, (_, _, cat) = three_subscriptions
    client.force_login(officer)
    page = client.get(f"/officer/issues/{issue.pk}/", {"status": "pending_payment"}).content.decode()
    assert "Page 1 of 2" in page and 'href="?status=pending_payment&amp;page=2"' in page
    second = client.get(f"/officer/issues/{issue.pk}/", {"status": "pending_payment", "page": "2"})
    assert cat.reference in second.content.decode()


def test_a_status_that_does_not_exist_is_shown_beside_its_field(client, officer, three_subscriptions):
    issue, _ = three_subscriptions
    client.force_login(officer)
    response = client.get(f"/officer/issues/{issue.pk}/", {"status": "stolen"})
    assert response.status_code == 200
    assert 'id="id_status-error"' in response.content.decode()
    assert "3 subscriptions" in response.content.decode()  # the list, unfiltered
