"""Stripe's webhook events: acted on from the verified event itself, then stored by id."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from billing import gateway
from billing.models import Order, Refund, StripeEvent
from billing.services.disputes import DISPUTE_EVENTS, dispute_record
from billing.services.orders import order_intent_apply
from billing.services.refunds import refunds_record

logger = logging.getLogger(__name__)

INTENT_EVENTS = {
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.requires_action",
}
REFUND_EVENTS = {"charge.refunded", "refund.created", "refund.updated", "charge.refund.updated"}
HANDLED_EVENTS = INTENT_EVENTS | REFUND_EVENTS | DISPUTE_EVENTS


def stripe_event_handle(*, event: gateway.Event) -> str:
    """Act on a verified event, then store it by id; a repeat of a stored event is a no-op.

    The signature proves Stripe sent the event, so an intent event is applied from the intent it
    carries, without asking Stripe: a webhook neither waits on Stripe nor fails when Stripe is
    slow. A dispute that names only its charge makes the app ask Stripe which intent the charge
    belongs to (if Stripe does not answer, nothing is stored and Stripe redelivers).
    Events may come in any order and any number of times: applying is idempotent and a
    state only moves forward (a late failure never undoes a payment). A refund event that does not
    list its refunds makes the app ask Stripe for them; if Stripe does not answer, the refunds
    sweep finds them. Acting happens before storing, in transactions of its own, so two copies
    of an event arriving together do no harm; an error while acting stores nothing, and
    Stripe's redelivery acts again.
    """
    if StripeEvent.objects.filter(event_id=event.id).exists():
        return "duplicate"
    intent_id = gateway.intent_id_of_event(event)
    if not intent_id and event.type in DISPUTE_EVENTS:
        intent_id = _intent_id_of_charge(event)
    order = Order.objects.filter(payment_intent_id=intent_id).first() if intent_id else None
    if order is None:
        outcome = "unknown intent" if event.type in HANDLED_EVENTS else "ignored"
    elif event.type in INTENT_EVENTS:
        outcome = _intent_event(event, order)
    elif event.type in REFUND_EVENTS:
        outcome = _refund_event(event, order)
    elif event.type in DISPUTE_EVENTS:
        outcome = _dispute_event(event, order)
    else:
        outcome = "ignored"
    try:
        with transaction.atomic():
            StripeEvent.objects.create(
                event_id=event.id,
                type=event.type,
                payment_intent_id=intent_id,
                payload=event.object,
                processed_at=timezone.now(),
                outcome=outcome[:255],
            )
    except IntegrityError:
        return "duplicate"
    return outcome


def _intent_event(event: gateway.Event, order: Order) -> str:
    intent = gateway.intent_of_event(event)
    if intent is None:
        return f"order {order.public_id}: not an intent"
    order = order_intent_apply(order=order, intent=intent)
    return f"order {order.public_id}: {order.status}"


def _refund_event(event: gateway.Event, order: Order) -> str:
    refunds = gateway.refunds_of_event(event)
    if refunds is None:
        try:
            refunds = gateway.refunds_list(intent_id=str(order.payment_intent_id))
        except gateway.GatewayError as error:
            logger.warning("event %s for order %s: refunds not listed (%s)", event.id, order.public_id, error.code)
            return f"order {order.public_id}: refunds left to the sweep"
    order = refunds_record(order=order, answers=refunds)
    if order.status != Order.Status.REFUNDED and order.refunds.filter(status=Refund.Status.SUCCEEDED).exists():
        return f"order {order.public_id}: partial refund, order unchanged"
    return f"order {order.public_id}: {order.status}"


def _intent_id_of_charge(event: gateway.Event) -> str:
    dispute = gateway.dispute_of_event(event)
    if dispute is None or not dispute.charge_id:
        return ""
    try:
        return gateway.charge_intent_id(dispute.charge_id)
    except gateway.GatewayUnavailable:
        raise  # nothing stored: Stripe redelivers the event
    except gateway.GatewayError as error:
        logger.warning("event %s: charge %s not found (%s)", event.id, dispute.charge_id, error.code)
        return ""


def _dispute_event(event: gateway.Event, order: Order) -> str:
    answer = gateway.dispute_of_event(event)
    if answer is None:
        return f"order {order.public_id}: not a dispute"
    dispute = dispute_record(order=order, answer=answer)
    return f"order {order.public_id}: dispute {dispute.stripe_dispute_id} {dispute.status}"
