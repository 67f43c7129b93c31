"""What a customer reads when Stripe says no or does not answer: one place, translated."""

from __future__ import annotations

from django.utils.translation import gettext as _

from billing import gateway
from billing.payment_errors import payment_error_message


def gateway_message(error: gateway.GatewayError) -> str:
    if isinstance(error, gateway.NotFound):
        return _("This payment has expired. Please start again from Renew.")
    if isinstance(error, gateway.GatewayUnavailable):
        return _("The payment service is not answering just now. Your order is kept: please try again in a minute.")
    if isinstance(error, gateway.CardDeclined):
        return payment_error_message(error.code, error.message)
    return _("The payment could not be started: %(reason)s") % {"reason": error.message}
