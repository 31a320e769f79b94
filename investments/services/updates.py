"""Officers post news of the project an issue pays for; its bondholders hear of it by e-mail.

So that the people who lent stay members of something rather than its creditors:
an update (a title, a text, the day it speaks for, and perhaps a photo with its
description) goes on the offer's public page and, after COMMIT, to everyone whose
money the issue holds (`selectors_updates.update_recipient_ids`), once each. Those
who turned off the e-mails they can do without (`Profile.email_updates`) still see
it on the page.

Updates are append-only: there is no edit or delete. The e-mail has gone by the
time anyone notices a mistake, and the page must keep saying what the e-mail said;
a correction is a new update, which reaches the same people. (Staff can still take
down a photo posted in error through the database: no trigger forbids it, since a
photo of the wrong person is a reason to remove it that no rule here can foresee.)

No lock: posting reads the issue's status only to refuse a draft, and an issue never
goes back to being a draft.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from bondplatform.actors import Actor
from bondplatform.audit import audit_record
from bondplatform.errors import BadInput, InvalidState, NotFound
from bondplatform.images import photo_cleaned
from investments import notifications
from investments.models import BondholderUpdate, BondholderUpdatePhoto, BondIssue, IssueStatus
from issuers import gates

TITLE_MAX = 200
BODY_MAX = 10_000
PHOTO_ALT_MAX = 300


def bondholder_update_post(
    *,
    actor: Actor,
    issue_id: int,
    title: str,
    body: str,
    photo: bytes | None = None,
    photo_alt: str = "",
    published_on: dt.date | None = None,
) -> BondholderUpdate:
    """Post an update on a published (not draft) issue: officers of its issuer only.

    `photo` is the uploaded file's bytes: a JPEG, PNG or WebP of at most 5 MB, kept
    re-encoded without its metadata (`bondplatform.images`); `photo_alt` describes it for
    people who cannot see it and is required with one. `published_on` is today unless
    an earlier day is given (not before the offer opened)."""
    issue = BondIssue.objects.select_related("issuer").filter(pk=issue_id).first()
    if issue is None:
        raise NotFound("No such bond issue.", code="issue_not_found")
    gates.require_officer(actor, issue.issuer)
    author = gates.require_person(actor)
    if issue.status == IssueStatus.DRAFT:
        raise InvalidState(
            "A draft has no bondholders to tell: open the offer first.",
            code="issue_is_draft",
            extra={"status": issue.status},
        )
    title, body, photo_alt = title.strip(), body.strip(), photo_alt.strip() if photo is not None else ""
    today = timezone.localdate()
    published_on = published_on or today
    problems = _problems(
        title=title,
        body=body,
        photo_alt=photo_alt,
        has_photo=photo is not None,
        published_on=published_on,
        opened_on=timezone.localdate(issue.opens_at),
        today=today,
    )
    if problems:
        raise BadInput(
            "; ".join(f"{name}: {' '.join(messages)}" for name, messages in problems.items()),
            code="invalid",
            fields=problems,
        )
    # Decoded last: the costly check, once everything else is right.
    cleaned = photo_cleaned(photo) if photo is not None else None
    with transaction.atomic(durable=True):
        update = BondholderUpdate.objects.create(
            issue=issue,
            title=title,
            body=body,
            published_on=published_on,
            photo_content_type=cleaned.content_type if cleaned else "",
            photo_alt=photo_alt,
            photo_width=cleaned.width if cleaned else None,
            photo_height=cleaned.height if cleaned else None,
            author=author,
        )
        if cleaned:
            BondholderUpdatePhoto.objects.create(update=update, content=cleaned.content)
        audit_record(
            actor=actor,
            issuer=issue.issuer,
            action="bondholder_update.post",
            obj=update,
            data={
                "issue": issue.pk,
                "title": title,
                "published_on": published_on.isoformat(),
                "photo": cleaned.content_type if cleaned else None,
            },
        )
        notifications.bondholder_update_posted(update)
    return update


def _problems(
    *,
    title: str,
    body: str,
    photo_alt: str,
    has_photo: bool,
    published_on: dt.date,
    opened_on: dt.date,
    today: dt.date,
) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if not title:
        problems["title"] = ["A title is required."]
    elif len(title) > TITLE_MAX:
        problems["title"] = [f"At most {TITLE_MAX} characters."]
    if not body:
        problems["body"] = ["Say what the news is."]
    elif len(body) > BODY_MAX:
        problems["body"] = [f"At most {BODY_MAX:,} characters."]
    if has_photo and not photo_alt:
        problems["photo_alt"] = ["Describe the photo for people who cannot see it."]
    elif len(photo_alt) > PHOTO_ALT_MAX:
        problems["photo_alt"] = [f"At most {PHOTO_ALT_MAX} characters."]
    if published_on > today:
        problems["published_on"] = ["Not in the future."]
    elif published_on < opened_on:
        problems["published_on"] = [f"Not before the offer opened ({opened_on.isoformat()})."]
    return problems
