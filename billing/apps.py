from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        from accounts.notice_text import payment_reason_wording_register
        from billing.next_charge import next_charge_of_line
        from billing.payment_errors import payment_error_message
        from billing.signals import connect_signals
        from plans.line_hooks import line_hooks_register

        connect_signals()

        # Notices (accounts) word a failed payment's code as the payment pages do.
        payment_reason_wording_register(payment_error_message)
        # The line page (plans) shows the next automatic charge.
        line_hooks_register(next_charge_of_line=next_charge_of_line)
