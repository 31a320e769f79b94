"""`issues/{id}/updates/`: anyone reads an issue's news, newest first; its officers post it, as
JSON or, with a photo, as multipart/form-data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from investments.models import BondholderUpdate

pytestmark = pytest.mark.django_db

NEWS = {"title": "The kitchen is open", "body": "Forty meals served in the first week."}


@pytest.fixture
def issue(allotted_holding):
    """An active issue, of which Rita holds £1,000."""
    return allotted_holding().issue


def _url(issue) -> str:
    return f"/api/v1/issues/{issue.pk}/updates/"


def test_an_officer_posts_json_and_the_holders_hear_of_it(
    officer, issue, api_client_for, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(officer).post(_url(issue), NEWS, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    update = BondholderUpdate.objects.get()
    assert body == {
        "id": update.pk,
        "issue": issue.pk,
        "title": "The kitchen is open",
        "body": "Forty meals served in the first week.",
        "published_on": timezone.localdate().isoformat(),
        "photo": None,
        "created_at": body["created_at"],
    }
    assert [m.to for m in mail.outbox] == [["rita_resident@example.org"]]


def test_a_photo_goes_up_as_multipart_and_is_served_as_an_image(officer, issue, api_client_for, photo_bytes):
    three_days_ago = (timezone.localdate() - dt.timedelta(days=3)).isoformat()
    upload = SimpleUploadedFile("kitchen.webp", photo_bytes("WEBP", (320, 200)), content_type="image/webp")
    response = api_client_for(officer).post(
        _url(issue),
        {**NEWS, "photo": upload, "photo_alt": "The serving hatch", "published_on": three_days_ago},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    update = BondholderUpdate.objects.get()
    assert response.json()["published_on"] == three_days_ago
    assert response.json()["photo"] == {
        "url": f"http://testserver/updates/{update.pk}/photo",
        "alt": "The serving hatch",
        "content_type": "image/webp",
        "width": 320,
        "height": 200,
    }
    served = Client().get(f"/updates/{update.pk}/photo")
    assert served.status_code == 200
    assert served["Content-Type"] == "image/webp"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert served["Content-Disposition"] == f'inline; filename="update-{update.pk}.webp"'
    assert served.content[:4] == b"RIFF" and served.content[8:12] == b"WEBP"


def test_what_is_not_a_photo_is_refused_whatever_it_claims(officer, issue, api_client_for, assert_error):
    svg = SimpleUploadedFile("kitchen.jpg", b"<svg onload='alert(1)'/>", content_type="image/jpeg")
    response = api_client_for(officer).post(
        _url(issue), {**NEWS, "photo": svg, "photo_alt": "A kitchen"}, format="multipart"
    )
    body = assert_error(response, 400, "invalid_photo")
    assert body["fields"] == {"photo": ["A photo must be a JPEG, PNG or WebP image."]}
    assert not BondholderUpdate.objects.exists()


def test_an_empty_date_in_a_form_body_is_a_bad_date_not_today(officer, issue, api_client_for, assert_error):
    response = api_client_for(officer).post(_url(issue), {**NEWS, "published_on": ""}, format="multipart")
    assert set(assert_error(response, 400, "invalid")["fields"]) == {"published_on"}
    assert not BondholderUpdate.objects.exists()


def test_a_photo_needs_its_description(officer, issue, api_client_for, assert_error, photo_bytes):
    upload = SimpleUploadedFile("kitchen.png", photo_bytes("PNG"), content_type="image/png")
    response = api_client_for(officer).post(_url(issue), {**NEWS, "photo": upload}, format="multipart")
    body = assert_error(response, 400, "invalid")
    assert body["fields"] == {"photo_alt": ["Describe the photo for people who cannot see it."]}


def test_bad_input_is_400_with_its_field(officer, issue, api_client_for, assert_error):
    client = api_client_for(officer)
    body = assert_error(client.post(_url(issue), {**NEWS, "title": " "}, format="json"), 400, "invalid")
    assert set(body["fields"]) == {"title"}
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    body = assert_error(
        client.post(_url(issue), {**NEWS, "published_on": tomorrow}, format="json"), 400, "invalid"
    )
    assert body["fields"] == {"published_on": ["Not in the future."]}


def test_who_may_post(
    society, officer, auditor, resident, issue, open_issue, api_client_for, assert_error, make_user
):
    assert_error(api_client_for(None).post(_url(issue), NEWS, format="json"), 401, "not_authenticated")
    for person in (resident, auditor):
        assert_error(api_client_for(person).post(_url(issue), NEWS, format="json"), 403, "not_an_officer")
    assert_error(
        api_client_for(officer).post("/api/v1/issues/999999/updates/", NEWS, format="json"),
        404,
        "issue_not_found",
    )
    draft = open_issue(society, officer, open_it=False)
    assert_error(api_client_for(officer).post(_url(draft), NEWS, format="json"), 409, "issue_is_draft")
    assert not BondholderUpdate.objects.exists()


def test_anyone_reads_the_news_newest_first_a_page_at_a_time(
    society, officer, issue, open_issue, api_client_for, assert_error
):
    client = api_client_for(officer)
    today = timezone.localdate()
    for title, days_ago in (("Older", 5), ("Newest", 0), ("Middle", 2)):
        published_on = (today - dt.timedelta(days=days_ago)).isoformat()
        response = client.post(
            _url(issue), {**NEWS, "title": title, "published_on": published_on}, format="json"
        )
        assert response.status_code == 201, response.content
    anyone = api_client_for(None)
    listed = anyone.get(_url(issue)).json()
    assert listed["count"] == 3
    assert [u["title"] for u in listed["results"]] == ["Newest", "Middle", "Older"]
    first = anyone.get(_url(issue), {"limit": 1}).json()
    assert [u["title"] for u in first["results"]] == ["Newest"] and first["next"]
    assert_error(anyone.get(_url(issue), {"limit": "ten"}), 400, "invalid_query")
    draft = open_issue(society, officer, open_it=False)
    assert_error(anyone.get(_url(draft)), 404, "issue_not_found")
    assert client.get(_url(draft)).json()["count"] == 0  # its officers see the draft (with no news)


def test_a_photo_never_posted_is_not_found(issue, officer, api_client_for):
    response = api_client_for(officer).post(_url(issue), NEWS, format="json")
    assert Client().get(f"/updates/{response.json()['id']}/photo").status_code == 404  # posted without one
    assert Client().get("/updates/999999/photo").status_code == 404
