"""The bank test's books: its invariants checked against Stripe's own records, the outbox and the mail."""

from __future__ import annotations

import email
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import kombu.exceptions
import redis

from accounts.models import EmailDelivery, Notice
from accounts.tasks import email_deliver_task
from billing.models import Order, Refund
from plans.models import Bucket, Line
from tests.reliability.bank import CUSTOMERS, ROUNDS
from tests.reliability.bank.record import Record
from tests.reliability.conftest import BROKER_URL, handed_out_since, stripe_api, stripe_list


def _by_currency(items: Iterator[tuple[str, int]]) -> dict[str, int]:
    total: dict[str, int] = defaultdict(int)
    for currency, amount in items:
        total[currency.upper()] += amount
    return dict(total)


def _emails(mail_dir: Path) -> list[tuple[tuple[str, str, str], str]]:
    """Each email written: (to, subject, text) and its Message-ID."""
    found = []
    for path in sorted(mail_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes())
        texts = []
        for part in message.walk():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(payload.decode(part.get_content_charset() or "utf-8", errors="replace"))
        found.append(((str(message["To"]), str(message["Subject"]), "\n".join(texts)), str(message["Message-ID"])))
    return found


def check_books(localstripe: str, mail_dir: Path, kills: int, first_bucket: int, record: Record) -> dict[str, Any]:
    problems = record.problems
    api = stripe_api(localstripe)  # Stripe's own books, not through the proxy
    charges = [c for c in stripe_list(api, localstripe, "charges") if c["status"] == "succeeded"]
    refunds = stripe_list(api, localstripe, "refunds")
    intents = stripe_list(api, localstripe, "payment_intents")
    captured = _by_currency((c["currency"], int(c["amount"])) for c in charges)
    refunded = _by_currency((r["currency"], int(r["amount"])) for r in refunds)
    net = {cur: captured.get(cur, 0) - refunded.get(cur, 0) for cur in captured.keys() | refunded.keys()}
    orders = list(Order.objects.all())
    fulfilled = [o for o in orders if o.status == Order.Status.FULFILLED]
    live = _by_currency((o.currency, o.amount_minor) for o in fulfilled)
    if {k: v for k, v in net.items() if v} != {k: v for k, v in live.items() if v}:
        problems.append(f"money: captured {captured} - refunded {refunded} = {net}, but orders fulfilled are {live}")

    by_intent = {o.payment_intent_id: o for o in orders if o.payment_intent_id}
    done = (Order.Status.FULFILLED, Order.Status.REFUNDED)
    for intent in intents:
        if intent["status"] != "succeeded":
            continue
        order = by_intent.get(intent["id"])
        if order is None:
            problems.append(f"intent {intent['id']} ({intent['metadata']}) succeeded at Stripe for no order")
        elif order.status not in done:
            problems.append(f"order {order.public_id} paid at Stripe ({intent['id']}) but {order.status}")
    for order in orders:
        if order.status == Order.Status.PAID:
            problems.append(f"order {order.public_id} left paid, not fulfilled")

    charge_intent = {c["id"]: c.get("payment_intent") for c in stripe_list(api, localstripe, "charges")}
    rows = {r.stripe_refund_id: r for r in Refund.objects.select_related("order") if r.stripe_refund_id}
    for still in Refund.objects.filter(status__in=Refund.OPEN).select_related("order"):
        problems.append(f"refund {still.pk} of order {still.order.public_id} still {still.status} after reconciling")
    refunds_per_order: Counter[str] = Counter()
    for refund in refunds:
        intent_id = refund.get("payment_intent") or charge_intent.get(str(refund.get("charge")))
        order = by_intent.get(str(intent_id))
        refunds_per_order[order.public_id if order else str(intent_id)] += 1
        known = rows.get(refund["id"])
        if order is None:
            problems.append(f"refund {refund['id']} at Stripe is for no order (intent {intent_id})")
        elif order.status != Order.Status.REFUNDED:
            problems.append(f"refund {refund['id']} at Stripe, but order {order.public_id} is {order.status}")
        if known is None or known.status != Refund.Status.SUCCEEDED:
            state = known.status if known else "unknown"
            problems.append(f"refund {refund['id']} at Stripe is not a succeeded Refund here ({state})")
    problems.extend(f"order {pid} refunded {n} times at Stripe" for pid, n in refunds_per_order.items() if n > 1)
    stripe_refund_ids = {r["id"] for r in refunds}
    for stripe_id, row in rows.items():
        if row.status == Refund.Status.SUCCEEDED and stripe_id not in stripe_refund_ids:
            problems.append(f"Refund {row.pk} ({stripe_id}) succeeded here but Stripe has no such refund")
    for order in orders:
        is_refunded = order.status == Order.Status.REFUNDED
        if is_refunded and not Refund.objects.filter(order=order, status=Refund.Status.SUCCEEDED).exists():
            problems.append(f"order {order.public_id} refunded with no succeeded Refund")

    paid_for = Bucket.objects.filter(order_item__isnull=False)
    buckets = {b.order_item.order_id: b for b in paid_for.select_related("order_item")}
    per_order = Counter(paid_for.values_list("order_item__order_id", flat=True))
    notices = Counter(Notice.objects.filter(key__startswith="order-fulfilled:").values_list("key", flat=True))
    for order in orders:
        if order.status in done:
            if per_order.get(order.pk) != 1:
                problems.append(f"order {order.public_id} ({order.status}) has {per_order.get(order.pk, 0)} buckets")
            if notices[f"order-fulfilled:{order.pk}"] != 1:
                problems.append(f"order {order.public_id} has {notices[f'order-fulfilled:{order.pk}']} confirmations")
        elif order.pk in buckets:
            problems.append(f"order {order.public_id} is {order.status} but has a bucket")
        if order.status == Order.Status.REFUNDED and order.pk in buckets:
            bucket = buckets[order.pk]
            if bucket.data_total != bucket.data_used:
                problems.append(f"refunded order {order.public_id}'s bucket still holds data")
    orphans = Bucket.objects.filter(pk__gt=first_bucket, order_item__isnull=True).count()
    if orphans:
        problems.append(f"{orphans} buckets made during the run without an order")

    deliveries = Counter(EmailDelivery.objects.values_list("status", flat=True))
    if set(deliveries) - {EmailDelivery.Status.SENT}:
        problems.append(f"emails not all sent: {dict(deliveries)}")
    written = _emails(mail_dir)
    copies: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for key, message_id in written:
        copies[key].append(message_id)
    twice = {key: ids for key, ids in copies.items() if len(ids) > 1}
    for key, ids in twice.items():
        if len(set(ids)) > 1:
            problems.append(f"email {key[1]!r} to {key[0]} sent {len(ids)} times with different Message-IDs")
    if sum(len(ids) - 1 for ids in twice.values()) > kills:
        problems.append(f"{len(twice)} emails sent more than once, with {kills} worker(s) killed")
    if len(copies) != deliveries[EmailDelivery.Status.SENT]:
        problems.append(f"{len(copies)} distinct emails written, {deliveries[EmailDelivery.Status.SENT]} recorded sent")

    statuses = Counter(o.status for o in orders)
    return {
        "customers": CUSTOMERS,
        "lines": Line.objects.filter(owner__isnull=False).count(),
        "rounds": ROUNDS,
        "orders": len(orders),
        "orders_by_status": dict(sorted(statuses.items())),
        "payments_at_stripe": len(charges),
        "refunds_at_stripe": len(refunds),
        "captured": captured,
        "refunded": refunded,
        "emails_sent": len(written),
        "emails_duplicated": sum(len(ids) - 1 for ids in twice.values()),
    }


