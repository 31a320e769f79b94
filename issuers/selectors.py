"""Reads for issuers."""

from django.db.models import QuerySet

from issuers.models import Issuer


def issuer_list() -> QuerySet[Issuer]:
    return Issuer.objects.order_by("id")


def issuer_get(issuer_id: int) -> Issuer:
    from bondplatform.errors import NotFound

    issuer = Issuer.objects.filter(pk=issuer_id).first()
    if issuer is None:
        raise NotFound("No such issuer.", code="issuer_not_found")
    return issuer
