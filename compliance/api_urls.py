"""API paths of distributions, financial years and a winding-up (included by bondplatform.api_urls)."""

from django.urls import path

from compliance import api_outflows

urlpatterns = [
    path(
        "issuers/<int:issuer_id>/distributions/",
        api_outflows.IssuerDistributionsApi.as_view(),
        name="issuer-distributions",
    ),
    path(
        "issuers/<int:issuer_id>/financial-years/",
        api_outflows.IssuerFinancialYearsApi.as_view(),
        name="issuer-financial-years",
    ),
    path(
        "issuers/<int:issuer_id>/winding-up/",
        api_outflows.IssuerWindingUpApi.as_view(),
        name="issuer-winding-up",
    ),
]
