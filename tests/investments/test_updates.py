"""Updates to bondholders: an officer posts news of the project; everyone whose money the issue
holds hears of it by e-mail, once, after COMMIT, unless they turned such e-mails off.

Rita holds two holdings of the issue, Sam one, Pam has paid but is not yet allotted (on an
open issue), Una has not paid yet."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.utils import timezone
from rest_framework.exceptions import NotAuthenticated

from bondplatform.errors import BadInput, InvalidState, NotPermitted
from bondplatform.models import AuditEvent, QueuedWork
from investments import notifications
from investments.models import BondholderUpdate, BondholderUpdatePhoto
from investments.payments.receipts import receipt_record
from investments.services import issues as issue_services
from investments.services import updates as update_services
from investments.services.subscriptions import subscription_create
from investments.services.updates import bondholder_update_post
from issuers.models import RoleGrant
from people.services.preferences import email_updates_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_subscription(officer):
    """paid_subscription(resident, issue, pounds) -> a subscription paid in full by bank transfer."""

    def make(resident, issue, pounds):
        subscription, _ = subscription_create(
            actor=resident, issue_id=issue.pk, amount_pence=pounds * 100, payment_method="bank_transfer"
        )
        receipt_record(
            actor=officer,
            subscription_id=subscription.pk,
            amount_pence=subscription.amount_pence,
            reference=subscription.reference,
            received_on=timezone.localdate(),
            idempotency_key=f"updates-{subscription.pk}",
        )
        return subscription

    return make


@pytest.fixture
def active_issue(society, officer, resident, make_user, open_issue, paid_subscription):
    """An issue allotted today: Rita holds two holdings of it (two subscriptions), Sam one."""
    sam = make_user("sam_saver", full_name="Sam Saver")
    issue = open_issue(society, officer, min_raise_pence=100_00)
    for person, pounds in ((resident, 300), (resident, 200), (sam, 400)):
        paid_subscription(person, issue, pounds)
    issue_services.issue_close(actor=officer, issue_id=issue.pk)
    issue_services.issue_allot(actor=officer, issue_id=issue.pk)
    assert issue.holdings.filter(holder=resident).count() == 2
    return issue


def _post(officer, issue, **overrides):
    fields = {"title": "The kitchen is open", "body": "Forty meals served in the first week.\nThank you."}
    return bondholder_update_post(actor=officer, issue_id=issue.pk, **{**fields, **overrides})


def _to(address):
    return [m for m in mail.outbox if address in m.to]


def test_every_holder_hears_once_however_many_holdings(
    officer, active_issue, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        update = _post(officer, active_issue)
    assert sorted(address for m in mail.outbox for address in m.to) == [
        "rita_resident@example.org",
        "sam_saver@example.org",
    ]
    (message,) = _to("rita_resident@example.org")
    assert message.subject == "News from Sheffield Citylife Society: The kitchen is open"
    assert "Forty meals served in the first week.\nThank you." in message.body
    assert f"http://127.0.0.1:8000/issues/{active_issue.pk}/#update-{update.pk}" in message.body
    assert update.published_on == timezone.localdate() and update.author == officer


def test_paid_subscribers_hear_too_but_not_those_yet_to_pay(
    society, officer, resident, make_user, open_issue, paid_subscription, django_capture_on_commit_callbacks
):
    issue = open_issue(society, officer)
    paid_subscription(resident, issue, 250)
    unpaid = make_user("una_unpaid")
    subscription_create(actor=unpaid, issue_id=issue.pk, amount_pence=100_00, payment_method="bank_transfer")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _post(officer, issue, title="The builders start on Monday")
    assert [m.to for m in mail.outbox] == [["rita_resident@example.org"]]


def test_a_holder_who_turned_updates_off_is_not_sent_one(
    officer, resident, active_issue, django_capture_on_commit_callbacks
):
    email_updates_set(actor=resident, receive=False)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _post(officer, active_issue)
    assert _to("rita_resident@example.org") == []
    assert len(_to("sam_saver@example.org")) == 1


def test_a_rolled_back_post_sends_nothing(
    officer, active_issue, monkeypatch, django_capture_on_commit_callbacks
):
    def audit_fails(**kwargs):
        raise RuntimeError("the audit trail is unavailable")

    monkeypatch.setattr(update_services, "audit_record", audit_fails)
    mail.outbox.clear()
    queued = QueuedWork.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        _post(officer, active_issue)
    assert callbacks == []
    assert mail.outbox == []
    assert not BondholderUpdate.objects.exists()
    assert QueuedWork.objects.count() == queued


def test_sending_again_sends_nobody_a_second_copy(officer, active_issue, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        update = _post(officer, active_issue)
    assert len(mail.outbox) == 2
    # A worker that died after queuing the sends but before marking its work done: run again.
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.send_bondholder_update_to_all(update_id=update.pk) == 0
    assert len(mail.outbox) == 2


def test_the_post_is_audited(officer, active_issue):
    update = _post(officer, active_issue)
    event = AuditEvent.objects.get(action="bondholder_update.post")
    assert (event.actor, event.object_id) == (officer, str(update.pk))
    assert event.data == {
        "issue": active_issue.pk,
        "title": "The kitchen is open",
        "published_on": timezone.localdate().isoformat(),
        "photo": None,
    }


def test_only_an_officer_of_the_issuer_may_post(
    society, cic, officer, auditor, resident, make_user, active_issue
):
    other_officer = make_user("oona_other_officer", resident=False)
    RoleGrant.objects.create(issuer=cic, user=other_officer, role="finance_officer")
    for person in (auditor, resident, other_officer):
        with pytest.raises(NotPermitted):
            _post(person, active_issue)
    with pytest.raises(NotAuthenticated):
        _post(AnonymousUser(), active_issue)
    assert not BondholderUpdate.objects.exists()


def test_a_draft_has_nobody_to_tell(society, officer, open_issue):
    draft = open_issue(society, officer, open_it=False)
    with pytest.raises(InvalidState) as refused:
        _post(officer, draft)
    assert refused.value.code == "issue_is_draft"
    assert not BondholderUpdate.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": "  "}, "title", "A title is required."),
        ({"title": "x" * 201}, "title", "At most 200 characters."),
        ({"body": "\n"}, "body", "Say what the news is."),
        ({"published_on": dt.date(2099, 1, 1)}, "published_on", "Not in the future."),
    ],
)
def test_bad_input_names_its_field(officer, active_issue, overrides, field, message):
    with pytest.raises(BadInput) as refused:
        _post(officer, active_issue, **overrides)
    assert refused.value.fields == {field: [message]}
    assert not BondholderUpdate.objects.exists()


def test_an_update_speaks_for_a_day_from_the_offers_opening(officer, active_issue):
    opened = timezone.localdate(active_issue.opens_at)
    with pytest.raises(BadInput) as refused:
        _post(officer, active_issue, published_on=opened - dt.timedelta(days=1))
    assert refused.value.fields == {"published_on": [f"Not before the offer opened ({opened.isoformat()})."]}
    assert _post(officer, active_issue, published_on=opened).published_on == opened


def test_a_photo_is_kept_re_encoded_with_its_description(officer, active_issue, photo_bytes):
    update = _post(officer, active_issue, photo=photo_bytes("PNG", (64, 48)), photo_alt=" The new kitchen ")
    update.refresh_from_db()
    assert (update.photo_content_type, update.photo_alt) == ("image/png", "The new kitchen")
    assert (update.photo_width, update.photo_height) == (64, 48)
    assert bytes(BondholderUpdatePhoto.objects.get(update=update).content).startswith(b"\x89PNG")


def test_a_photo_needs_its_description_and_must_be_an_image(officer, active_issue, photo_bytes):
    with pytest.raises(BadInput) as refused:
        _post(officer, active_issue, photo=photo_bytes("JPEG"), photo_alt="")
    assert refused.value.fields == {"photo_alt": ["Describe the photo for people who cannot see it."]}
    with pytest.raises(BadInput) as refused:
        _post(officer, active_issue, photo=b"<svg onload='alert(1)'/>", photo_alt="A drawing")
    assert refused.value.code == "invalid_photo"
    assert not BondholderUpdate.objects.exists() and not BondholderUpdatePhoto.objects.exists()


def test_a_description_without_a_photo_is_dropped(officer, active_issue):
    assert _post(officer, active_issue, photo_alt="A photo never sent").photo_alt == ""
