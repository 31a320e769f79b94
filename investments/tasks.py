"""django-q2 tasks: each calls one service and is safe to run again."""

from investments.payments.card import card_refunds_retry_pending
from investments.payments.webhooks import stripe_events_process_pending
from investments.services.interest_runs import interest_run_execute, interest_runs_start_due
from investments.services.issues import issues_close_due
from investments.services.subscriptions import subscriptions_expire_unpaid, subscriptions_prepare_unprepared


def close_due_issues() -> list[int]:
    return issues_close_due()


def expire_unpaid_subscriptions() -> int:
    return subscriptions_expire_unpaid()


def prepare_unprepared_card_payments() -> int:
    """Card subscriptions whose PaymentIntent was never created (the request died first)."""
    return subscriptions_prepare_unprepared()


def retry_stripe_events() -> int:
    """Webhook events left unhandled (a failure, or a worker that died mid-way)."""
    return stripe_events_process_pending()


def retry_card_refunds() -> int:
    """Card refunds Stripe could not take when they were owed."""
    return card_refunds_retry_pending()


def execute_interest_run(run_id: int) -> str:
    """Run (or finish) one interest run; queued after COMMIT by whoever requested it."""
    return interest_run_execute(run_id=run_id).status


def start_due_interest_runs() -> list[int]:
    """Each active issue's coupon dates reached: request (or resume) their runs, in order."""
    return interest_runs_start_due()
