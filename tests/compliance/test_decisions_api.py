"""The decision log over HTTP: officers, auditors and staff of the issuer see every allow and deny."""

import pytest
from django.contrib.auth.models import AnonymousUser
from rest_framework.exceptions import NotAuthenticated

from bondplatform.errors import NotFound, NotPermitted
from compliance.selectors import decision_list

pytestmark = pytest.mark.django_db


def test_refusals_and_approvals_are_listed_with_rule_and_reason(
    society, officer, auditor, staff, resident, api_client_for, make_issue, subscribe
):
    issue = make_issue(society, officer)
    subscribe(resident, issue, "250.00")
    subscribe(resident, issue, "99.99")
    path = f"/api/v1/compliance/decisions/?issuer={society.pk}"
    for reader in (officer, auditor, staff):
        response = api_client_for(reader).get(path)
        assert response.status_code == 200
    results = api_client_for(auditor).get(path).json()["results"]
    outcomes = {(d["rule"], d["outcome"]) for d in results}
    assert ("subscription_caps", "allow") in outcomes
    assert ("below_minimum", "deny") in outcomes
    assert ("rate_cap", "allow") in outcomes  # the issue's opening
    denied = api_client_for(auditor).get(path + "&outcome=deny").json()["results"]
    assert [d["rule"] for d in denied] == ["below_minimum"]
    assert "£100.00" in denied[0]["reason"]


def test_residents_outsiders_and_strangers_may_not_read_it(society, resident, outsider, api_client_for):
    path = f"/api/v1/compliance/decisions/?issuer={society.pk}"
    assert api_client_for(resident).get(path).status_code == 403
    assert api_client_for(outsider).get(path).status_code == 403
    assert api_client_for(None).get(path).status_code == 401
    assert api_client_for(resident).get("/api/v1/compliance/decisions/").status_code in (400, 403)


def test_the_selector_itself_checks_who_reads_the_log(
    society, officer, auditor, staff, resident, outsider, make_issue
):
    """Not only the API: a page or a report calling the selector directly is refused too."""
    make_issue(society, officer)
    for reader in (officer, auditor, staff):
        assert decision_list(actor=reader, issuer_id=society.pk).exists()
    for refused in (resident, outsider):
        with pytest.raises(NotPermitted):
            decision_list(actor=refused, issuer_id=society.pk)
    with pytest.raises(NotAuthenticated):
        decision_list(actor=AnonymousUser(), issuer_id=society.pk)
    with pytest.raises(NotFound):  # 404 before 403, as the API answers
        decision_list(actor=resident, issuer_id=society.pk + 1000)
