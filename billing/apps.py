from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        from accounts.notice_text import payment_reason_wording_register
        from billing.payment_errors import payment_error_message
        from billing.signals import connect_signals

        connect_signals()

        # Notices (accounts) word a failed payment's code as the payment pages do.
        payment_reason_wording_register(payment_error_message)
