"""Figure 4: signed ``payment_intent.succeeded`` events per second through ``/stripe/webhook/``,
each about an order whose intent really succeeded on localstripe, against ``/ping``: answered
(stored and queued: what Stripe waits for), and fulfilled end to end by a Celery worker on the
``billing`` queue running on the same machine (from the first event sent until every order is
fulfilled)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from bench import seed, stack, stripe_setup
from bench.load import PostedEach, WrkResult, wrk, wrk_post_each
from billing.models import Order, OrderItem, StripeEvent
from plans.models import Bucket, Line, Plan

RUN = secrets.token_hex(4)


@dataclass
class WebhooksResult:
    events: int  # in each of the two rounds
    connections: int  # wrk's, each kept alive
    seconds: float  # round 1, no worker: from the first event sent to the last answer
    busy_seconds: float = 0.0  # round 2, the worker at work on the same cores: the same
    fulfilled_seconds: float = 0.0  # round 2: from the first event sent until every order was fulfilled
    ping: list[WrkResult] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def busy_rate(self) -> float:
        return self.events / self.busy_seconds

    @property
    def busy_ratio(self) -> float:
        return self.busy_rate / self.ping_rate

    @property
    def fulfilled_rate(self) -> float:
        return self.events / self.fulfilled_seconds

    @property
    def fulfilled_ratio(self) -> float:
        return self.fulfilled_rate / self.ping_rate

    @property
    def ping_rate(self) -> float:
        return statistics.median(run.requests_per_second for run in self.ping)

    @property
    def ratio(self) -> float:
        return self.rate / self.ping_rate


def _event(n: int, intent: dict[str, Any]) -> bytes:
    event = {
        "id": f"evt_bench_{RUN}_{n:06d}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": "payment_intent.succeeded",
        "data": {"object": intent},
    }
    return json.dumps(event).encode()


def _signed(body: bytes) -> dict[str, str]:
    """The ``Stripe-Signature`` Stripe sends: HMAC-SHA256 of ``"<t>.<body>"``, signed now."""
    timestamp = int(time.time())
    digest = hmac.new(stack.WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "Stripe-Signature": f"t={timestamp},v1={digest}"}


def orders_paid_at_stripe(plans: dict[str, Plan], *, count: int, first: int = 1) -> tuple[list[int], list[bytes]]:
    """``count`` lines, each with a pending renewal whose intent succeeded at Stripe (the customer
    paid and closed the tab): the orders' ids, and the events Stripe would send about them.
    ``first``: the number of the first line and event (1, then count + 1 for a second set)."""
    owners = seed.users_insert(first=800_000 + first, count=max(count // 20, 1))
    profiles = stripe_setup.profiles_with_cards(owners)
    seed.lines_insert(
        numbers=seed.WEBHOOK_LINES,
        first=first,
        count=count,
        owner_ids=owners,
        plan=plans["basic-10"],
        expires_at_sql="now + interval '10 days'",
    )
    line_ids = seed.lines_of(seed.WEBHOOK_LINES, first, count)
    owner_of = dict(Line.objects.filter(pk__in=line_ids).values_list("pk", "owner_id"))
    price = plans["basic-10"].prices.get(currency="CNY").amount_minor
    orders = Order.objects.bulk_create(
        Order(
            user_id=owner_of[line_id],
            line_id=line_id,
            plan=plans["basic-10"],
            kind=Order.Kind.RENEWAL,
            amount_minor=price,
            currency="CNY",
        )
        for line_id in line_ids
    )
    OrderItem.objects.bulk_create(
        OrderItem(order=order, position=0, plan=order.plan, amount_minor=order.amount_minor) for order in orders
    )
    intents = stripe_setup.intents_succeeded(
        [(order.public_id, order.amount_minor, order.currency, profiles[order.user_id]) for order in orders]
    )
    for order, intent in zip(orders, intents, strict=True):
        order.payment_intent_id = intent["id"]
    Order.objects.bulk_update(orders, ["payment_intent_id"])
    return [order.pk for order in orders], [_event(first + n, intent) for n, intent in enumerate(intents)]


def measure(
    base_url: str, plans: dict[str, Plan], *, events: int, connections: int, ping_seconds: int
) -> WebhooksResult:
    """Two rounds of ``events`` events, each about an order of its own. Round 1: the billing
    worker started first, on the same two cores as the site, PostgreSQL, Redis and the client:
    the answers timed, and the time until every order of the round is fulfilled (end to end).
    Round 2, the target figure: what the site answers with no worker taking events meanwhile (in
    production the workers have hosts of their own); its events wait on the queue, and a worker
    started afterwards processes them before everything is checked."""
    busy_ids, busy_bodies = orders_paid_at_stripe(plans, count=events)
    quiet_ids, quiet_bodies = orders_paid_at_stripe(plans, count=events, first=events + 1)
    seed.analyze()
    result = WebhooksResult(events=events, connections=connections, seconds=0.0)
    result.ping.append(wrk(f"{base_url}/ping", seconds=ping_seconds, connections=stack.LOAD_CONNECTIONS))
    connection.close()  # the site's and the worker's processes get the database to themselves meanwhile
    with stack.billing_workers(dict(os.environ)):
        busy = _post_each(base_url, busy_bodies, connections=connections)
        start = time.perf_counter() - busy.seconds
        result.busy_seconds = busy.seconds
        result.fulfilled_seconds = _until_fulfilled(busy_ids) - start
    quiet = _post_each(base_url, quiet_bodies, connections=connections)
    result.seconds = quiet.seconds
    result.ping.append(wrk(f"{base_url}/ping", seconds=ping_seconds, connections=stack.LOAD_CONNECTIONS))
    with stack.billing_workers(dict(os.environ)):
        _until_processed(2 * events)
    _check(busy_ids + quiet_ids, events=2 * events)
    return result


def _post_each(base_url: str, bodies: list[bytes], *, connections: int) -> PostedEach:
    """Each event POSTed once by wrk, signed just before (Stripe allows five minutes), every
    answer a 200 saying received (none a duplicate)."""
    posted = wrk_post_each(
        base_url,
        "/stripe/webhook/",
        [(body, _signed(body)) for body in bodies],
        expected=b'{"received": true}',
        connections=connections,
    )
    if posted.answered != len(bodies) or posted.unexpected:
        raise RuntimeError(
            f"{len(bodies)} events sent, {posted.answered} answered, {posted.unexpected} not as expected;"
            f" the first: {posted.first_unexpected}"
        )
    return posted


def _until_fulfilled(order_ids: list[int], timeout: float = 900) -> float:
    """Poll (one count, 20 times a second) until every order of ``order_ids`` is fulfilled; the
    time it was seen (perf_counter). An event is marked processed in the transaction that
    fulfils its order."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM billing_order WHERE id = ANY(%s) AND status = %s",
                [order_ids, Order.Status.FULFILLED],
            )
            row = cursor.fetchone()
        assert row is not None
        if row[0] >= len(order_ids):
            return time.perf_counter()
        time.sleep(0.05)
    raise RuntimeError(f"the orders were not all fulfilled within {timeout:.0f} s; see var/bench/celery-billing.log")


