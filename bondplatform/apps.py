from django.apps import AppConfig


class BondplatformConfig(AppConfig):
    name = "bondplatform"
    verbose_name = "Platform core"
