"""Refunds as Stripe makes them, where localstripe falls short.

- Events: ``charge.refunded`` and ``refund.created`` (localstripe sends neither).
- Checks: a refund beyond what remains is refused (``charge_already_refunded``,
  ``amount_too_large``); ``reason`` is accepted.
- Listing: ``GET /v1/refunds`` filters by ``payment_intent``, ``charge`` and ``created``, newest
  first.
- Wallets: a refund of an Alipay or WeChat Pay payment is asynchronous, as Stripe's are: it is made
  ``pending`` and a moment later becomes ``succeeded``, sending ``refund.updated`` and
  ``charge.refund.updated``. Card refunds succeed at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from localstripe import resources
from localstripe.webhooks import schedule_webhook

from billing.localstripe_extras.common import error

REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
WALLETS = ("alipay", "wechat_pay")
WALLET_REFUND_SECONDS = 1.5  # pending, then succeeded: Stripe's test mode takes about as long


def install() -> None:
    resources.Refund._api_create = classmethod(_refund_create)
    resources.Refund._api_list_all = classmethod(_refund_list)


def _refunded_charge(data: dict[str, Any]) -> Any:
    """The charge a refund request is about, or None to let localstripe refuse the request."""
    charge_id, intent_id = data.get("charge"), data.get("payment_intent")
    if isinstance(charge_id, str):
        return resources.Charge._api_retrieve(charge_id)
    if isinstance(intent_id, str):
        intent = resources.PaymentIntent._api_retrieve(intent_id)
        if intent.latest_charge is None:  # localstripe would fail on it with a 500
            raise error(
                400,
                f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                param="payment_intent",
            )
        return intent.latest_charge
    return None


def _refund_create(cls: Any, reason: Any = None, **data: Any) -> Any:
    if reason is not None and reason not in REFUND_REASONS:
        raise error(
            400, "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer", param="reason"
        )
    charge = _refunded_charge(data)
    if charge is not None and charge.status == "succeeded":
        remaining = charge.amount - charge.amount_refunded
        if remaining <= 0:
            raise error(400, f"Charge {charge.id} has already been refunded.", code="charge_already_refunded")
        amount = resources.try_convert_to_int(data.get("amount"))
        if isinstance(amount, int) and amount > remaining:
            raise error(
                400,
                f"Refund amount ({amount} {charge.currency}) is greater than unrefunded amount on charge "
                f"({remaining} {charge.currency}).",
                code="amount_too_large",
                param="amount",
            )
        if data.get("amount") is None:
            data["amount"] = remaining  # localstripe would refund the whole charge again
    refund = cls(**data)
    refund.reason = reason
    charge = resources.Charge._api_retrieve(refund.charge)
    refund.payment_intent = refund.payment_intent or charge.payment_intent
    # As Stripe does, for a partial refund too; localstripe sends them about 1 s later, signed.
    schedule_webhook(resources.Event("charge.refunded", charge))
    if _paid_by_wallet(charge):
        refund.status = "pending"
        asyncio.get_running_loop().call_later(WALLET_REFUND_SECONDS, _wallet_refund_succeed, refund)
    schedule_webhook(resources.Event("refund.created", refund))
    return refund


def _paid_by_wallet(charge: Any) -> bool:
    method = resources.store.get(f"payment_method:{charge.payment_method}")
    return method is not None and method.type in WALLETS


def _wallet_refund_succeed(refund: Any) -> None:
    if resources.store.get(f"refund:{refund.id}") is not refund or refund.status != "pending":
        return  # wiped meanwhile
    refund.status = "succeeded"
    # Stripe sends both names for an asynchronous refund's change (``charge.refund.updated`` is
    # the older), each with the refund.
    schedule_webhook(resources.Event("refund.updated", refund))
    schedule_webhook(resources.Event("charge.refund.updated", refund))


def _refund_intent(refund: Any) -> Any:
    if getattr(refund, "payment_intent", None):
        return refund.payment_intent
    charge = resources.store.get(f"charge:{refund.charge}")
    return charge.payment_intent if charge is not None else None


def _created_filter(created: Any) -> Callable[[int], bool]:
    """Stripe's ``created`` filter: a timestamp, or ``created[gt|gte|lt|lte]``."""
    compare: dict[str, Callable[[int, int], bool]] = {
        "gt": int.__gt__,
        "gte": int.__ge__,
        "lt": int.__lt__,
        "lte": int.__le__,
    }
    bounds = created if isinstance(created, dict) else {"eq": created}
    checks: list[tuple[Callable[[int, int], bool], int]] = []
    for op, value in bounds.items():
        number = resources.try_convert_to_int(value)
        if not isinstance(number, int) or op not in (*compare, "eq"):
            raise error(400, "Invalid created: must be an integer timestamp or a range", param="created")
        checks.append((compare.get(op, int.__eq__), number))
    return lambda stamp: all(check(stamp, number) for check, number in checks)


def _refund_list(
    cls: Any,
    url: str,
    charge: Any = None,
    payment_intent: Any = None,
    created: Any = None,
    limit: Any = None,
    starting_after: Any = None,
    **unknown: Any,
) -> Any:
    if unknown:
        name = next(iter(unknown))
        raise error(400, f"Received unknown parameter: {name}", param=name)
    for param, value, kind in (
        ("charge", charge, resources.Charge),
        ("payment_intent", payment_intent, resources.PaymentIntent),
    ):
        if value is not None:
            if not isinstance(value, str):
                raise error(400, f"Invalid {param}: must be a string", param=param)
            kind._api_retrieve(value)  # 404 if it does not exist
    in_range = _created_filter(created) if created is not None else (lambda stamp: True)
    number = resources.try_convert_to_int(limit)
    if limit is not None and not (isinstance(number, int) and 1 <= number <= 100):
        raise error(400, "Invalid limit: must be between 1 and 100", param="limit")
    # The store keeps the order objects were made in: newest first, ties on the second included.
    refunds = [obj for key, obj in resources.store.items() if key.startswith("refund:")][::-1]
    refunds.sort(key=lambda refund: refund.created, reverse=True)
    listing = resources.List(url, limit=number, starting_after=starting_after)
    listing._list = [
        refund
        for refund in refunds
        if (charge is None or refund.charge == charge)
        and (payment_intent is None or _refund_intent(refund) == payment_intent)
        and in_range(refund.created)
    ]
    return listing
