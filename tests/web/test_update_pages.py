"""Updates to bondholders on the pages: the officer's form on the issue's page (with its errors
next to each field), and the news on the offer's public page, newest first, with its photos."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from investments.models import BondholderUpdate
from investments.services.updates import bondholder_update_post

pytestmark = pytest.mark.django_db


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def issue(allotted_holding):
    """An active issue, of which Rita holds £1,000."""
    return allotted_holding().issue


def _form_url(issue) -> str:
    return f"/officer/issues/{issue.pk}/updates/"


def test_the_officer_posts_news_with_a_photo_and_sees_it_on_the_offers_page(
    officer, issue, photo_bytes, django_capture_on_commit_callbacks
):
    officer_page = _signed_in(officer).get(f"/officer/issues/{issue.pk}/").content.decode()
    assert f'action="{_form_url(issue)}" enctype="multipart/form-data"' in officer_page
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = _signed_in(officer).post(
            _form_url(issue),
            {
                "title": "The kitchen is open",
                "body": "Forty meals served in the first week.\n\nThank you.",
                "published_on": "",
                "photo": SimpleUploadedFile("kitchen.jpg", photo_bytes("JPEG", (320, 240)), "image/jpeg"),
                "photo_alt": "Volunteers at the serving hatch",
            },
            follow=True,
        )
    update = BondholderUpdate.objects.get()
    assert response.redirect_chain == [(f"/issues/{issue.pk}/#update-{update.pk}", 302)]
    page = response.content.decode()
    assert "Your update is posted on the offer&#x27;s page and is on its way to the bondholders." in page
    today = timezone.localdate()
    assert f'<article id="update-{update.pk}" class="update">' in page
    assert f'<time datetime="{today.isoformat()}">{today.day} {today:%B %Y}</time>' in page
    assert (
        f'<img src="/updates/{update.pk}/photo" alt="Volunteers at the serving hatch" width="320" height="240"'
        in page
    )
    assert "<p>Forty meals served in the first week.</p>\n\n<p>Thank you.</p>" in page
    assert [m.to for m in mail.outbox] == [["rita_resident@example.org"]]


def test_mistakes_are_shown_next_to_their_fields_and_nothing_is_posted(officer, issue, photo_bytes):
    response = _signed_in(officer).post(
        _form_url(issue),
        {
            "title": "",
            "body": "Forty meals.",
            "photo": SimpleUploadedFile("kitchen.png", photo_bytes("PNG"), "image/png"),
            "photo_alt": "",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert (
        '<small class="error field-error" id="id_title_error" role="alert">This field is required.</small>'
        in page
    )
    assert (
        '<small class="error field-error" id="id_photo_alt_error" role="alert">'
        "Describe the photo for people who cannot see it.</small>" in page
    )
    assert 'value="Forty meals."' not in page  # a textarea keeps its text inside it
    assert ">\nForty meals.</textarea>" in page
    assert "Please choose the photo again: a page cannot keep a file it sent back." in page
    assert not BondholderUpdate.objects.exists()


def test_a_file_that_is_not_a_photo_is_refused_on_its_field(officer, issue):
    svg = SimpleUploadedFile("kitchen.jpg", b"<svg onload='alert(1)'/>", "image/jpeg")
    response = _signed_in(officer).post(
        _form_url(issue), {"title": "News", "body": "Text.", "photo": svg, "photo_alt": "A kitchen"}
    )
    assert response.status_code == 200
    assert re.search(
        r'id="id_photo_error"[^>]*>A photo must be a JPEG, PNG or WebP image\.<', response.content.decode()
    )
    assert not BondholderUpdate.objects.exists()


def test_a_future_date_is_refused_by_the_service_on_its_field(officer, issue):
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = _signed_in(officer).post(
        _form_url(issue), {"title": "News", "body": "Text.", "published_on": tomorrow}
    )
    assert re.search(r'id="id_published_on_error"[^>]*>Not in the future\.<', response.content.decode())


def test_only_the_issuers_officers_get_the_form(society, officer, auditor, outsider, issue, open_issue):
    assert "update-form" not in _signed_in(auditor).get(f"/officer/issues/{issue.pk}/").content.decode()
    draft = open_issue(society, officer, open_it=False)
    assert "update-form" not in _signed_in(officer).get(f"/officer/issues/{draft.pk}/").content.decode()
    for person in (auditor, outsider):
        assert _signed_in(person).post(_form_url(issue), {"title": "x", "body": "y"}).status_code == 403
    response = Client().post(_form_url(issue), {"title": "x", "body": "y"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not BondholderUpdate.objects.exists()


def test_the_offers_page_shows_the_news_newest_first_five_at_a_time(client, officer, issue):
    today = timezone.localdate()
    for n in range(7):
        bondholder_update_post(
            actor=officer,
            issue_id=issue.pk,
            title=f"News {n}",
            body="Text.",
            published_on=today - dt.timedelta(days=10 - n),
        )
    page = client.get(f"/issues/{issue.pk}/").content.decode()
    assert re.findall(r"<h3>(News \d)</h3>", page) == ["News 6", "News 5", "News 4", "News 3", "News 2"]
    assert '<a href="?updates=2#updates" rel="next">Older news</a>' in page
    older = client.get(f"/issues/{issue.pk}/", {"updates": 2}).content.decode()
    assert re.findall(r"<h3>(News \d)</h3>", older) == ["News 1", "News 0"]


def test_an_offer_without_news_has_no_news_section(client, society, officer, open_issue):
    issue = open_issue(society, officer)
    assert 'id="updates"' not in client.get(f"/issues/{issue.pk}/").content.decode()
