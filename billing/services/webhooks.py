"""Stripe's webhook events: stored by id when they arrive and answered at once, then processed
once by a task on the ``billing`` queue, from the verified event itself."""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

from django.db import connection
from django.db.models import F
from django.utils import timezone

from billing import gateway
from billing.models import Order, Refund, StripeEvent
from billing.services.disputes import DISPUTE_EVENTS, dispute_record
from billing.services.orders import order_intent_apply
from billing.services.refunds import refunds_record
from boomcard.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)

INTENT_EVENTS = {
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.requires_action",
}
REFUND_EVENTS = {"charge.refunded", "refund.created", "refund.updated", "charge.refund.updated"}
HANDLED_EVENTS = INTENT_EVENTS | REFUND_EVENTS | DISPUTE_EVENTS
# A stored event not processed this long after it arrived (the broker was down, the worker was
# lost) is queued again by the sweep (billing.sweeps.stripe_events_due).
PROCESS_GRACE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class EventReceived:
    """A verified event, stored: its row, or None when a copy of it was stored before."""

    pk: int | None

    @property
    def duplicate(self) -> bool:
        return self.pk is None


def stripe_event_receive(*, event: gateway.Event) -> EventReceived:
    """Store a verified event by id, not yet processed, and queue its processing
    (``stripe_event_process`` on the ``billing`` queue) once the caller's transaction commits.

    One statement: a copy of the event stored before (or being stored at this moment) makes it a
    duplicate, stored and queued nothing. Nothing here asks Stripe or locks an order, so Stripe
    gets its answer at once. If the broker cannot take the task, the event stays stored and
    unprocessed and the sweep queues it after ``PROCESS_GRACE``: a stored event is processed.
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO billing_stripeevent
                (event_id, type, payment_intent_id, payload, received_at, outcome, attempts, retry_at)
            VALUES (%s, %s, %s, %s, %s, '', 0, %s)
            ON CONFLICT (event_id) DO NOTHING
            RETURNING id
            """,
            [
                event.id,
                event.type,
                gateway.intent_id_of_event(event),
                json.dumps(event.object),
                now,
                now + PROCESS_GRACE,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return EventReceived(pk=None)
    from billing import tasks  # the tasks module imports the services

    enqueue_on_commit(tasks.stripe_event_process_task, row[0])
    return EventReceived(pk=row[0])


def stripe_event_process(*, event_pk: int) -> str:
    """Act on a stored event once, and mark it processed; its outcome, also kept on the row.

    The signature proved Stripe sent the event, so a ``payment_intent.*`` event is applied from
    the intent it carries, without asking Stripe, when that snapshot cannot be stale: a succeeded
    or cancelled intent never changes again (and the order's transitions keep a late one from
    moving a paid order back). What paid is taken from the intent too when it is a wallet or the
    customer's saved card. A snapshot in any other state, for an order still open, makes the app
    ask Stripe for the intent as it is now (a failure delivered after the retry that paid); if
    Stripe does not answer, the snapshot is applied as it stands. An intent event is marked
    processed in the transaction that applies it, under the order's lock: one commit.
    A dispute that names only its charge makes the app ask Stripe which intent the charge
    belongs to (if Stripe does not answer, ``GatewayUnavailable`` is raised, the event stays
    unprocessed and the task tries again later). A refund event that does not list its refunds
    makes the app ask Stripe for them; if Stripe does not answer, the refunds sweep finds them.
    Refund and dispute events are acted on before the mark, in transactions of their own.

    Events may come in any order and this may run any number of times for one event (a
    redelivered task, two workers, a worker killed mid-way, the sweep): applying is idempotent,
    a state only moves forward, and of two runs of one intent event the second rolls back
    whatever it did and answers ``"duplicate"``. An event processed already answers ``"done"``,
    an unknown row ``"missing"``. No lock is held while Stripe is asked.
    """
    row = (
        StripeEvent.objects.filter(pk=event_pk)
        .values_list("event_id", "type", "payload", "processed_at", "payment_intent_id")
        .first()
    )
    if row is None:
        return "missing"
    event_id, event_type, payload, processed_at, intent_id = row
    if processed_at is not None:
        return "done"
    event = gateway.Event(id=event_id, type=event_type, object=payload if isinstance(payload, dict) else {})
    found = _order_of(intent_id) if intent_id else _Found(None, None)
    if not intent_id and event.type in DISPUTE_EVENTS:
        intent_id = _intent_id_of_charge(event)
        found = _order_of(intent_id) if intent_id else found
    order = found.order
    if order is not None and event.type in INTENT_EVENTS:
        return _intent_event(event_pk, event, order, found.saved_card)  # marked where it is applied
    if order is None:
        outcome = "unknown intent" if event.type in HANDLED_EVENTS else "ignored"
    elif event.type in REFUND_EVENTS:
        outcome = _refund_event(event, order)
    elif event.type in DISPUTE_EVENTS:
        outcome = _dispute_event(event, order)
    else:
        outcome = "ignored"
    return outcome if _mark(event_pk, outcome, intent_id=intent_id) else "duplicate"


class _Found(NamedTuple):
    order: Order | None
    saved_card: gateway.Card | None  # the customer's saved card, if any


def _order_of(intent_id: str) -> _Found:
    """The order paid by ``intent_id``, in one query with the customer's saved card."""
    row = (
        Order.objects.filter(payment_intent_id=intent_id)
        .order_by()
        .annotate(
            saved_pm=F("user__payment_profile__card_payment_method_id"),
            saved_brand=F("user__payment_profile__card_brand"),
            saved_last4=F("user__payment_profile__card_last4"),
        )
        .first()
    )
    if row is None:
        return _Found(None, None)
    card = gateway.Card(payment_method_id=row.saved_pm, brand=row.saved_brand, last4=row.saved_last4)
    return _Found(row, card if row.saved_pm and row.saved_last4 else None)


def _mark(event_pk: int, outcome: str, *, intent_id: str | None = None) -> bool:
    """Mark the stored event processed with its outcome, in the caller's transaction if there is
    one; False if another run marked it first. One statement: a run marking it at this moment in
    another transaction is waited for, then this one finds it processed."""
    fields: dict[str, object] = {"processed_at": timezone.now(), "outcome": outcome[:255]}
    if intent_id:
        fields["payment_intent_id"] = intent_id  # a dispute's, found from its charge
    return StripeEvent.objects.filter(pk=event_pk, processed_at__isnull=True).update(**fields) == 1


class _ProcessedMeanwhile(Exception):
    """Another run of the same event applied it first: this run's transaction is rolled back."""


def _intent_event(event_pk: int, event: gateway.Event, order: Order, saved_card: gateway.Card | None) -> str:
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
        return outcome if _mark(event_pk, outcome) else "duplicate"
    if not (intent.succeeded or intent.canceled):
        # Forgotten at Stripe, or Stripe not answering: the event is all there is, applied as it
        # stands (a paid order never moves back; a later event or reconciliation brings the rest).
        with contextlib.suppress(gateway.NotFound, gateway.GatewayUnavailable):
            intent = gateway.intent_retrieve(intent.id)
    marked = []

    def mark(locked: Order) -> None:
        # Under the order's lock, in the transaction that applied the intent: if another run of
        # this event marked it meanwhile, it applied it first, and this run undoes what it did.
        if not _mark(event_pk, f"order {locked.public_id}: {locked.status}"):
            raise _ProcessedMeanwhile
        marked.append(True)

    try:
        order = order_intent_apply(
            order=order, intent=intent, paid_with=_card_known(order, intent, saved_card), then=mark
        )
    except _ProcessedMeanwhile:
        return "duplicate"
    outcome = f"order {order.public_id}: {order.status}"
    if not marked:  # an intent the order moved on from: nothing applied, marked on its own
        return outcome if _mark(event_pk, outcome) else "duplicate"
    return outcome


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
