from django.apps import AppConfig


class InvestmentsConfig(AppConfig):
    name = "investments"
    verbose_name = "Investments"

    def ready(self) -> None:
        from investments import schedules
        from investments.ledger import admin  # noqa: F401  (the ledger's read-only admin)

        schedules.connect(self)