def _until_processed(events: int, timeout: float = 900) -> float:
    """Poll (one count, the unprocessed ones on their partial index, 20 times a second) until the
    ``events`` events are stored and none is left unprocessed; the time it was seen (perf_counter).
    An event is marked processed in the transaction that fulfils its order."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT count(*) FROM billing_stripeevent),"
                " (SELECT count(*) FROM billing_stripeevent WHERE processed_at IS NULL)"
            )
            row = cursor.fetchone()
        assert row is not None
        if row[0] >= events and row[1] == 0:
            return time.perf_counter()
        time.sleep(0.05)
    raise RuntimeError(f"the events were not all processed within {timeout:.0f} s; see var/bench/celery-billing.log")


def _check(order_ids: list[int], *, events: int) -> None:
    """Every event processed once with its order fulfilled, and every order fulfilled with one
    bucket (the answers were checked as they came: ``_post_each``)."""
    outcomes = list(StripeEvent.objects.values_list("outcome", flat=True))
    not_fulfilled = [outcome for outcome in outcomes if not outcome.endswith(": fulfilled")]
    fulfilled = Order.objects.filter(pk__in=order_ids, status=Order.Status.FULFILLED).count()
    buckets = Bucket.objects.filter(order_item__order_id__in=order_ids).count()
    if len(outcomes) != events or not_fulfilled or fulfilled < events or buckets != events:
        raise RuntimeError(
            f"{events} events sent: {len(outcomes)} stored, {fulfilled} orders fulfilled, {buckets} buckets;"
            f" outcomes not fulfilled: {not_fulfilled[:3]}"
        )
