"""django-q2 tasks: each calls one service and is safe to run again."""

from investments.services.issues import issues_close_due
from investments.services.subscriptions import subscriptions_expire_unpaid


def close_due_issues() -> list[int]:
    return issues_close_due()


def expire_unpaid_subscriptions() -> int:
    return subscriptions_expire_unpaid()
