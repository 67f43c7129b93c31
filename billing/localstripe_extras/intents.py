"""PaymentIntents take the parameters the app sends Stripe, which localstripe refuses or ignores.

- ``payment_method_types`` is kept and echoed (localstripe drops it): ``card``, ``alipay``,
  ``wechat_pay``; a payment method of another type is refused at confirm, as Stripe does.
- ``setup_future_usage`` (``off_session``/``on_session``; an empty string unsets it) on create,
  update and confirm, echoed; a card payment made with it attaches the card to the intent's
  customer once it succeeds, as Stripe does (localstripe never attaches).
- Confirm takes ``payment_method``, ``payment_method_data``, ``return_url``,
  ``payment_method_options``, ``client_secret`` and ``use_stripe_sdk`` (localstripe: a 500 or a
  400), from ``requires_payment_method`` (after a decline too), ``requires_confirmation`` or
  ``requires_action``; a wallet's payment method starts its next action (``wallets``).
- Failures say what Stripe says: a declined card is a ``card_error`` with ``decline_code`` and the
  intent in the error; ``last_payment_error`` names its payment method; a failed 3-D Secure check
  sends ``payment_intent.payment_failed`` (localstripe sends nothing).
"""

from __future__ import annotations

from typing import Any

from localstripe import resources
from localstripe.errors import UserError
from localstripe.webhooks import schedule_webhook

from billing.localstripe_extras import wallets
from billing.localstripe_extras.common import error, route_replace

PAYMENT_METHOD_TYPES = ("card", *wallets.WALLETS)
SETUP_FUTURE_USAGE = ("off_session", "on_session")
DECLINE_CODE = "generic_decline"  # what Stripe gives for 4000000000000341

PaymentIntent = resources.PaymentIntent
_localstripe_create = PaymentIntent._api_create.__func__
_localstripe_on_success = PaymentIntent._on_success
_localstripe_report_failure = PaymentIntent._report_failure
_localstripe_authenticate = PaymentIntent._api_authenticate.__func__
_localstripe_last_payment_error = PaymentIntent.last_payment_error
_localstripe_confirm_now = PaymentIntent._confirm
# Stripe's test card that asks for 3-D Secure on a payment the customer makes, but not on an
# off-session payment once it was set up for off-session use (4000 0027 6000 3184 always asks).
AUTHENTICATED_ONCE = "4000002500003155"


def install() -> None:
    # Defaults for intents made before (or by localstripe itself, for invoices).
    PaymentIntent.payment_method_types = ["card"]
    PaymentIntent.payment_method_options = {}
    PaymentIntent.setup_future_usage = None
    PaymentIntent._api_create = classmethod(_create)
    PaymentIntent._api_update = classmethod(_update)
    PaymentIntent._api_confirm = classmethod(_confirm)
    PaymentIntent._api_authenticate = classmethod(_authenticate)
    PaymentIntent._on_success = _on_success
    PaymentIntent._confirm = _charge_or_authenticate
    PaymentIntent._report_failure = _report_failure
    PaymentIntent.last_payment_error = property(_last_payment_error)
    # localstripe bound these routes to its functions when its module loaded.
    route_replace("POST", "/v1/payment_intents/{id}/confirm", PaymentIntent._api_confirm)
    route_replace("POST", "/v1/payment_intents/{id}/_authenticate", PaymentIntent._api_authenticate)


# --- Parameters ---------------------------------------------------------------------------------


