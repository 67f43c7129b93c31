"""The work Celery beat runs on a clock. Each sweep reads only what is due, through indexed
columns, in batches of a fixed number of queries, so its cost follows what is due and not the
number of lines; and each is safe to run twice (a unique row records what was done)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notice
from accounts.notice_keys import renewal_reminder_key
from accounts.outbox import notices_email
from billing import gateway
from billing.models import AutoRenewal, Order, PaymentProfile, Refund, RenewalReminder, StripeEvent
from billing.next_charge import AUTO_RENEW_WINDOW, LAST_CHANCE, NOTICE_AHEAD, NOTICE_WINDOW
from billing.services import (
    auto_renew_charge,
    auto_renew_notice_send,
    auto_renew_order_pay,
    order_cancel,
    order_fulfil,
    refund_settle,
    refunds_record,
)
from billing.services.webhooks import PROCESS_GRACE
from boomcard.page_cache import customers_changed
from plans.models import Line

logger = logging.getLogger(__name__)

BATCH = 1000
# (days before expiry, the start of the window it covers): a line 5 days from expiry is in the
# 7-day window, one 2 days away in the 3-day window, one just expired in the 0-day window.
REMINDER_STAGES = ((7, 3), (3, 1), (1, 0), (0, -1))


def _due_for_reminder(days: int, until: int, now: datetime) -> Q:
    if days == 0:
        return Q(expires_at__gt=now - timedelta(days=1), expires_at__lte=now)
    return Q(expires_at__gt=now + timedelta(days=until), expires_at__lte=now + timedelta(days=days))


def renewal_reminders_send(*, now: datetime | None = None) -> int:
    """A notice and email 7, 3 and 1 days before a line's expiry and at expiry, once per line,
    expiry and stage. A line first seen inside a stage's window (5 days left: the 7-day stage)
    gets that stage once; the notice says the real time left (its expiry minus the time it was
    written, see accounts.notice_text), not the stage's number. Lines with auto-renew on and a
    saved card are left to auto-renew before expiry, unless the customer skipped this expiry's
    renewal; a renewal moves the expiry, so the old
    expiry's reminders stop (and unsent ones are dropped when their turn comes)."""
    now = now or timezone.now()
    sent = 0
    # A renewal the customer skipped (billing.services.auto_renew_skip) is reminded as usual.
    skipped = AutoRenewal.objects.filter(
        line=OuterRef("pk"), expires_at=OuterRef("expires_at"), skipped_at__isnull=False
    )
    will_auto_renew = (
        Q(auto_renew=True)
        & Exists(PaymentProfile.objects.filter(user=OuterRef("owner"), card_payment_method_id__gt=""))
        & ~Exists(skipped)
    )
    for days, until in REMINDER_STAGES:
        while True:
            # This stage, or a later one (fewer days), already went out for this expiry: an
            # earlier stage is never sent after a later one.
            reminded = RenewalReminder.objects.filter(
                line=OuterRef("pk"), expires_at=OuterRef("expires_at"), days__lte=days
            )
            due = Line.objects.filter(_due_for_reminder(days, until, now), owner__isnull=False).exclude(
                Exists(reminded)
            )
            if days > 0:
                due = due.exclude(will_auto_renew)
            lines = list(due.order_by("expires_at", "pk").only("pk", "owner_id", "expires_at", "msisdn")[:BATCH])
            if not lines:
                break
            sent += _remind(lines, days, now)
            if len(lines) < BATCH:
                break
    return sent


def _remind(lines: list[Line], days: int, now: datetime) -> int:
    # The query asked for lines with an owner and an expiry.
    due = [(line, line.owner_id, line.expires_at) for line in lines if line.owner_id and line.expires_at]
    with transaction.atomic():
        try:
            with transaction.atomic():
                RenewalReminder.objects.bulk_create(
                    RenewalReminder(line_id=line.pk, expires_at=expires_at, days=days) for line, _, expires_at in due
                )
        except IntegrityError:
            return 0  # another sweep got here first; the next run picks up anything left
        notices = Notice.objects.bulk_create(
            Notice(
                user_id=owner_id,
                line_ref=line.pk,
                line_number=str(line.msisdn),
                kind=Notice.Kind.RENEWAL_REMINDER,
                key=renewal_reminder_key(line_id=line.pk, expires_at=_iso(line), days=days),
                params={"days": days, "expires_at": _iso(line), "msisdn": str(line.msisdn)},
                # One tap to the pay page of an order for the same plan (auto-renew is card-only:
                # a customer paying by Alipay or WeChat Pay renews from here).
                link=reverse("billing:renew_now", args=[line.pk]),
                created_at=now,
            )
            for line, owner_id, _ in due
        )
        notices_email(notices=notices)
        customers_changed(owner_id for _, owner_id, _ in due)
    return len(lines)


