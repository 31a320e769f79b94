"""The admin bypasses no rule (issue 9, finding 5): every registered model of the service is
read-only there, except the changes listed below, which go through the services (and have
their own tests in tests/issuers/test_admin.py).

Walked from the admin's own registry, so a model registered later is covered without
touching this file.
"""

import pytest
from django.contrib import admin
from django.test import RequestFactory

# The apps whose models hold the service's records (Django's own auth stays Django's).
OURS = {"bondplatform", "people", "issuers", "ledger", "compliance", "investments", "django_q"}

# (model, change) that the admin makes through a service, which judges and audits it.
THROUGH_SERVICES = {
    ("issuers.issuer", "add"),
    ("issuers.issuer", "change"),
    ("issuers.rolegrant", "add"),
    ("issuers.rolegrant", "delete"),
}

REGISTERED = sorted(
    (model._meta.label_lower, model_admin)
    for model, model_admin in admin.site._registry.items()
    if model._meta.app_label in OURS
)


def test_the_walk_finds_the_models():
    labels = {label for label, _ in REGISTERED}
    assert {"issuers.issuer", "issuers.rolegrant", "ledger.ledgerentry", "people.profile"} <= labels


@pytest.mark.django_db
@pytest.mark.parametrize(("label", "model_admin"), REGISTERED, ids=[label for label, _ in REGISTERED])
def test_each_admin_changes_nothing_except_through_a_service(label, model_admin, staff):
    request = RequestFactory().get("/admin/")
    request.user = staff  # a superuser: Django's own permissions would let it do anything
    allowed = {
        change
        for change, permitted in (
            ("add", model_admin.has_add_permission(request)),
            ("change", model_admin.has_change_permission(request)),
            ("delete", model_admin.has_delete_permission(request)),
        )
        if permitted
    }
    assert allowed == {change for model, change in THROUGH_SERVICES if model == label}
