"""Why a payment did not go through, in the customer's language.

Stripe says why with a code: the bank's ``decline_code`` (``insufficient_funds``), or else the
error's ``code`` (``expired_card``, ``payment_intent_authentication_failure`` for a failed 3-D
Secure check). Stripe's own ``message`` is English; it is shown only for a code not listed here,
inside a translated sentence. The same messages are used by the pages (a failed order, the pay
page) and by the pay page's script, which gets them all in a ``data-`` attribute.
"""

from __future__ import annotations

import json

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

DECLINED = _("Your bank declined the payment. Try another card, or ask your bank why.")
FAILED = _("The payment did not go through. Check the card and try again.")
TRY_AGAIN = _("Your bank could not take the payment just now. Please try again in a minute.")
CVC = _("The card's security code (CVC) is not right.")
NUMBER = _("The card number is not right.")
EXPIRY = _("The card's expiry date is not right.")
AUTHENTICATION_FAILED = _("Your bank could not confirm it was you (3-D Secure). Try again, or use another card.")
# Stripe's own (English) message, for a code not listed below.
WITH_REASON = _("The payment did not go through: %(reason)s")
WALLET_FAILED = _("The wallet payment did not go through. Try again, or pay by card.")
# Auto-renew refused a charge itself (billing.next_charge.SPENDING_CAP_CODE): the order's reason
# text is then the customer's monthly limit, as formatted money.
SPENDING_CAP = _(
    "This charge would take this month's payments past your monthly limit of %(limit)s, so it was not made."
)

# Stripe's codes (docs.stripe.com/declines/codes and /error-codes) -> what the customer reads.
# Declines that hint at fraud (lost, stolen, fraudulent) get the plain "declined", as Stripe advises.
MESSAGES: dict[str, Promise] = {
    "card_declined": DECLINED,
    "generic_decline": DECLINED,
    "do_not_honor": DECLINED,
    "do_not_try_again": DECLINED,
    "transaction_not_allowed": DECLINED,
    "not_permitted": DECLINED,
    "restricted_card": DECLINED,
    "lost_card": DECLINED,
    "stolen_card": DECLINED,
    "pickup_card": DECLINED,
    "fraudulent": DECLINED,
    "merchant_blacklist": DECLINED,
    "security_violation": DECLINED,
    "call_issuer": DECLINED,
    "no_action_taken": DECLINED,
    "service_not_allowed": DECLINED,
    "insufficient_funds": _("Your card does not have enough money for this payment. Use another card."),
    "card_velocity_exceeded": _("Your card has reached its spending limit. Use another card, or ask your bank."),
    "withdrawal_count_limit_exceeded": _(
        "Your card has reached its spending limit. Use another card, or ask your bank."
    ),
    "expired_card": _("Your card has expired. Use another card."),
    "invalid_expiry_month": EXPIRY,
    "invalid_expiry_year": EXPIRY,
    "incomplete_expiry": EXPIRY,
    "invalid_expiry_year_past": EXPIRY,
    "incorrect_cvc": CVC,
    "invalid_cvc": CVC,
    "incomplete_cvc": CVC,
    "incorrect_number": NUMBER,
    "invalid_number": NUMBER,
    "incomplete_number": NUMBER,
    "incorrect_zip": _("The card's postcode is not right."),
    "incomplete_zip": _("The card's postcode is not right."),
    "card_not_supported": _("This card cannot pay for this. Use another card."),
    "currency_not_supported": _("This card cannot pay in this currency. Use another card."),
    "processing_error": TRY_AGAIN,
    "try_again_later": TRY_AGAIN,
    "reenter_transaction": TRY_AGAIN,
    "issuer_not_available": TRY_AGAIN,
    "authentication_required": _("Your bank wants you to confirm this payment yourself: pay it on this page."),
    "payment_intent_authentication_failure": AUTHENTICATION_FAILED,
    "setup_intent_authentication_failure": AUTHENTICATION_FAILED,
    "payment_intent_payment_attempt_failed": WALLET_FAILED,
    "payment_method_provider_decline": WALLET_FAILED,
    "payment_intent_payment_attempt_expired": _("The wallet payment was not finished in time. Please try again."),
    "payment_intent_unexpected_state": _("This payment changed meanwhile. Open the order to see where it stands."),
    "saved_card_missing": _("The saved card is no longer available. Please pay on this page."),
    # card_attach: the card's id names another customer's saved card (gateway.CARD_OF_ANOTHER_CUSTOMER).
    "payment_method_of_another_customer": _("This card could not be saved. Enter your card again."),
}


def payment_error_message(code: str, reason: str = "") -> str:
    """What the customer reads for Stripe's ``code``; for a code not listed, Stripe's ``reason``
    inside a translated sentence (or, without one, that the payment did not go through)."""
    if code == "spending_cap":
        return str(SPENDING_CAP) % {"limit": reason}
    known = MESSAGES.get(code)
    if known is not None:
        return str(known)
    if reason:
        return str(WITH_REASON) % {"reason": reason}
    return str(FAILED)


def payment_error_messages() -> dict[str, str]:
    """Every listed code's message in the active language, by code."""
    return {code: str(message) for code, message in MESSAGES.items()}


def payment_errors_for_script() -> dict[str, str]:
    """What a page that runs Stripe.js gives its script, in ``data-`` attributes: every message by
    code (JSON), and the sentence for Stripe's own message (``%(reason)s``)."""
    return {
        "payment_messages": json.dumps(payment_error_messages(), ensure_ascii=False),
        "payment_reason": str(WITH_REASON),
    }
