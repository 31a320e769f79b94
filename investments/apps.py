from django.apps import AppConfig

from investments import schedules


class InvestmentsConfig(AppConfig):
    name = "investments"
    verbose_name = "Investments"

    def ready(self) -> None:
        schedules.connect(self)
