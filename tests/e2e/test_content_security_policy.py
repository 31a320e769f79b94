"""The Content-Security-Policy blocks nothing the service's own pages need (issue 9, finding 11).

Chromium reports every script, style, frame or fetch the policy refuses on the
console; each page below must load with none, Swagger UI (served from the
service's own files) must draw the API, and the admin must work.
"""

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def refused(page):
    """What the policy refused while the test ran (Chromium's console messages about it)."""
    messages: list[str] = []
    page.on(
        "console",
        lambda message: messages.append(message.text) if "Content Security Policy" in message.text else None,
    )
    return messages


def test_swagger_ui_draws_the_api_from_the_services_own_files(page, live_server, refused):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector("text=Mutual Bonds API")
    page.wait_for_selector("text=/api/v1/issues/")

    assert refused == []
    assert all(url.startswith(live_server.url) for url in requested), requested


def test_the_residents_and_officers_pages_load_with_nothing_refused(
    page, live_server, refused, society, officer, resident, make_issue, sign_in
):
    issue = make_issue(society, officer, name="Citylife Community Bond")
    page.goto(live_server.url)
    page.goto(f"{live_server.url}/issues/{issue.pk}/")
    sign_in(page, live_server, resident.username)
    page.goto(f"{live_server.url}/me/")
    page.click("button:has-text('Sign out')")
    sign_in(page, live_server, officer.username)
    page.goto(f"{live_server.url}/officer/issues/{issue.pk}/")
    page.wait_for_selector("#status")

    assert refused == []


def test_the_admin_works_under_the_policy(page, live_server, refused, staff, society, sign_in):
    sign_in(page, live_server, staff.username)
    page.goto(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/admin/issuers/issuer/{society.pk}/change/")
    page.wait_for_selector("input[name=name]")
    page.goto(f"{live_server.url}/admin/issuers/rolegrant/add/")
    page.wait_for_selector("input[value=Grant]")

    assert refused == []
