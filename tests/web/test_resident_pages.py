"""A resident's own pages: their bonds with the next interest, their choices, their account."""

import pytest

from investments.models import PayoutAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def holding(allotted_holding):
    return allotted_holding()


def test_my_investments_shows_the_bond_and_its_next_interest(client, resident, holding):
    client.force_login(resident)
    page = client.get("/me/").content.decode()
    assert holding.issue.name in page
    assert "£1,000.00" in page
    assert "Next interest date" in page and "£30.00" in page  # 3 % of £1,000 for a year
    assert f"/api/v1/holdings/{holding.pk}/certificate.pdf" in page
    assert "/api/v1/me/statement.pdf?year=" in page


def test_a_holder_gives_up_their_interest(client, resident, holding):
    client.force_login(resident)
    response = client.post(f"/holdings/{holding.pk}/preference/", {f"h{holding.pk}-preference": "waive"})
    assert response.status_code == 302
    holding.refresh_from_db()
    assert holding.interest_preference == "waive"


def test_someone_elses_holding_is_not_found(client, outsider, holding):
    client.force_login(outsider)
    response = client.post(f"/holdings/{holding.pk}/preference/", {f"h{holding.pk}-preference": "waive"})
    assert response.status_code == 404
    assert client.get(f"/holdings/{holding.pk}/redeem/").status_code == 404


def test_a_payout_account_is_validated_next_to_its_field(client, resident):
    client.force_login(resident)
    response = client.post(
        "/me/payout-account/", {"account_name": "Rita Resident", "sort_code": "12", "account_number": "1"}
    )
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode() or "error" in response.content.decode()
    response = client.post(
        "/me/payout-account/",
        {"account_name": "Rita Resident", "sort_code": "60-83-01", "account_number": "20345678"},
    )
    assert response.status_code == 302
    assert PayoutAccount.objects.get(user=resident).account_number == "20345678"


def test_a_holder_asks_for_money_back_early(client, resident, holding):
    client.force_login(resident)
    assert "90 days' notice" in client.get(f"/holdings/{holding.pk}/redeem/").content.decode()
    response = client.post(f"/holdings/{holding.pk}/redeem/", {"amount": "200"})
    assert response.status_code == 302, response.content.decode()[-800:]
    assert holding.redemption_requests.get().amount_pence == 200_00
    assert "Requests for early repayment" in client.get("/me/").content.decode()
