"""Stripe's webhook events: acted on from the verified event itself, then stored by id."""

from __future__ import annotations

import contextlib
import json
import logging
from typing import NamedTuple

from django.db import connection
from django.db.models import Exists, F
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
    """Act on a verified event and store it by id; a repeat of a stored event is a no-op.

    The signature proves Stripe sent the event, so a ``payment_intent.*`` event is applied from
    the intent it carries, without asking Stripe, when that snapshot cannot be stale: a succeeded
    or cancelled intent never changes again (and the order's transitions keep a late one from
    moving a paid order back). What paid is taken from the intent too when it is a wallet or the
    customer's saved card. A snapshot in any other state, for an order still open, makes the app
    ask Stripe for the intent as it is now (a failure delivered after the retry that paid). An
    intent event is stored in the transaction that applies it, under the order's lock: one commit.
    A dispute that names only its charge makes the app ask Stripe which intent the charge
    belongs to (if Stripe does not answer, nothing is stored and Stripe redelivers).
    Events may come in any order and any number of times: applying is idempotent and a
    state only moves forward (a late failure never undoes a payment). A refund event that does not
    list its refunds makes the app ask Stripe for them; if Stripe does not answer, the refunds
    sweep finds them. Refund and dispute events are acted on before storing, in transactions of
    their own. Two copies of an event arriving together do no harm (the second answers
    "duplicate"); an error while acting stores nothing, and Stripe's redelivery acts again. No
    lock is held while Stripe is asked.
    """
    intent_id = gateway.intent_id_of_event(event)
    found = _order_of(intent_id, event) if intent_id else _Found(None, False, None)
    if found.stored or (found.order is None and StripeEvent.objects.filter(event_id=event.id).exists()):
        return "duplicate"
    if not intent_id and event.type in DISPUTE_EVENTS:
        intent_id = _intent_id_of_charge(event)
        found = _order_of(intent_id, event) if intent_id else found
    order = found.order
    if order is not None and event.type in INTENT_EVENTS:
        return _intent_event(event, order, found.saved_card)  # stored in the transaction that applies it
    if order is None:
        outcome = "unknown intent" if event.type in HANDLED_EVENTS else "ignored"
    elif event.type in REFUND_EVENTS:
        outcome = _refund_event(event, order)
    elif event.type in DISPUTE_EVENTS:
        outcome = _dispute_event(event, order)
    else:
        outcome = "ignored"
    return outcome if _store(event, intent_id, outcome) else "duplicate"


class _Found(NamedTuple):
    order: Order | None
    stored: bool  # the event is stored already
    saved_card: gateway.Card | None  # the customer's saved card, if any


def _order_of(intent_id: str, event: gateway.Event) -> _Found:
    """The order paid by ``intent_id``, in one query with what the event needs besides: whether
    the event is stored already, and the customer's saved card."""
    row = (
        Order.objects.filter(payment_intent_id=intent_id)
        .order_by()
        .annotate(
            event_stored=Exists(StripeEvent.objects.filter(event_id=event.id)),
            saved_pm=F("user__payment_profile__card_payment_method_id"),
            saved_brand=F("user__payment_profile__card_brand"),
            saved_last4=F("user__payment_profile__card_last4"),
        )
        .first()
    )
    if row is None:
        return _Found(None, False, None)
    card = gateway.Card(payment_method_id=row.saved_pm, brand=row.saved_brand, last4=row.saved_last4)
    return _Found(row, bool(row.event_stored), card if row.saved_pm and row.saved_last4 else None)


def _store(event: gateway.Event, intent_id: str, outcome: str) -> bool:
    """Store the event by id, in the caller's transaction if there is one; False if a copy of it
    was stored first. One statement: a copy being stored at this moment by another transaction
    is waited for, then left as it is."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO billing_stripeevent
                (event_id, type, payment_intent_id, payload, received_at, processed_at, outcome)
            VALUES (%s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (event_id) DO NOTHING
            RETURNING id
            """,
            [event.id, event.type, intent_id, json.dumps(event.object), now, now, outcome[:255]],
        )
        return cursor.fetchone() is not None


def _intent_event(event: gateway.Event, order: Order, saved_card: gateway.Card | None) -> str:
    """Apply the intent the event carries. A succeeded or cancelled intent never changes again,
    so that snapshot is applied as it is, whenever it arrives (the order's transitions keep a
    late one from moving a paid order back). Any other state may be stale (a failure delivered
    after the retry that paid): for an order still open, Stripe is asked for the intent now,
    outside any lock; if Stripe does not answer, the snapshot is applied as it stands."""
    intent = gateway.intent_of_event(event)
    outcome = f"order {order.public_id}: not an intent" if intent is None else ""
    if intent is not None and not (intent.succeeded or intent.canceled) and not order.is_open:
        outcome = f"order {order.public_id}: {order.status}"  # nothing open moves it (TRANSITIONS)
    if intent is None or outcome:
        return outcome if _store(event, gateway.intent_id_of_event(event), outcome) else "duplicate"
    if not (intent.succeeded or intent.canceled):
        # Forgotten at Stripe, or Stripe not answering: the event is all there is, applied as it
        # stands (a paid order never moves back; a later event or reconciliation brings the rest).
        with contextlib.suppress(gateway.NotFound, gateway.GatewayUnavailable):
            intent = gateway.intent_retrieve(intent.id)
    intent_id, stored = intent.id, []

    def store(locked: Order) -> None:
        # Under the order's lock: a copy of this event stored meanwhile was applied before this
        # one (the lock is taken first), so this one changed nothing and answers "duplicate".
        stored.append(_store(event, intent_id, f"order {locked.public_id}: {locked.status}"))

    order = order_intent_apply(order=order, intent=intent, paid_with=_card_known(order, intent, saved_card), then=store)
    outcome = f"order {order.public_id}: {order.status}"
    if not stored:  # an intent the order moved on from: nothing applied, stored on its own
        stored.append(_store(event, intent_id, outcome))
    return outcome if stored[0] else "duplicate"


def _card_known(order: Order, intent: gateway.Intent, saved: gateway.Card | None) -> gateway.Card | None:
    """What paid, when it is known here without asking Stripe: the customer's saved card (its id
    is the intent's payment method), or a wallet (the intent offered that one method, and a wallet
    has no card to show). None: the fulfilment asks Stripe, outside the lock."""
    if (
        not intent.succeeded
        or not intent.payment_method_id
        or order.status in (Order.Status.FULFILLED, Order.Status.REFUNDED)
    ):
        return None
    if saved is not None and saved.payment_method_id == intent.payment_method_id:
        return saved
    if intent.payment_method_type in (gateway.ALIPAY, gateway.WECHAT_PAY):
        return gateway.Card(
            payment_method_id=intent.payment_method_id, brand="", last4="", type=intent.payment_method_type
        )
    return None


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