def _iso(line: Line) -> str:
    return line.expires_at.isoformat() if line.expires_at else ""


def auto_renew_notices_send(*, now: datetime | None = None) -> int:
    """The notice before the charge, for lines with auto-renew on expiring within 72 hours whose
    renewal was neither announced, skipped nor charged yet (and, the service checks, with a saved
    card and a price to charge): indexed reads of at most ``BATCH`` lines, in expiry order, then
    each line's notice (billing.services.auto_renew_notice_send, once per expiry). A line that
    cannot be announced (no card, no price in the customer's currency) stays unannounced, and the
    next page starts after it, so such lines never hold the others back. How many went out."""
    now = now or timezone.now()
    done = AutoRenewal.objects.filter(line=OuterRef("pk"), expires_at=OuterRef("expires_at")).filter(
        Q(notified_at__isnull=False) | Q(skipped_at__isnull=False)
    )
    charged = Order.objects.filter(line=OuterRef("pk"), off_session=True, renews_expiry=OuterRef("expires_at"))
    # No test of the saved card here: with it, PostgreSQL joined the lines to the payment profiles
    # by owner and read every line (585 ms at a million, BENCHMARKS.md); without it, the expiry
    # index gives the 72 hours' lines. A line with auto-renew on and no card (rare: removing the
    # card turns auto-renew off) is left unannounced by the service, and paged past below.
    due = (
        Line.objects.filter(auto_renew=True, expires_at__gt=now, expires_at__lte=now + NOTICE_WINDOW)
        .exclude(Exists(done))
        .exclude(Exists(charged))
        .order_by("expires_at", "pk")
    )
    sent = 0
    after: Q = Q()
    while True:
        page = list(due.filter(after).values_list("expires_at", "pk")[:BATCH])
        sent += sum(auto_renew_notice_send(line_id=line_id, now=now) for _, line_id in page)
        if len(page) < BATCH:
            return sent
        last_expiry, last_pk = page[-1]
        after = Q(expires_at__gt=last_expiry) | Q(expires_at=last_expiry, pk__gt=last_pk)


def auto_renew_run(*, now: datetime | None = None) -> int:
    """The hourly auto-renew work: first the notices due (``auto_renew_notices_send``), then the
    charges due: renewals announced at least 24 hours ago (or, announced late, an hour before
    expiry; billing.next_charge), not skipped, for lines still at that expiry with auto-renew on
    and not charged for it yet (the order's unique (line, expiry) makes a second run do
    nothing). Read through the index of announced, unskipped renewals by expiry. How many lines
    were charged."""
    now = now or timezone.now()
    auto_renew_notices_send(now=now)
    charged = Order.objects.filter(line=OuterRef("line"), off_session=True, renews_expiry=OuterRef("expires_at"))
    due = (
        AutoRenewal.objects.filter(notified_at__isnull=False, skipped_at__isnull=True, expires_at__gt=now)
        .filter(
            Q(expires_at__lte=now + AUTO_RENEW_WINDOW, notified_at__lte=now - NOTICE_AHEAD)
            | Q(expires_at__lte=now + LAST_CHANCE)
        )
        .filter(line__auto_renew=True, line__expires_at=F("expires_at"))
        .exclude(Exists(charged))
        .order_by("expires_at")
        .values_list("line_id", flat=True)[:BATCH]
    )
    count = 0
    for line_id in list(due):
        try:
            if auto_renew_charge(line=Line(pk=line_id), now=now) is not None:
                count += 1
        except gateway.GatewayError:
            logger.warning("auto-renew of line %s could not reach Stripe; next run tries again", line_id)
    # Charges Stripe did not answer last time: asked again with the same key (never twice).
    unanswered = Order.objects.filter(
        off_session=True, status=Order.Status.PENDING, payment_intent_id__isnull=True, created_at__lte=now
    ).order_by("created_at")[:BATCH]
    for order in list(unanswered):
        try:
            auto_renew_order_pay(order=order)
        except gateway.GatewayError:
            logger.warning("auto-renew order %s: Stripe still not answering", order.public_id)
    return count


RECONCILE_AFTER = timedelta(minutes=15)
CANCEL_AFTER = timedelta(hours=24)


