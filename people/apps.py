from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in


class PeopleConfig(AppConfig):
    name = "people"
    verbose_name = "People"

    def ready(self) -> None:
        from people import sessions  # noqa: PLC0415 - models are not ready at import time

        user_logged_in.connect(sessions.stamp_on_login, dispatch_uid="people.sessions.stamp_on_login")
