"""`manage.py seed_demo`: the Citylife-style demo, idempotent."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from bondplatform.models import AuditEvent
from investments.management.commands.seed_demo import DEMO_PASSWORD, RESIDENTS, ROLE_HOLDERS, STAFF
from investments.models import BondholderUpdate
from issuers.models import Issuer, RoleGrant
from people.models import Profile
from people.selectors import email_verified

pytestmark = pytest.mark.django_db

DEMO_USERNAMES = [STAFF["username"]] + [r[0] for r in ROLE_HOLDERS] + [r[0] for r in RESIDENTS]


@pytest.fixture(autouse=True)
def _debug_on(settings):
    settings.DEBUG = True  # the test runner turns it off; the demo refuses to seed without it


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (get_user_model(), Profile, Issuer, RoleGrant, AuditEvent)
    }


def log_ins(output: str) -> str:
    return output[output.index("Demo log-ins") :]


def test_it_seeds_the_citylife_scenario():
    output = seed()

    society = Issuer.objects.get(name="Sheffield Citylife Society")
    assert (society.legal_form, society.asset_lock_basis) == ("community_benefit_society", "statutory")
    assert str(society.max_interest_rate_percent) == "5.00"
    assert society.bank_account_name and society.sort_code and society.account_number
    cic = Issuer.objects.get(name="Park Hill Energy CIC")
    assert (cic.legal_form, cic.asset_lock_basis) == ("cic_limited_by_shares", "cic")
    assert str(cic.max_interest_rate_percent) == "6.00"

    for issuer in (society, cic):
        assert set(issuer.role_grants.values_list("role", flat=True)) == {"finance_officer", "auditor"}

    User = get_user_model()
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    residents = Profile.objects.all()
    assert residents.count() >= 3
    assert all(p.postcode.startswith("S") for p in residents)
    assert all(p.date_of_birth.year < 2007 for p in residents)
    demo_users = User.objects.filter(username__in=DEMO_USERNAMES)
    assert demo_users.count() == len(DEMO_USERNAMES)
    assert all(u.check_password(DEMO_PASSWORD) for u in demo_users)

    assert DEMO_PASSWORD in output
    for username in DEMO_USERNAMES:
        assert f"  {username} " in output


def test_the_demo_offer_has_news_with_a_photo():
    seed()
    (update,) = BondholderUpdate.objects.filter(issue__name="Citylife Money-Back Bond 2026")
    assert update.title == "The first £1,000 is in: thank you"
    assert update.photo_content_type == "image/png" and update.photo_alt.startswith("A drawing of")
    seed()
    assert BondholderUpdate.objects.count() == 1


def test_running_it_twice_creates_nothing_new_and_prints_the_same_log_ins():
    first = seed()
    after_first = counts()

    second = seed()

    assert counts() == after_first
    assert log_ins(second) == log_ins(first)
    assert "nothing new" in second


def test_the_demo_users_can_sign_in_through_the_api(client):
    seed()
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "citylife_officer", "password": DEMO_PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200


def test_it_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        seed()
    assert not Issuer.objects.exists()


def test_the_command_acts_as_the_system_not_as_the_admin_it_creates():
    seed()

    for action in ("issuer.create", "role.grant"):
        events = AuditEvent.objects.filter(action=action)
        assert events.exists(), action
        assert {(e.actor_id, e.system_actor) for e in events} == {(None, "system")}, action
    assert not RoleGrant.objects.filter(granted_by__isnull=False).exists()


def test_the_demo_residents_have_verified_e_mail_addresses_and_are_not_asked_to_verify(
    mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        seed()
    for username, *_ in RESIDENTS:
        assert email_verified(get_user_model().objects.get(username=username)), username
    # The demo's subscriptions send their own e-mails (how to pay, payment received); none asks
    # a resident to confirm their address.
    assert not [m for m in mailoutbox if "Confirm your e-mail" in m.subject]
