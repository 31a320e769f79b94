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

# A bond's life after allotment (kept apart, below, so the sections above change on their own).
from investments.api import holdings as holdings_api  # noqa: E402
from investments.api import interest_runs as interest_runs_api  # noqa: E402
from investments.api import payouts as payouts_api  # noqa: E402
from investments.api import redemptions as redemptions_api  # noqa: E402

urlpatterns += [
    path(
        "issues/<int:issue_id>/interest-runs/",
        interest_runs_api.IssueInterestRunsApi.as_view(),
        name="issue-interest-runs",
    ),
    path(
        "interest-runs/<int:run_id>/", interest_runs_api.InterestRunDetailApi.as_view(), name="interest-run"
    ),
    path(
        "issuers/<int:issuer_id>/interest-return.csv",
        interest_runs_api.IssuerInterestReturnCsvApi.as_view(),
        name="issuer-interest-return-csv",
    ),
    path("me/holdings/", holdings_api.MyHoldingsApi.as_view(), name="my-holdings"),
    path(
        "holdings/<int:holding_id>/interest-preference/",
        holdings_api.HoldingInterestPreferenceApi.as_view(),
        name="holding-interest-preference",
    ),
    path(
        "holdings/<int:holding_id>/redemption-requests/",
        redemptions_api.HoldingRedemptionRequestsApi.as_view(),
        name="holding-redemption-requests",
    ),
    path(
        "redemption-requests/<int:request_id>/approve/",
        redemptions_api.RedemptionApproveApi.as_view(),
        name="redemption-approve",
    ),
    path(
        "redemption-requests/<int:request_id>/decline/",
        redemptions_api.RedemptionDeclineApi.as_view(),
        name="redemption-decline",
    ),
    path("issues/<int:issue_id>/mature/", redemptions_api.IssueMatureApi.as_view(), name="issue-mature"),
    path("me/payout-account/", payouts_api.MyPayoutAccountApi.as_view(), name="my-payout-account"),
    path(
        "issuers/<int:issuer_id>/payout-batches/",
        payouts_api.IssuerPayoutBatchesApi.as_view(),
        name="issuer-payout-batches",
    ),
    path(
        "payout-batches/<int:batch_id>/payouts.csv",
        payouts_api.PayoutBatchCsvApi.as_view(),
        name="payout-batch-csv",
    ),
    path(
        "payout-batches/<int:batch_id>/mark-sent/",
        payouts_api.PayoutBatchMarkSentApi.as_view(),
        name="payout-batch-mark-sent",
    ),
]

# Documents people keep: certificates, annual statements, the register as at a date.
from investments.api import documents as documents_api  # noqa: E402

urlpatterns += [
    path(
        "holdings/<int:holding_id>/certificate.pdf",
        documents_api.HoldingCertificatePdfApi.as_view(),
        name="holding-certificate-pdf",
    ),
    path("me/statement.pdf", documents_api.MyStatementPdfApi.as_view(), name="my-statement-pdf"),
    path("me/statement.json", documents_api.MyStatementJsonApi.as_view(), name="my-statement-json"),
    path(
        "issues/<int:issue_id>/register.csv",
        documents_api.IssueRegisterCsvApi.as_view(),
        name="issue-register-csv",
    ),
]

# Horizontal accountability: what the money was used for, and who took part (public).
from investments.api import accountability as accountability_api  # noqa: E402

urlpatterns += [
    path(
        "issues/<int:issue_id>/uses-of-funds/",
        accountability_api.IssueUsesOfFundsApi.as_view(),
        name="issue-uses-of-funds",
    ),
    path(
        "issuers/<int:issuer_id>/participation/",
        accountability_api.IssuerParticipationApi.as_view(),
        name="issuer-participation",
    ),
]

# Updates to bondholders: news of the project, from its officers (public to read).
from investments.api import updates as updates_api  # noqa: E402

urlpatterns += [
    path("issues/<int:issue_id>/updates/", updates_api.IssueUpdatesApi.as_view(), name="issue-updates"),
]
