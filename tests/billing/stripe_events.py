"""Stripe's side of a payment, for the billing tests: events made and signed here exactly as
Stripe signs them, delivered to the webhook and processed as the worker would, and orders
started on the site and paid at localstripe through its API."""

import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import requests
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import User
from billing import tasks
from billing.models import Order, StripeEvent
from plans.models import Line

STRIPE_AUTH = ("sk_test_boom_local", "")


def stripe_signature(body: bytes, *, secret: str | None = None, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe sends: HMAC-SHA256 of ``"<t>.<body>"``."""
    t = int(time.time()) if timestamp is None else timestamp
    key = (secret or settings.STRIPE_WEBHOOK_SECRET).encode()
    digest = hmac.new(key, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def event_body(event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> bytes:
    event = {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "type": event_type,
        "data": {"object": obj},
    }
    return json.dumps(event).encode()


def post_event(client: Client, body: bytes, *, signature: str | None = None) -> Any:
    """Deliver an event as Stripe does (signed now, unless a signature is given)."""
    headers = {} if signature == "" else {"Stripe-Signature": signature or stripe_signature(body)}
    return client.post(reverse("billing:stripe_webhook"), data=body, content_type="application/json", headers=headers)


def events_process() -> dict[str, str]:
    """What the ``billing`` worker does with the events stored and not yet processed, done here, in
    this process and the test's transaction: the task's body for each, oldest first (the tasks
    queued on commit never leave a test that does not commit). Their outcomes, by event id."""
    pending = StripeEvent.objects.filter(processed_at__isnull=True).order_by("pk").values_list("pk", "event_id")
    return {event_id: tasks.stripe_event_process_task(pk) for pk, event_id in list(pending)}


def deliver_event(client: Client, body: bytes) -> str:
    """Deliver a signed event as Stripe does, see it answered 200 at once, then process what is
    stored as the worker would (``events_process``): the event's outcome, or ``"duplicate"``
    when the answer said it was a copy of one stored before."""
    response = post_event(client, body)
    assert response.status_code == 200, response.content
    if response.json().get("duplicate"):
        return "duplicate"
    return events_process()[json.loads(body)["id"]]


def stripe_get(localstripe: str, path: str) -> dict[str, Any]:
    response = requests.get(f"{localstripe}{path}", auth=STRIPE_AUTH, timeout=10)
    response.raise_for_status()
    return dict(response.json())


def stripe_post(localstripe: str, path: str, data: dict[str, str] | None = None) -> dict[str, Any]:
    response = requests.post(f"{localstripe}{path}", data=data or {}, auth=STRIPE_AUTH, timeout=10)
    response.raise_for_status()
    return dict(response.json())


def start_order(client: Client, customer: User, line: Line, plan: str = "basic-10") -> Order:
    """The customer presses Renew: a pending order with its intent on localstripe."""
    client.force_login(customer)
    response = client.post(reverse("billing:renew", args=[line.pk]), {"plan": plan})
    assert response.status_code == 302
    order = Order.objects.get(line=line, status=Order.Status.PENDING)
    assert order.payment_intent_id
    return order


def pay_at_stripe(localstripe: str, order: Order, payment_method_id: str) -> dict[str, Any]:
    """The payment goes through at Stripe without the app hearing of it (the customer closed the
    tab before the return page): attach the card, confirm the intent. Returns the intent."""
    intent_id = str(order.payment_intent_id)
    intent = stripe_get(localstripe, f"/v1/payment_intents/{intent_id}")
    stripe_post(localstripe, f"/v1/payment_methods/{payment_method_id}/attach", {"customer": intent["customer"]})
    stripe_post(localstripe, f"/v1/payment_intents/{intent_id}", {"payment_method": payment_method_id})
    stripe_post(localstripe, f"/v1/payment_intents/{intent_id}/confirm")
    intent = stripe_get(localstripe, f"/v1/payment_intents/{intent_id}")
    assert intent["status"] == "succeeded"
    return intent
