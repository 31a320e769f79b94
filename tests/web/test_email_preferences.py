"""A resident turns the e-mails they can do without off and on, on their own page."""

import pytest

from people.models import Profile

pytestmark = pytest.mark.django_db


def test_a_resident_turns_updates_off_and_on(client, resident):
    client.force_login(resident)
    page = client.get("/me/").content.decode()
    assert 'id="emails"' in page and "Only what I must know" in page

    response = client.post("/me/emails/", {"email_updates": "off"}, follow=True)
    assert "we will send you only what you must know" in response.content.decode()
    assert Profile.objects.get(user=resident).email_updates is False

    client.post("/me/emails/", {"email_updates": "on"})
    assert Profile.objects.get(user=resident).email_updates is True


def test_a_choice_that_is_not_offered_is_refused_with_a_message(client, resident):
    client.force_login(resident)
    response = client.post("/me/emails/", {"email_updates": "sometimes"}, follow=True)
    assert "Please choose which e-mails you would like." in response.content.decode()
    assert Profile.objects.get(user=resident).email_updates is True


def test_someone_without_a_profile_has_no_choice_to_make(client, officer):
    client.force_login(officer)
    assert 'id="emails"' not in client.get("/me/").content.decode()
    response = client.post("/me/emails/", {"email_updates": "off"}, follow=True)
    assert response.status_code == 200
    assert "Only registered residents receive e-mails about bonds." in response.content.decode()


def test_signing_in_comes_first(client):
    response = client.post("/me/emails/", {"email_updates": "off"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