def queued(delivery_ids: list[int]) -> bool:
    """Queue a task for each email, all or (the broker down for a moment) none yet."""
    try:
        with email_deliver_task.app.connection_for_write() as broker, broker.Producer() as producer:
            for delivery_id in delivery_ids:
                email_deliver_task.apply_async((delivery_id,), producer=producer, retry=False)
    except (OSError, redis.RedisError, kombu.exceptions.OperationalError):
        return False
    return True


def broker_idle_but_for(killed_at: float) -> bool:
    """Nothing queued, and nothing handed out except to the worker killed at ``killed_at``."""
    try:
        queued = redis.Redis.from_url(BROKER_URL)
        waiting = sum(queued.llen(queue) for queue in ("email", "billing", "usage", "celery"))
        return waiting == 0 and all(since <= killed_at for since in handed_out_since())
    except redis.RedisError:
        return False


class ServerErrors(logging.Handler):
    """The exceptions behind the site's 500s, as Django logs them (``django.request``)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.causes: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        cause = f"{type(error).__name__}: {error!s}" if error else record.getMessage()
        # One line each, order ids masked, so that the same cause counts as one.
        self.causes.append(re.sub(r"BM[0-9A-Z]{12}", "<order>", cause.splitlines()[0][:120]) if cause else "?")

    @contextmanager
    def installed(self) -> Iterator[ServerErrors]:
        logger = logging.getLogger("django.request")
        logger.addHandler(self)
        try:
            yield self
        finally:
            logger.removeHandler(self)
