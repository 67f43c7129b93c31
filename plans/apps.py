from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlansConfig(AppConfig):
    name = "plans"
    verbose_name = _("Plans and lines")

    def ready(self) -> None:
        from plans import signals

        signals.connect_signals()
