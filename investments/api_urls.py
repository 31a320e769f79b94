"""API paths of bond issues, subscriptions and payments (included by bondplatform.api_urls)."""

from django.urls import path

from investments.api import issues as issues_api
from investments.api import payments as payments_api
from investments.api import subscriptions as subscriptions_api

urlpatterns = [
    # Bond issues
    path("issues/", issues_api.IssueListCreateApi.as_view(), name="issue-list"),
    path("issues/<int:issue_id>/", issues_api.IssueDetailApi.as_view(), name="issue-detail"),
    path("issues/<int:issue_id>/open/", issues_api.IssueOpenApi.as_view(), name="issue-open"),
    path("issues/<int:issue_id>/close/", issues_api.IssueCloseApi.as_view(), name="issue-close"),
    path("issues/<int:issue_id>/withdraw/", issues_api.IssueWithdrawApi.as_view(), name="issue-withdraw"),
    path("issues/<int:issue_id>/allot/", issues_api.IssueAllotApi.as_view(), name="issue-allot"),
    path("issues/<int:issue_id>/register/", issues_api.IssueRegisterApi.as_view(), name="issue-register"),
    path(
        "issues/<int:issue_id>/transparency/",
        issues_api.IssueTransparencyApi.as_view(),
        name="issue-transparency",
    ),
    # Subscriptions
    path(
        "issues/<int:issue_id>/subscriptions/",
        subscriptions_api.IssueSubscribeApi.as_view(),
        name="issue-subscribe",
    ),
    path("me/subscriptions/", subscriptions_api.MySubscriptionsApi.as_view(), name="my-subscriptions"),
    path(
        "subscriptions/<int:subscription_id>/cancel/",
        subscriptions_api.SubscriptionCancelApi.as_view(),
        name="subscription-cancel",
    ),
    # Payments
    path(
        "subscriptions/<int:subscription_id>/record-payment/",
        payments_api.SubscriptionRecordPaymentApi.as_view(),
        name="subscription-record-payment",
    ),
    path(
        "refunds/<int:refund_id>/mark-sent/",
        payments_api.RefundMarkSentApi.as_view(),
        name="refund-mark-sent",
    ),
    path("payments/stripe/webhook/", payments_api.StripeWebhookApi.as_view(), name="stripe-webhook"),
    path(
        "issuers/<int:issuer_id>/bank-statements/",
        payments_api.BankStatementImportApi.as_view(),
        name="issuer-bank-statements",
    ),
]
