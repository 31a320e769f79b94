"""Reads for issuers."""

from django.db.models import QuerySet

from issuers.models import Issuer, RoleGrant


def issuer_list() -> QuerySet[Issuer]:
    return Issuer.objects.order_by("id")


def issuer_get(issuer_id: int) -> Issuer:
    from bondplatform.errors import NotFound

    issuer = Issuer.objects.filter(pk=issuer_id).first()
    if issuer is None:
        raise NotFound("No such issuer.", code="issuer_not_found")
    return issuer


def role_grants_of(user) -> QuerySet[RoleGrant]:
    """The roles a person holds, with their issuers, by issuer then role."""
    return RoleGrant.objects.filter(user=user).select_related("issuer").order_by("issuer_id", "role")
