"""Error pages in the site's own style: a person who mistypes an address, or meets a
bug, sees the site they trust and a sentence, never a traceback or Django's bare page."""

import pytest
from django.test import RequestFactory

from bondplatform import errors

pytestmark = pytest.mark.django_db


def test_a_missing_page_is_the_sites_own_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "We cannot find that page" in page
    assert "pico.jade.min.css" in page and "css/site.css" in page


def test_a_crash_is_the_sites_own_500_without_a_traceback():
    response = errors.handler500(RequestFactory().get("/issues/1/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page
    assert "Traceback" not in page


def test_a_refused_page_is_the_sites_own_403():
    response = errors.handler403(RequestFactory().get("/officer/"), exception=None)
    assert response.status_code == 403
    assert "You may not see this page" in response.content.decode()


def test_the_api_keeps_its_json_errors(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
