from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from bondplatform import metrics  # noqa: PLC0415 - models are not ready at import time
        from ledger.metrics import LedgerCollector  # noqa: PLC0415

        metrics.register(LedgerCollector())
