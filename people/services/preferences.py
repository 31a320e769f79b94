"""A resident's choices about what we send them."""

from __future__ import annotations

from django.db import transaction

from bondplatform.actors import Actor
from bondplatform.audit import audit_record
from bondplatform.errors import NotPermitted
from people import gates
from people.models import Profile


def email_updates_set(*, actor: Actor, receive: bool) -> Profile:
    """Turn the non-essential e-mails about one's bonds on or off (the essential ones always go)."""
    user = gates.require_person(actor)
    with transaction.atomic(durable=True):
        profile = Profile.objects.select_for_update().filter(user=user).first()
        if profile is None:
            raise NotPermitted(
                "Only registered residents receive e-mails about bonds.", code="not_a_resident"
            )
        if profile.email_updates != receive:
            profile.email_updates = receive
            profile.save(update_fields=["email_updates"])
            audit_record(
                actor=actor,
                issuer=None,
                action="profile.email_updates",
                obj=profile,
                data={"receive": receive},
            )
        return profile
