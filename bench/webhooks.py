"""Figure 4: signed ``payment_intent.succeeded`` events per second through ``/stripe/webhook/``,
each fulfilling an order whose intent really succeeded on localstripe, against ``/ping``."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from bench import seed, stack, stripe_setup
from bench.load import Request, WrkResult, send_all, wrk
from billing.models import Order, OrderItem
from plans.models import Bucket, Line, Plan

RUN = secrets.token_hex(4)


@dataclass
class WebhooksResult:
    events: int
    client_threads: int
    seconds: float
    ping: list[WrkResult] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.events / self.seconds

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


def orders_paid_at_stripe(plans: dict[str, Plan], *, count: int) -> tuple[list[int], list[bytes]]:
    """``count`` lines, each with a pending renewal whose intent succeeded at Stripe (the customer
    paid and closed the tab): the orders' ids, and the events Stripe would send about them."""
    owners = seed.users_insert(first=800_000, count=max(count // 20, 1))
    profiles = stripe_setup.profiles_with_cards(owners)
    seed.lines_insert(
        numbers=seed.WEBHOOK_LINES,
        first=1,
        count=count,
        owner_ids=owners,
        plan=plans["basic-10"],
        expires_at_sql="now + interval '10 days'",
    )
    line_ids = seed.lines_of(seed.WEBHOOK_LINES, 1, count)
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
    return [order.pk for order in orders], [_event(n, intent) for n, intent in enumerate(intents)]


def measure(base_url: str, plans: dict[str, Plan], *, events: int, threads: int, ping_seconds: int) -> WebhooksResult:
    order_ids, bodies = orders_paid_at_stripe(plans, count=events)
    seed.analyze()
    result = WebhooksResult(events=events, client_threads=threads, seconds=0.0)
    result.ping.append(wrk(f"{base_url}/ping", seconds=ping_seconds, connections=8))
    sent = send_all(base_url, [Request("/stripe/webhook/", body, _signed) for body in bodies], threads=threads)
    result.seconds = sent.seconds
    result.ping.append(wrk(f"{base_url}/ping", seconds=ping_seconds, connections=8))
    for status, body in sent.answers:
        outcome = json.loads(body).get("outcome", "") if status == 200 else ""
        if not outcome.endswith(": fulfilled"):
            raise RuntimeError(f"webhook answered {status}: {body[:300]!r}")
    fulfilled = Order.objects.filter(pk__in=order_ids, status=Order.Status.FULFILLED).count()
    buckets = Bucket.objects.filter(order_item__order_id__in=order_ids).count()
    if fulfilled < events or buckets < events:
        raise RuntimeError(f"{events} events sent: {fulfilled} orders fulfilled, {buckets} buckets")
    return result
