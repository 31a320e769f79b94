"""What the pages' markup promises readers of every kind: breadcrumbs a screen reader reads as a
list of places, a statement page that follows its own progress without JavaScript, numbers in
columns that line up, and refusals in the site's own style."""

import re

import pytest

from ledger.statement_jobs import statement_job_create

pytestmark = pytest.mark.django_db

# The separator the pages once wrote as text, between the places of a breadcrumb.
TEXT_SEPARATOR = "\u203a"


def _breadcrumb(html: str) -> str:
    match = re.search(r'<nav aria-label="Breadcrumb" class="breadcrumb">(.*?)</nav>', html, re.S)
    assert match, "no breadcrumb"
    return match.group(1)


def test_breadcrumbs_are_ordered_lists_with_the_separators_left_to_css(
    client, society, officer, auditor, allotted_holding
):
    holding = allotted_holding()
    issue = holding.issue
    pages = [f"/issues/{issue.pk}/transparency/", f"/issuers/{society.pk}/participation/"]
    for path in pages:
        crumbs = _breadcrumb(client.get(path).content.decode())
        assert "<ol>" in crumbs and crumbs.count('aria-current="page"') == 1, path
        assert (
            TEXT_SEPARATOR not in crumbs
            and "&gt;" not in crumbs
            and "/" not in re.sub(r"<[^>]+>", "", crumbs)
        ), path
    client.force_login(auditor)
    for path in (
        f"/auditor/issuers/{society.pk}/ledger/",
        f"/auditor/issuers/{society.pk}/decisions/",
        f"/auditor/issuers/{society.pk}/statements/",
        f"/officer/issues/{issue.pk}/register/",
    ):
        html = client.get(path).content.decode()
        crumbs = _breadcrumb(html)
        assert "<ol>" in crumbs and TEXT_SEPARATOR not in html, path
        assert re.search(r"<h1>", html), path


def test_the_officers_setup_pages_have_the_same_breadcrumbs(client, society, officer, allotted_holding):
    issue = allotted_holding().issue
    client.force_login(officer)
    for path in (
        f"/officer/issuers/{society.pk}/issues/new/",
        f"/officer/issues/{issue.pk}/terms/",
        f"/officer/issuers/{society.pk}/roles/",
        f"/officer/issuers/{society.pk}/distributions/",
        f"/officer/issues/{issue.pk}/uses-of-funds/",
    ):
        html = client.get(path).content.decode()
        crumbs = _breadcrumb(html)
        assert "<ol>" in crumbs and crumbs.count('aria-current="page"') == 1, path
        assert TEXT_SEPARATOR not in html, path


def test_the_clear_filters_link_sits_beside_the_button_not_against_it(client, society, auditor):
    client.force_login(auditor)
    for path, words in (
        (f"/auditor/issuers/{society.pk}/ledger/", "Show the entries"),
        (f"/auditor/issuers/{society.pk}/decisions/", "Show the decisions"),
    ):
        html = client.get(path).content.decode()
        actions = re.search(r'<div class="form-actions">(.*?)</div>', html, re.S)
        assert actions, path
        assert words in actions.group(1) and "Clear the filters" in actions.group(1)


def test_a_statement_being_made_reloads_its_page_from_the_head_without_javascript(client, society, auditor):
    # Not run yet (background work runs after the test's transaction, which never commits).
    job = statement_job_create(actor=auditor, issuer_id=society.pk)
    client.force_login(auditor)
    html = client.get(f"/auditor/issuers/{society.pk}/statements/").content.decode()
    head, body = html.split("</head>")
    assert '<meta http-equiv="refresh" content="3">' in head
    assert 'http-equiv="refresh"' not in body
    assert "this page refreshes itself every 3 seconds" in body
    row = re.search(rf'<tr id="statement-job-{job.pk}">(.*?)</tr>', body, re.S).group(1)
    assert "Queued" in row and '<progress max="100" value="0"' in row
    assert '<td class="num" data-label="No.">' in row
    assert "<script" not in body


def test_the_register_shows_days_in_words_and_numbers_right_aligned(
    client, society, officer, allotted_holding
):
    holding = allotted_holding()
    client.force_login(officer)
    html = client.get(f"/officer/issues/{holding.issue_id}/register/").content.decode()
    row = re.search(r"<tbody>(.*?)</tbody>", html, re.S).group(1)
    assert f'<td class="num" data-label="Holding">{holding.pk}</td>' in row
    assert '<td class="money" data-label="Principal">£1,000.00</td>' in row
    allotted = holding.allotted_on
    assert f"{allotted.day} {allotted:%B} {allotted.year}" in row
    assert allotted.isoformat() not in row


def test_an_officers_page_refused_is_the_sites_own_403(client, society, open_issue, officer, resident):
    issue = open_issue(society, officer)
    client.force_login(resident)
    response = client.get(f"/officer/issues/{issue.pk}/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "Error 403" in html and "You may not see this page" in html
    assert 'class="error-page refused"' in html and "css/site.css" in html
