from django.apps import AppConfig


class InvestmentsConfig(AppConfig):
    name = "investments"
    verbose_name = "Investments"

    def ready(self) -> None:
        from investments.ledger import admin  # noqa: F401  (the ledger's read-only admin)
        from investments.ledger.tasks import connect_signals

        connect_signals(self)
