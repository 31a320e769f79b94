from django.apps import AppConfig

from bondplatform import strict


class BondplatformConfig(AppConfig):
    name = "bondplatform"
    verbose_name = "Platform core"

    def ready(self):
        strict.install()
        # One log line and the metrics for every background task the cluster finishes.
        from django_q.signals import post_execute  # noqa: PLC0415  (needs the apps loaded)

        from bondplatform.requestlog import task_executed  # noqa: PLC0415  (imports models)

        post_execute.connect(task_executed, dispatch_uid="bondplatform_task_executed")