def _setup_future_usage(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if value not in SETUP_FUTURE_USAGE:
        raise error(
            400, "Invalid setup_future_usage: must be one of off_session or on_session", param="setup_future_usage"
        )
    return str(value)


def _payment_method_types(value: Any) -> list[str]:
    if value is None:
        return ["card"]
    if not isinstance(value, list) or not value or not all(isinstance(kind, str) for kind in value):
        raise error(400, "Invalid array", param="payment_method_types")
    for kind in value:
        if kind not in PAYMENT_METHOD_TYPES:
            raise error(
                400,
                f"The payment method type provided: {kind} is invalid. Please ensure the provided type is "
                "activated in your dashboard (https://dashboard.stripe.com/account/payments/settings) and your "
                "account is enabled for any preview features that you are trying to use.",
                param="payment_method_types",
            )
    return list(dict.fromkeys(value))


def _payment_method_options(value: Any, current: dict[str, Any]) -> dict[str, Any]:
    if value is None:
        return current
    if not isinstance(value, dict) or not all(isinstance(options, dict) for options in value.values()):
        raise error(400, "Invalid object", param="payment_method_options")
    merged = {kind: dict(options) for kind, options in current.items()}
    for kind, options in value.items():
        if kind not in PAYMENT_METHOD_TYPES:
            raise error(
                400, f"Received unknown parameter: payment_method_options[{kind}]", param="payment_method_options"
            )
        usage = options.get("setup_future_usage")
        if usage is not None and usage not in ("none", *SETUP_FUTURE_USAGE):
            raise error(
                400,
                f"Invalid payment_method_options[{kind}][setup_future_usage]: must be one of none, off_session or "
                "on_session",
                param=f"payment_method_options[{kind}][setup_future_usage]",
            )
        merged.setdefault(kind, {}).update(options)
    return merged


def _unknown(params: dict[str, Any]) -> None:
    if params:
        name = next(iter(params))
        raise error(400, f"Received unknown parameter: {name}", param=name)


# --- Create, update, confirm ----------------------------------------------------------------------


def _create(
    cls: Any,
    confirm: Any = None,
    off_session: Any = None,
    setup_future_usage: Any = None,
    payment_method_types: Any = None,
    payment_method_options: Any = None,
    payment_method_data: Any = None,
    return_url: Any = None,
    **data: Any,
) -> Any:
    confirm = resources.try_convert_to_bool(confirm)
    if confirm not in (None, True, False):
        raise error(400, "Invalid boolean", param="confirm")
    if return_url is not None and confirm is not True:
        raise error(400, "You can only specify return_url when confirm is true.", param="return_url")
    usage = _setup_future_usage(setup_future_usage)
    types = _payment_method_types(payment_method_types)
    options = _payment_method_options(payment_method_options, {})
    if payment_method_data is not None:
        data["payment_method"] = wallets.method_from_data(payment_method_data, types).id
    if confirm and not data.get("payment_method"):
        raise error(400, "You must provide a payment method to confirm this PaymentIntent.", param="payment_method")
    off = resources.try_convert_to_bool(off_session)
    if off is not None and (not isinstance(off, bool) or confirm is not True):
        raise error(400, "You can only specify off_session when confirm is true.", param="off_session")
    intent = _localstripe_create(cls, **data)  # unconfirmed: confirmed below, as confirm does
    intent.payment_method_types = types
    intent.payment_method_options = options
    intent.setup_future_usage = usage
    intent._off_session = off is True
    if confirm:
        _confirm_now(intent, intent.payment_method, return_url=return_url)
    return intent


def _update(
    cls: Any,
    id: str,
    setup_future_usage: Any = ...,
    payment_method_types: Any = None,
    payment_method_options: Any = None,
    **data: Any,
) -> Any:
    intent = cls._api_retrieve(id)
    usage = intent.setup_future_usage if setup_future_usage is ... else _setup_future_usage(setup_future_usage)
    types = intent.payment_method_types if payment_method_types is None else _payment_method_types(payment_method_types)
    options = _payment_method_options(payment_method_options, intent.payment_method_options)
    intent._update(**data)
    intent.setup_future_usage, intent.payment_method_types, intent.payment_method_options = usage, types, options
    intent._payment_error = None  # Stripe: cleared when the intent is updated for any reason
    return intent


def _confirm(
    cls: Any,
    id: str,
    payment_method: Any = None,
    payment_method_data: Any = None,
    payment_method_options: Any = None,
    setup_future_usage: Any = ...,
    return_url: Any = None,
    client_secret: Any = None,
    use_stripe_sdk: Any = None,
    off_session: Any = None,
    **unknown: Any,
) -> Any:
    _unknown(unknown)
    intent = cls._api_retrieve(id)
    if client_secret is not None and client_secret != intent.client_secret:
        raise error(
            400,
            "The client_secret provided does not match the client_secret associated with the PaymentIntent.",
            param="client_secret",
        )
    if intent.status not in ("requires_payment_method", "requires_confirmation", "requires_action"):
        raise error(
            400,
            f"This PaymentIntent's status is {intent.status}, but it must be requires_payment_method, "
            "requires_confirmation or requires_action to be confirmed.",
            code="payment_intent_unexpected_state",
            payment_intent=intent._export(),
        )
    usage = intent.setup_future_usage if setup_future_usage is ... else _setup_future_usage(setup_future_usage)
    options = _payment_method_options(payment_method_options, intent.payment_method_options)
    if payment_method is not None and payment_method_data is not None:
        raise error(400, "You cannot provide both payment_method and payment_method_data.", param="payment_method")
    method_id = intent.payment_method
    if isinstance(payment_method, str):
        method = resources.PaymentMethod._api_retrieve(payment_method)
        if method.type not in intent.payment_method_types:
            raise error(
                400,
                f"The provided PaymentMethod of type {method.type} does not match the PaymentIntent's "
                f"payment_method_types ({', '.join(intent.payment_method_types)}).",
                code="payment_intent_incompatible_payment_method",
                param="payment_method",
            )
        method_id = method.id
    elif payment_method is not None:
        raise error(400, "Invalid string", param="payment_method")
    elif payment_method_data is not None:
        method_id = wallets.method_from_data(payment_method_data, intent.payment_method_types).id
    if not method_id:
        raise error(
            400,
            "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update "
            "the PaymentIntent with a payment method and then confirm it again, or confirm it again directly "
            "with a payment method.",
            code="payment_intent_unexpected_state",
            param="payment_method",
        )
    intent.setup_future_usage, intent.payment_method_options = usage, options
    _confirm_now(intent, method_id, return_url=return_url)
    return intent


def _confirm_now(intent: Any, method_id: str, *, return_url: Any) -> None:
    """A new payment attempt with this payment method: the last one's failure is forgotten and an
    attempt still awaiting the customer is abandoned, as when Stripe confirms again."""
    method = resources.PaymentMethod._api_retrieve(method_id)
    if method.type in wallets.WALLETS:
        wallets.attempt_check(intent, method, return_url=return_url)
    if intent.latest_charge is not None and intent.latest_charge.status == "failed":
        intent.latest_charge = None
    intent.payment_method = method.id
    intent._payment_error = None
    intent._authentication_failed = False
    intent.next_action = None
    wallets.attempt_abandon(intent)
    if method.type in wallets.WALLETS:
        wallets.attempt_start(intent, method, return_url=return_url)
    else:
        intent._confirm(on_failure_now=intent._report_failure)


# --- Outcomes -------------------------------------------------------------------------------------


def card_setup_future_usage(intent: Any) -> str | None:
    """Whether a card paying ``intent`` is kept: the card's own option overrides the intent's."""
    usage = (intent.payment_method_options.get("card") or {}).get("setup_future_usage")
    if usage == "none":
        return None
    return usage or intent.setup_future_usage


def _on_success(self: Any) -> None:
    method = resources.store.get(f"payment_method:{self.payment_method}")
    if card_setup_future_usage(self) in SETUP_FUTURE_USAGE and method is not None and method.type == "card":
        method._set_up_off_session = True  # authenticated now: off-session payments need not ask again
        if self.customer and method.customer is None:
            method.customer = self.customer  # before the event: it says the card is saved
    _localstripe_on_success(self)


def _charge_or_authenticate(self: Any, on_failure_now: Any) -> None:
    """localstripe asks for 3-D Secure whenever the card is one that needs it; Stripe does not
    ask again, off-session, for a card set up for off-session use when the customer paid."""
    method = resources.PaymentMethod._api_retrieve(self.payment_method)
    if (
        getattr(self, "_off_session", False)
        and getattr(method, "_set_up_off_session", False)
        and getattr(method, "_card_number", "") == AUTHENTICATED_ONCE
    ):
        self._authentication_failed = False
        self._create_charge(on_failure_now=on_failure_now)
        return
    _localstripe_confirm_now(self, on_failure_now)


def _report_failure(self: Any) -> None:
    try:
        _localstripe_report_failure(self)
    except UserError as declined:
        body = declined.body["error"]
        if body.get("code") == "card_declined":
            body.update(type="card_error", decline_code=DECLINE_CODE, payment_intent=self._export())
            method = resources.store.get(f"payment_method:{self.payment_method}")
            if method is not None:
                body["payment_method"] = method._export()
        raise


def _authenticate(cls: Any, id: str, success: Any = False, **data: Any) -> Any:
    intent = _localstripe_authenticate(cls, id, success=success, **data)
    if intent._authentication_failed:
        schedule_webhook(resources.Event("payment_intent.payment_failed", intent))
    return intent


def _last_payment_error(self: Any) -> dict[str, Any] | None:
    if getattr(self, "_payment_error", None):
        return dict(self._payment_error)
    found = _localstripe_last_payment_error.fget(self)
    if found is None:
        return None
    found = {**found, "type": "invalid_request_error"}
    if found.get("code") == "card_declined":
        found.update(type="card_error", decline_code=DECLINE_CODE)
        method = resources.store.get(f"payment_method:{self.latest_charge.payment_method}")
        if method is not None:
            found["payment_method"] = method._export()
    return found
