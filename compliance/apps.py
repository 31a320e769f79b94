from django.apps import AppConfig

from bondplatform import refusals


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        # The layers below the decision log keep their refusals through bondplatform.refusals.
        from compliance import services  # noqa: PLC0415 - services import models: only once apps are ready

        refusals.keeper_register(services.refusals_kept)
