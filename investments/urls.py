"""HTML pages: residents', and the officers' and auditors' (investments.views_officer)."""

from django.urls import path

from investments import (
    views,
    views_auditor,
    views_officer,
    views_officer_issues,
    views_public,
    views_statements,
    views_updates,
)

urlpatterns = [
    path("", views.home, name="home"),
    path("issues/<int:issue_id>/", views.issue_detail, name="issue-page"),
    path(
        "issues/<int:issue_id>/transparency/", views_public.issue_transparency, name="issue-transparency-page"
    ),
    path(
        "issuers/<int:issuer_id>/participation/",
        views_public.issuer_participation,
        name="issuer-participation-page",
    ),
    path("subscriptions/<int:subscription_id>/", views.subscription_detail, name="subscription-detail"),
    path(
        "subscriptions/<int:subscription_id>/cancel/",
        views.subscription_cancel,
        name="subscription-cancel-page",
    ),
    path("me/", views.my_investments, name="my-investments"),
    path("me/emails/", views.email_updates, name="email-updates-page"),
    path("me/payout-account/", views.payout_account, name="payout-account-page"),
    path("holdings/<int:holding_id>/preference/", views.holding_preference, name="holding-preference-page"),
    path("holdings/<int:holding_id>/redeem/", views.holding_redeem, name="holding-redeem-page"),
    # Finance officers and auditors
    path("officer/", views_officer.officer_home, name="officer-home"),
    path("officer/issues/<int:issue_id>/", views_officer.officer_issue, name="officer-issue"),
    *(
        path(
            f"officer/issues/<int:issue_id>/{action}/",
            views_officer.officer_issue_action,
            {"action": action},
            name=f"officer-issue-{action}",
        )
        for action in views_officer.ACTION_LABELS
    ),
    path("officer/issues/<int:issue_id>/register/", views_officer.officer_register, name="officer-register"),
    path(
        "officer/subscriptions/<int:subscription_id>/record-payment/",
        views_officer.officer_record_payment,
        name="officer-record-payment",
    ),
    path(
        "officer/refunds/<int:refund_id>/mark-sent/",
        views_officer.officer_refund_sent,
        name="officer-refund-sent",
    ),
    path(
        "officer/issuers/<int:issuer_id>/bank-statement/",
        views_officer.officer_bank_statement,
        name="officer-bank-statement",
    ),
    path(
        "officer/issues/<int:issue_id>/interest-runs/",
        views_officer.officer_interest_run_request,
        name="officer-interest-run-request",
    ),
    path(
        "officer/interest-runs/<int:run_id>/", views_officer.officer_interest_run, name="officer-interest-run"
    ),
    path(
        "officer/redemption-requests/<int:request_id>/decide/",
        views_officer.officer_redemption_decide,
        name="officer-redemption-decide",
    ),
    path(
        "officer/issuers/<int:issuer_id>/payout-batches/",
        views_officer.officer_payout_batches,
        name="officer-payout-batches",
    ),
    path(
        "officer/payout-batches/<int:batch_id>/mark-sent/",
        views_officer.officer_payout_batch_sent,
        name="officer-payout-batch-sent",
    ),
    path("auditor/issuers/<int:issuer_id>/", views_officer.auditor_issuer, name="auditor-issuer"),
    path("auditor/issuers/<int:issuer_id>/ledger/", views_auditor.auditor_ledger, name="auditor-ledger"),
    path(
        "auditor/issuers/<int:issuer_id>/decisions/",
        views_auditor.auditor_decisions,
        name="auditor-decisions",
    ),
    path(
        "auditor/issuers/<int:issuer_id>/statements/",
        views_statements.auditor_statement_jobs,
        name="auditor-statement-jobs",
    ),
    # Officers set an issuer up: draft issues, roles, distributions, uses of funds
    path(
        "officer/issuers/<int:issuer_id>/issues/new/",
        views_officer_issues.officer_issue_create,
        name="officer-issue-new",
    ),
    path(
        "officer/issues/<int:issue_id>/terms/",
        views_officer_issues.officer_issue_terms,
        name="officer-issue-terms",
    ),
    path(
        "officer/issuers/<int:issuer_id>/roles/",
        views_officer_issues.officer_issuer_roles,
        name="officer-issuer-roles",
    ),
    path(
        "officer/issuers/<int:issuer_id>/roles/<int:grant_id>/revoke/",
        views_officer_issues.officer_role_revoke,
        name="officer-role-revoke",
    ),
    path(
        "officer/issuers/<int:issuer_id>/distributions/",
        views_officer_issues.officer_distributions,
        name="officer-distributions",
    ),
    path(
        "officer/issues/<int:issue_id>/uses-of-funds/",
        views_officer_issues.officer_uses_of_funds,
        name="officer-uses-of-funds",
    ),
]

# Updates to bondholders: an officer posts one; the photos of the offers' pages.
urlpatterns += [
    path(
        "officer/issues/<int:issue_id>/updates/",
        views_updates.officer_update_post,
        name="officer-update-post",
    ),
    path(
        "updates/<int:update_id>/photo", views_updates.bondholder_update_photo, name="bondholder-update-photo"
    ),
]
