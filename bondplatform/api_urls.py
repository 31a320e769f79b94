"""The API router: every public path of API.md, version 1."""

from django.urls import include, path

from investments.api import decisions as investments_decisions_api
from investments.api import ledger as investments_ledger_api
from issuers import api as issuers_api
from ledger import api as ledger_api
from ledger import api_proofs as ledger_proofs_api
from ledger import api_statement_jobs as statement_jobs_api
from people import api as people_api

urlpatterns = [
    path("auth/register/", people_api.RegisterApi.as_view(), name="auth-register"),
    path("auth/token/", people_api.TokenApi.as_view(), name="auth-token"),
    path("auth/logout/", people_api.LogoutApi.as_view(), name="auth-logout"),
    path("auth/verify-email/", people_api.EmailVerifyApi.as_view(), name="auth-verify-email"),
    path(
        "auth/verify-email/resend/",
        people_api.EmailVerificationResendApi.as_view(),
        name="auth-verify-email-resend",
    ),
    path("me/", issuers_api.MeApi.as_view(), name="me"),
    path("me/two-factor/", people_api.TwoFactorApi.as_view(), name="me-two-factor"),
    path("me/two-factor/confirm/", people_api.TwoFactorConfirmApi.as_view(), name="me-two-factor-confirm"),
    path("issuers/", issuers_api.IssuerListCreateApi.as_view(), name="issuer-list"),
    path("issuers/<int:issuer_id>/", issuers_api.IssuerDetailApi.as_view(), name="issuer-detail"),
    path("issuers/<int:issuer_id>/officers/", issuers_api.OfficerGrantApi.as_view(), name="issuer-officers"),
    path("issuers/<int:issuer_id>/auditors/", issuers_api.AuditorGrantApi.as_view(), name="issuer-auditors"),
    path(
        "issuers/<int:issuer_id>/officers/<int:user_id>/",
        issuers_api.OfficerRevokeApi.as_view(),
        name="issuer-officer",
    ),
    path(
        "issuers/<int:issuer_id>/auditors/<int:user_id>/",
        issuers_api.AuditorRevokeApi.as_view(),
        name="issuer-auditor",
    ),
    path("", include("investments.api_urls")),
    path("", include("compliance.api_urls")),
    path("ledger/entries/", investments_ledger_api.IssueLedgerEntriesApi.as_view(), name="ledger-entries"),
    path("ledger/balances/", ledger_api.LedgerBalancesApi.as_view(), name="ledger-balances"),
    path("ledger/verify/", ledger_api.LedgerVerifyApi.as_view(), name="ledger-verify"),
    path("ledger/statement.csv", ledger_api.LedgerStatementCsvApi.as_view(), name="ledger-statement-csv"),
    path("ledger/statement.pdf", ledger_api.LedgerStatementPdfApi.as_view(), name="ledger-statement-pdf"),
    path("ledger/checkpoints/", ledger_proofs_api.LedgerCheckpointsApi.as_view(), name="ledger-checkpoints"),
    path(
        "ledger/consistency-proof/",
        ledger_proofs_api.LedgerConsistencyProofApi.as_view(),
        name="ledger-consistency-proof",
    ),
    path("ledger/public-key/", ledger_api.LedgerPublicKeyApi.as_view(), name="ledger-public-key"),
    # PDF statements of any size, made in the background.
    path(
        "ledger/statement-jobs/", statement_jobs_api.StatementJobsApi.as_view(), name="ledger-statement-jobs"
    ),
    path(
        "ledger/statement-jobs/<int:job_id>/",
        statement_jobs_api.StatementJobDetailApi.as_view(),
        name="ledger-statement-job",
    ),
    path(
        "ledger/statement-jobs/<int:job_id>/statement.pdf",
        statement_jobs_api.StatementJobPdfApi.as_view(),
        name="ledger-statement-job-pdf",
    ),
    path(
        "compliance/decisions/",
        investments_decisions_api.IssueDecisionListApi.as_view(),
        name="compliance-decisions",
    ),
    path(
        "compliance/decisions.csv",
        investments_decisions_api.IssueDecisionCsvApi.as_view(),
        name="compliance-decisions-csv",
    ),
]
