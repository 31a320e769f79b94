"""Reads that need permission check it themselves, so no page or API view has to remember to.

Each selector is called directly here, as a page, a task or a new view would call
it: the wrong person is refused (403), nobody signed in is 401, and an object that
does not exist is 404 before anyone is asked who they are.
"""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from rest_framework.exceptions import NotAuthenticated

from bondplatform.actors import SYSTEM
from bondplatform.errors import NotFound, NotPermitted
from investments import selectors
from investments.services import subscriptions as subscription_services
from issuers.models import Role, RoleGrant

pytestmark = pytest.mark.django_db


def browser_get(user, path):
    client = Client()
    client.force_login(user)
    return client.get(path)


@pytest.fixture
def issue(society, officer, make_issue):
    return make_issue(society, officer)


@pytest.fixture
def cic_officer(make_user, cic):
    user = make_user("carl_cic_officer", resident=False)
    RoleGrant.objects.create(issuer=cic, user=user, role="finance_officer")
    return user


# The register, the subscriptions that name residents, and the refunds owed on them:
# officers and auditors of the issuer (not staff, not another issuer's officer).
REGISTER_READS = {
    "register_of": selectors.register_of,
    "subscriptions_of_issue": selectors.subscriptions_of_issue,
    "refunds_pending_of": selectors.refunds_pending_of,
}


@pytest.mark.parametrize("read", sorted(REGISTER_READS))
@pytest.mark.parametrize("persona", ["officer", "auditor"])
def test_the_issuers_officers_and_auditors_read_who_holds_and_who_subscribed(request, issue, read, persona):
    REGISTER_READS[read](issue, actor=request.getfixturevalue(persona))


@pytest.mark.parametrize("read", sorted(REGISTER_READS))
@pytest.mark.parametrize("persona", ["resident", "outsider", "staff", "cic_officer"])
def test_anyone_else_is_refused_even_without_a_view_in_between(request, issue, read, persona):
    with pytest.raises(NotPermitted):
        REGISTER_READS[read](issue, actor=request.getfixturevalue(persona))


@pytest.mark.parametrize("read", sorted(REGISTER_READS))
def test_nobody_signed_in_is_401(issue, read):
    with pytest.raises(NotAuthenticated):
        REGISTER_READS[read](issue, actor=AnonymousUser())


def test_the_officer_desks_are_for_role_holders(officer, auditor, resident, staff, society):
    assert [desk.issuer for desk in selectors.desks_of(actor=officer)] == [society]
    assert [desk.issuer for desk in selectors.desks_of(actor=auditor)] == [society]
    for refused in (resident, staff):
        with pytest.raises(NotPermitted):
            selectors.desks_of(actor=refused)
    with pytest.raises(NotAuthenticated):
        selectors.desks_of(actor=AnonymousUser())


def test_an_issue_to_act_on_is_for_its_issuers_officers(issue, officer, auditor, resident, cic_officer):
    assert selectors.issue_get_for_officer(issue.pk, actor=officer) == issue
    for refused in (auditor, resident, cic_officer):
        with pytest.raises(NotPermitted):
            selectors.issue_get_for_officer(issue.pk, actor=refused)
    with pytest.raises(NotAuthenticated):
        selectors.issue_get_for_officer(issue.pk, actor=AnonymousUser())
    # What does not exist is 404 to anyone, before the gate.
    with pytest.raises(NotFound):
        selectors.issue_get_for_officer(999_999, actor=resident)


def test_a_subscription_is_read_by_its_own_resident_only(issue, resident, outsider, officer):
    subscription, _ = subscription_services.subscription_create(
        actor=resident, issue_id=issue.pk, amount_pence=250_00, payment_method="bank_transfer"
    )
    assert selectors.subscription_get_for(subscription.pk, actor=resident) == subscription
    with pytest.raises(NotFound):  # someone else's subscription does not exist for an outsider
        selectors.subscription_get_for(subscription.pk, actor=outsider)
    for refused in (
        officer,
        SYSTEM,
    ):  # its issuer's officer, and the system, may know it but it is not theirs
        with pytest.raises(NotPermitted):
            selectors.subscription_get_for(subscription.pk, actor=refused)
    with pytest.raises(NotAuthenticated):
        selectors.subscription_get_for(subscription.pk, actor=AnonymousUser())
    with pytest.raises(NotFound):
        selectors.subscription_get_for(999_999, actor=outsider)


def test_a_desk_lists_roles_not_their_labels(officer, society):
    """Selectors return values; the page shows the labels."""
    (desk,) = selectors.desks_of(actor=officer)
    assert desk.roles == [Role.FINANCE_OFFICER]


def test_the_residents_pages_read_no_drafts_not_even_for_their_officers(society, officer, issue, make_issue):
    draft = make_issue(society, officer, open_it=False, name="Plan")
    assert selectors.issue_get_public(issue.pk) == issue
    with pytest.raises(NotFound):
        selectors.issue_get_public(draft.pk)
    assert browser_get(officer, f"/issues/{draft.pk}/").status_code == 404
