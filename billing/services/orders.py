"""Orders: give one its PaymentIntent, ready it for the card, fulfil it once, cancel it (opening
one is ``billing.services.opening``).

The locking rules are in ``billing.services``: only the order row is locked, never across a call
to Stripe; Stripe's answer is applied under the lock, idempotently.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notice
from accounts.notice_keys import order_fulfilled_key
from accounts.outbox import notice_create
from billing import gateway
from billing.models import Order
from billing.services.customers import payment_profile_card_keep, payment_profile_get, payment_profile_renew
from billing.services.items import order_items_grant_locked
from plans.models import Line

logger = logging.getLogger(__name__)

# Stored on an order whose intent Stripe no longer knows (Stripe answered 404).
PAYMENT_EXPIRED = "Payment expired."


def order_locked(pk: int) -> Order:
    """The order row, locked until the transaction ends: only the order (its line, plan and user
    are read, not locked), FOR NO KEY UPDATE (rows pointing at it can still be inserted)."""
    return Order.objects.select_for_update(of=("self",), no_key=True).select_related("line", "plan", "user").get(pk=pk)


# --- The intent ------------------------------------------------------------------------------


def _intent_create(order: Order, *, idempotency_key: str) -> gateway.Intent:
    """A PaymentIntent for the order at Stripe; if Stripe no longer knows the customer, a new
    customer and a new key (the old key is bound to the old customer)."""
    profile = payment_profile_get(user=order.user)
    try:
        return _intent_for(order, customer_id=profile.stripe_customer_id, idempotency_key=idempotency_key)
    except gateway.NotFound:
        profile = payment_profile_renew(profile=profile)
        return _intent_for(
            order,
            customer_id=profile.stripe_customer_id,
            idempotency_key=f"{idempotency_key}-{profile.stripe_customer_id}",
        )


def _intent_for(order: Order, *, customer_id: str, idempotency_key: str) -> gateway.Intent:
    return gateway.intent_create(
        amount_minor=order.amount_minor,
        currency=order.currency,
        customer_id=customer_id,
        order_public_id=order.public_id,
        idempotency_key=idempotency_key,
        payment_method_types=gateway.methods_for(order.currency),
    )


def _intent_record(order: Order, intent: gateway.Intent, *, replacing: str | None) -> Order:
    """Give the order ``intent`` if it still has the intent it had when the call began
    (``replacing``); an intent that lost a race is cancelled at Stripe."""
    with transaction.atomic():
        order = order_locked(order.pk)
        if order.is_open and order.payment_intent_id == replacing:
            order.payment_intent_id, order.client_secret = intent.id, intent.client_secret
            order.save(update_fields=["payment_intent_id", "client_secret", "updated_at"])
    if order.payment_intent_id != intent.id:
        _intent_cancel_quietly(intent.id)
    return order


def order_intent_ensure(*, order: Order) -> Order:
    """Give the order its PaymentIntent if it has none. One intent per order even when several
    requests race: the idempotency key is derived from the order, so Stripe answers each with the
    same intent, and the first to record it wins."""
    order = Order.objects.select_related("user").get(pk=order.pk)
    if order.payment_intent_id or not order.is_open:
        return order
    intent = _intent_create(order, idempotency_key=f"order-{order.public_id}-intent")
    return _intent_record(order, intent, replacing=None)


def _intent_cancel(intent_id: str) -> gateway.Intent | None:
    """Cancel an intent at Stripe: its state afterwards (Stripe refuses to cancel one that was
    paid meanwhile), or None if Stripe no longer knows it."""
    try:
        return gateway.intent_cancel(intent_id)
    except gateway.NotFound:
        return None
    except gateway.GatewayUnavailable:
        raise
    except gateway.GatewayError:
        try:
            return gateway.intent_retrieve(intent_id)
        except gateway.NotFound:
            return None


def _intent_cancel_quietly(intent_id: str) -> None:
    try:
        _intent_cancel(intent_id)
    except gateway.GatewayError:
        logger.warning("intent %s left open at Stripe; it expires unpaid", intent_id)


def _order_intent_replace(*, order: Order) -> Order:
    """A fresh intent for an order whose last try failed: an intent that recorded a failed charge
    cannot always be confirmed again (localstripe), and a fresh one works the same on Stripe.
    The old intent is cancelled first; if it turns out to have succeeded, the order is fulfilled."""
    old_id = str(order.payment_intent_id)
    old = _intent_cancel(old_id)
    if old is not None and not (old.canceled or old.awaiting_payment_method):
        return order_intent_apply(order=order, intent=old)
    intent = _intent_create(order, idempotency_key=f"order-{order.public_id}-after-{old_id}")
    return _intent_record(order, intent, replacing=old_id)


# --- Paying and fulfilling --------------------------------------------------------------------


def order_card_prepare(*, order: Order, save_card: bool) -> Order:
    """Ready an open order's intent for the page to confirm with a card, once (Stripe.js's
    ``confirmCardPayment``, which asks for 3-D Secure if the bank wants it): the order gets its
    intent, a fresh one after a failed try, and ``save_card`` sets or unsets keeping the card for
    auto-renew when it pays (``setup_future_usage``). An order that is no longer open, or whose
    intent Stripe has paid, cancelled or forgotten meanwhile, comes back closed: the page goes to
    the order page instead. Stripe being unreachable raises ``GatewayUnavailable``."""
    made_now = not order.payment_intent_id  # (an auto-renew charge Stripe declined has none)
    order = order_intent_ensure(order=order)
    for _attempt in range(2):
        if order.is_open and order.status == Order.Status.FAILED and not made_now:
            order = _order_intent_replace(order=order)
        if not order.is_open:
            return order
        intent_id = str(order.payment_intent_id)
        try:
            intent = gateway.intent_card_prepare(intent_id=intent_id, save=save_card)
        except gateway.NotFound:
            return order_expire(order=order)
        except gateway.GatewayUnavailable:
            raise
        except gateway.GatewayError as refused:
            # Stripe refuses to change an intent paid or cancelled meanwhile: its state now.
            intent = gateway.intent_retrieve(intent_id)
            if intent.payable:
                raise refused from None  # refused for another reason: the page says it
        if intent.payable and not intent.failed_try:
            return order
        # Paid, cancelled, or a failed try the app has not heard of yet (recorded, then a fresh
        # intent on the next round).
        order, made_now = order_intent_apply(order=order, intent=intent), False
    return order


def order_fulfil(*, order: Order) -> Order:
    """Bring the order in line with what Stripe says of its intent now, and if it is paid, fulfil
    it exactly once. Called by the order page and by reconciliation; asks Stripe before taking
    any lock. An intent Stripe no longer knows closes the order (payment expired)."""
    order = Order.objects.get(pk=order.pk)
    if order.status in (Order.Status.FULFILLED, Order.Status.REFUNDED) or not order.payment_intent_id:
        return order
    try:
        intent = gateway.intent_retrieve(order.payment_intent_id)
    except gateway.NotFound:
        return order_expire(order=order)
    return order_intent_apply(order=order, intent=intent)


def order_expire(*, order: Order) -> Order:
    """Stripe answered 404 for the order's intent: an answer, not an outage. The open order is
    cancelled, so the line can be renewed at once."""
    with transaction.atomic():
        order = order_locked(order.pk)
        if order.is_open:
            logger.warning("order %s: Stripe no longer knows intent %s", order.public_id, order.payment_intent_id)
            _move(order, Order.Status.CANCELLED, failure_reason=PAYMENT_EXPIRED, failure_code="")
    return order


def order_intent_apply(
    *,
    order: Order,
    intent: gateway.Intent,
    paid_with: gateway.Card | None = None,
    then: Callable[[Order], None] | None = None,
) -> Order:
    """Move the order to what Stripe said of its intent (an answer to a call, or a verified
    webhook event): under the order's lock, a state only moves forward, and a paid order is
    fulfilled exactly once (its bucket, notice and email in this one transaction, and the card
    kept for auto-renew if the customer asked). What paid (``paid_with``, when the caller knows)
    is otherwise looked up first, outside the lock. ``then`` is called with the order at the end
    of that transaction, still under the lock (a webhook event's task marks the event processed
    there: one commit; raising there rolls the whole transaction back),
    unless the intent is one the order moved on from."""
    card = paid_with
    if (
        card is None
        and intent.succeeded
        and intent.payment_method_id
        and order.status not in (Order.Status.FULFILLED, Order.Status.REFUNDED)
        and (not order.card_last4 or intent.setup_future_usage == "off_session")
    ):
        card = _payment_method(intent.payment_method_id, order)
    with transaction.atomic():
        order = order_locked(order.pk)
        if intent.id != order.payment_intent_id:
            # An intent the order moved on from: it was cancelled at Stripe before being replaced.
            logger.warning("order %s: ignoring intent %s (%s)", order.public_id, intent.id, intent.status)
            return order
        if card is not None and order.is_open:
            _card_record(order, card)
        if intent.succeeded:
            if intent.amount_minor != order.amount_minor or intent.currency != order.currency:
                # Never expected: the amount is set by us. Keep the money, hold the order for staff.
                logger.error("order %s: Stripe charged %s %s", order.public_id, intent.amount_minor, intent.currency)
                _move(order, Order.Status.PAID, paid_at=timezone.now(), failure_reason="amount mismatch: check by hand")
            elif _fulfil_locked(order, intent):
                payment_profile_card_keep(order=order, intent=intent, card=card)
        elif intent.needs_action:
            _move(order, Order.Status.REQUIRES_ACTION, failure_reason="", failure_code="", action=_action(intent))
        elif intent.failed_try:
            _move(
                order,
                Order.Status.FAILED,
                failure_reason=intent.failure_message[:255],
                failure_code=intent.failure_code[:64],
                action={},
            )
        elif intent.canceled:
            _move(order, Order.Status.CANCELLED, action={})
        elif order.is_open:
            order.save()
        if then is not None:
            then(order)
    return order


def _action(intent: gateway.Intent) -> dict[str, object]:
    """What the customer must do next, kept on the order for its pages (no call to Stripe)."""
    step = intent.next_action
    if step is None:
        return {}
    return {"type": step.type, "url": step.url, "qr_data": step.qr_data, "expires_at": step.expires_at}


def _payment_method(payment_method_id: str, order: Order) -> gateway.Card | None:
    try:
        return gateway.card_details(payment_method_id)
    except gateway.GatewayError:
        logger.warning("order %s: payment method details unavailable", order.public_id)
        return None


def _card_record(order: Order, card: gateway.Card) -> None:
    """What paid, on the locked order (saved by the move that follows)."""
    order.payment_method_type = card.type or order.payment_method_type
    if card.last4:  # a wallet's payment method has no card: do not call it one
        order.card_brand, order.card_last4 = card.brand, card.last4


def _move(order: Order, status: str, **fields: object) -> bool:
    """Set ``status`` if the order may go there; the caller holds the row lock."""
    if order.status == status:
        changed = False
    elif order.can_move_to(status):
        order.status = status
        changed = True
    else:
        logger.info("order %s: not moving %s -> %s", order.public_id, order.status, status)
        return False
    for name, value in fields.items():
        setattr(order, name, value)
    order.save()
    return changed or bool(fields)


def _fulfil_locked(order: Order, intent: gateway.Intent) -> bool:
    """Fulfil the locked order, a bucket per item; False if it already was (or its items do not
    add up to what was charged: held as paid for staff)."""
    if order.status in (Order.Status.FULFILLED, Order.Status.REFUNDED):
        return False
    now = timezone.now()
    buckets = order_items_grant_locked(order=order, now=now)
    if not buckets:
        held = "items do not add up: check by hand"
        _move(order, Order.Status.PAID, paid_at=order.paid_at or now, failure_reason=held)
        return False
    order.payment_method_type = order.payment_method_type or intent.payment_method_type
    order.status = Order.Status.FULFILLED
    order.action = {}
    order.paid_at = order.paid_at or now
    order.fulfilled_at = now
    order.failure_reason = order.failure_code = ""
    order.save()
    line = Line.objects.get(pk=order.line_id)
    order.line = line  # the grant moved its expiry: pages after this show the new one
    notice_create(
        user=order.user,
        kind=Notice.Kind.PAYMENT_CONFIRMED,
        key=order_fulfilled_key(order_id=order.pk),
        line=line,
        link=reverse("billing:order", args=[order.public_id]),
        params={
            "order": order.public_id,
            "plan_code": order.plan.code,
            "plan_name_en": order.plan.name_en,
            "plan_name_zh": order.plan.name_zh,
            "amount_minor": order.amount_minor,
            "currency": order.currency,
            "expires_at": (line.expires_at or buckets[0].expires_at).isoformat(),
            "msisdn": str(line.msisdn.as_e164),
        },
    )
    return True


# --- Cancelling -------------------------------------------------------------------------------


def order_cancel(*, order: Order, reason: str = "") -> Order:
    """Cancel an open order and its intent (at Stripe first, then here). If Stripe says the
    payment went through after all, the order is fulfilled instead."""
    order = Order.objects.get(pk=order.pk)
    if not order.is_open:
        return order
    intent_id = order.payment_intent_id
    if intent_id:
        intent = _intent_cancel(intent_id)
        if intent is not None and not intent.canceled:
            return order_intent_apply(order=order, intent=intent)
    with transaction.atomic():
        order = order_locked(order.pk)
        if order.is_open and order.payment_intent_id == intent_id:
            _move(order, Order.Status.CANCELLED, failure_reason=reason[:255], failure_code="")
    return order
