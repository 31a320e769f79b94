"""News of the project in a real browser: the officer posts an update with a photo from the
issue's page; the offer's public page shows it, photo and all. Both pages are screenshotted at
two widths and checked with axe-core."""

import pytest
from django.core import mail

from investments.models import BondholderUpdate

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_officer_posts_news_with_a_photo_and_the_public_sees_it(
    page, live_server, officer, allotted_holding, photo_bytes, sign_in_as, look
):
    issue = allotted_holding().issue
    mail.outbox.clear()
    sign_in_as(page, officer)
    page.goto(f"{live_server.url}/officer/issues/{issue.pk}/")
    form = page.locator("#update-form")
    form.get_by_label("Title").fill("The kitchen is open")
    form.get_by_label("The news").fill("Forty meals served in the first week.\n\nThank you, all of you.")
    form.get_by_label("A photo").set_input_files(
        {"name": "kitchen.jpg", "mimeType": "image/jpeg", "buffer": photo_bytes("JPEG", (800, 500))}
    )
    # First without saying what the photo shows: the form says so, next to the field.
    form.get_by_role("button", name="Post the update").click()
    page.wait_for_selector("#id_photo_alt_error")
    assert page.inner_text("#id_photo_alt_error") == "Describe the photo for people who cannot see it."
    assert "Please choose the photo again" in page.inner_text("#photo-again")
    look(page, "officer-update-form-errors")
    assert not BondholderUpdate.objects.exists()

    page.get_by_label("A photo").set_input_files(
        {"name": "kitchen.jpg", "mimeType": "image/jpeg", "buffer": photo_bytes("JPEG", (800, 500))}
    )
    page.get_by_label("What the photo shows").fill("Volunteers at the kitchen's serving hatch")
    page.get_by_role("button", name="Post the update").click()
    page.wait_for_selector("text=Your update is posted")
    update = BondholderUpdate.objects.get()
    article = page.locator(f"#update-{update.pk}")
    assert "The kitchen is open" in article.inner_text()
    image = article.locator("img")
    assert image.get_attribute("alt") == "Volunteers at the kitchen's serving hatch"
    # The photo loaded (the page's Content-Security-Policy allows it) and is drawn at its size.
    image.scroll_into_view_if_needed()  # it loads lazily, once it is near the view
    assert image.evaluate("img => img.decode().then(() => img.naturalWidth)") == 800
    look(page, "issue-page-with-news")
    assert [m.to for m in mail.outbox] == [["rita_resident@example.org"]]
