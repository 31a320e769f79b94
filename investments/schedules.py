"""Every recurring job of the service, in one list.

django-q2 keeps schedules in its `Schedule` table; after each `migrate`
the rows below are created or brought up to date, found by name, so an
interval changed here reaches every deployment. Each task calls one service
and is safe to run again (idempotency keys), so a run killed half-way, or
one that overlaps a slow predecessor, does no harm.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.signals import post_migrate


@dataclass(frozen=True)
class Recurring:
    name: str
    func: str
    # django-q2's Schedule.schedule_type: "I" minutes, "D" daily.
    schedule_type: str
    minutes: int | None = None


SCHEDULES = (
    Recurring(
        "background: run queued work that never reached a worker",
        "bondplatform.background.work_dispatch_stranded",
        "I",
        minutes=1,
    ),
    Recurring("ledger: sign each issuer's chain head", "ledger.tasks.sign_all_checkpoints", "D"),
    Recurring(
        "ledger: delete PDF statements made more than a week ago", "ledger.tasks.clean_statement_jobs", "D"
    ),
    Recurring("issues: close those past closes_at", "investments.tasks.close_due_issues", "I", minutes=1),
    Recurring(
        "subscriptions: expire the unpaid", "investments.tasks.expire_unpaid_subscriptions", "I", minutes=15
    ),
    Recurring(
        "payments: set up card payments a failed request left unprepared",
        "investments.tasks.prepare_unprepared_card_payments",
        "I",
        minutes=5,
    ),
    Recurring(
        "payments: retry unhandled Stripe events", "investments.tasks.retry_stripe_events", "I", minutes=5
    ),
    Recurring(
        "payments: retry card refunds Stripe refused", "investments.tasks.retry_card_refunds", "I", minutes=15
    ),
    Recurring("interest: run each coupon date reached", "investments.tasks.start_due_interest_runs", "D"),
)


def schedules_ensure(*, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    """post_migrate: create or update each schedule, found by name."""
    Schedule = apps.get_model("django_q", "Schedule")
    if Schedule._meta.db_table not in connections[using].introspection.table_names():
        return  # django_q is not migrated yet; its own post_migrate calls this again
    for recurring in SCHEDULES:
        Schedule.objects.using(using).update_or_create(
            name=recurring.name,
            defaults={
                "func": recurring.func,
                "schedule_type": recurring.schedule_type,
                "minutes": recurring.minutes,
                "repeats": -1,
            },
        )


def connect(sender) -> None:
    post_migrate.connect(schedules_ensure, sender=sender, dispatch_uid="investments_schedules")