def payments_reconcile(*, now: datetime | None = None) -> dict[str, int]:
    """Ask Stripe about orders still open after 15 minutes (a webhook that never came), fulfil
    or fail them; cancel those open for more than a day, at Stripe too."""
    now = now or timezone.now()
    stale = Order.objects.filter(status__in=Order.OPEN, created_at__lte=now - RECONCILE_AFTER).order_by("created_at")
    result = {"checked": 0, "fulfilled": 0, "cancelled": 0}
    for order in list(stale[:BATCH]):
        try:
            if order.created_at <= now - CANCEL_AFTER:
                order = order_cancel(order=order, reason="Not paid within a day.")
                result["cancelled"] += order.status == Order.Status.CANCELLED
            elif order.payment_intent_id:
                order = order_fulfil(order=order)
            result["checked"] += 1
            result["fulfilled"] += order.status == Order.Status.FULFILLED
        except gateway.GatewayError as error:
            logger.warning("reconciling order %s: %s", order.public_id, error.code or "Stripe error")
    return result


REFUND_CHECK_AFTER = timedelta(minutes=1)
# How far back the sweep lists Stripe's refunds, for those made outside the app whose event was
# lost: longer than the gap between two sweeps, with room for a sweep or two that failed.
REFUNDS_LOOK_BACK = timedelta(hours=2)


def refunds_reconcile(*, now: datetime | None = None, look_back: timedelta = REFUNDS_LOOK_BACK) -> dict[str, int]:
    """Make Stripe's truth about refunds the app's, within minutes, with or without the events.

    Refunds the app asked for that Stripe has not confirmed (a call that timed out, a crash, a
    wallet refund still pending) are asked again with their own idempotency key: Stripe answers
    with the refund it made, or makes it now, never twice. Then Stripe's refunds of the last
    ``look_back`` are listed, and any the app does not know (made in Stripe's dashboard, event
    lost) is recorded on its order."""
    now = now or timezone.now()
    result = {"checked": 0, "succeeded": 0, "found": 0}
    open_refunds = Refund.objects.filter(status__in=Refund.OPEN, created_at__lte=now - REFUND_CHECK_AFTER)
    for refund in list(open_refunds.order_by("created_at")[:BATCH]):
        refund = refund_settle(refund=refund)
        result["checked"] += 1
        result["succeeded"] += refund.status == Refund.Status.SUCCEEDED
    try:
        recent = gateway.refunds_list(created_after=int((now - look_back).timestamp()))
    except gateway.GatewayError as error:
        logger.warning("listing Stripe's refunds: %s", error.code or "Stripe error")
        return result
    known = set(
        Refund.objects.filter(stripe_refund_id__in=[r.id for r in recent]).values_list("stripe_refund_id", flat=True)
    )
    unknown = [r for r in recent if r.id not in known and r.payment_intent_id]
    orders = Order.objects.in_bulk([r.payment_intent_id for r in unknown], field_name="payment_intent_id")
    for answer in unknown:
        order = orders.get(answer.payment_intent_id)
        if order is not None:
            refunds_record(order=order, answers=[answer])
            result["found"] += 1
    return result


# The longest wait between two tries of an event the sweep queues again.
EVENT_RETRY_CAP = timedelta(hours=1)


def stripe_events_due(*, now: datetime | None = None, limit: int = BATCH) -> list[int]:
    """Stripe events stored and still not processed when due (``retry_at``: ``PROCESS_GRACE``
    after they arrived, when the broker was down or a worker was lost), oldest first, to be
    queued again: one query on the partial index of unprocessed events, and one update each that
    counts the try and sets the next (2, 4, 8 ... minutes on, at most an hour). After
    ``StripeEvent.SWEEP_ATTEMPTS`` tries an event is left as it is, given up, for staff (the
    admin's list of Stripe events shows it; an error is logged). Processing an event twice
    changes nothing, so a try that overlaps a slow task does no harm."""
    now = now or timezone.now()
    unprocessed = StripeEvent.objects.filter(processed_at__isnull=True, retry_at__lte=now)
    due = list(
        unprocessed.filter(attempts__lt=StripeEvent.SWEEP_ATTEMPTS)
        .order_by("retry_at")
        .values_list("pk", "attempts", "event_id")[:limit]
    )
    queued = []
    for pk, attempts, event_id in due:
        tried = attempts + 1
        retry_at = now + min(PROCESS_GRACE * 2**tried, EVENT_RETRY_CAP)
        if StripeEvent.objects.filter(pk=pk, processed_at__isnull=True).update(attempts=tried, retry_at=retry_at):
            queued.append(pk)
            if tried == StripeEvent.SWEEP_ATTEMPTS:
                logger.error("Stripe event %s still not processed: last try queued, then given up", event_id)
            else:
                logger.warning("Stripe event %s not processed yet: queued again (try %s)", event_id, tried)
    return queued
