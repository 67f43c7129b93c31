"""The locking discipline of billing.services, pinned on PostgreSQL: only the rows a service
changes are locked (never the plan every customer shares, nor the customer's row), and no call
to Stripe is made while a transaction, and so a row lock, is open."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from accounts.models import User
from billing import gateway, services
from billing.models import Order, Refund
from billing.sweeps import payments_reconcile, refunds_reconcile
from plans.models import Line
from tests.billing.stripe_events import deliver_event, event_body, pay_at_stripe, start_order, stripe_get
from tests.card_payments import pay_by_card


@contextmanager
def row_held(sql: str, params: list[Any]) -> Iterator[None]:
    """Another connection holds a row lock (``sql``) until the block ends, as a concurrent request
    that inserted an order for the same plan and customer does (FOR KEY SHARE on both)."""
    ready, done = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def hold() -> None:
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(sql, params)
                ready.set()
                done.wait(30)
                cursor.execute("ROLLBACK")
        except BaseException as error:  # reported on the test's thread
            failures.append(error)
            ready.set()
        finally:
            other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    ready.wait(10)
    try:
        yield
    finally:
        done.set()
        thread.join(10)
    assert not failures, failures


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("table", ["plans_plan", "accounts_user"])
def test_fulfilling_an_order_waits_on_no_lock_of_the_shared_plan_or_the_customer_row(
    client: Client, customer: User, line: Line, localstripe: str, card: Callable[[str], str], table: str
) -> None:
    """The deadlocks seen under mixed traffic came from orders locked with their plan and customer
    (FOR UPDATE on every joined row): any request holding those rows made fulfilment wait."""
    order = start_order(client, customer, line)
    pay_at_stripe(localstripe, order, card("ok"))
    row = order.plan_id if table == "plans_plan" else customer.pk

    with row_held(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE", [row]):  # noqa: S608 (a fixed name)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")
        try:
            order = services.order_fulfil(order=order)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = 0")

    assert order.status == Order.Status.FULFILLED


@pytest.fixture
def stripe_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Every call the gateway makes to Stripe, with whether a transaction was open at the time."""
    calls: list[tuple[str, bool]] = []
    real = gateway._call

    def watched(func: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append((getattr(func, "__qualname__", repr(func)), connection.in_atomic_block))
        return real(func, *args, **kwargs)

    monkeypatch.setattr(gateway, "_call", watched)
    return calls


@pytest.mark.django_db(transaction=True)
def test_no_call_to_stripe_is_made_inside_a_transaction_on_any_payment_path(
    client: Client,
    customer: User,
    line: Line,
    localstripe: str,
    card: Callable[[str], str],
    stripe_calls: list[tuple[str, bool]],
) -> None:
    client.force_login(customer)
    # Renew, fail once, pay, get the webhook, see the order, refund, renew again and cancel.
    order = start_order(client, customer, line)
    pay_by_card(client, order, card("declined"), localstripe=localstripe, save_card=True)
    assert pay_by_card(client, order, card("ok"), localstripe=localstripe, save_card=True).status == "fulfilled"
    order.refresh_from_db()
    intent = stripe_get(localstripe, f"/v1/payment_intents/{order.payment_intent_id}")
    deliver_event(client, event_body("payment_intent.succeeded", intent))
    client.get(reverse("billing:order", args=[order.public_id]))
    refund = services.order_refund(order=order)
    refunds_reconcile()
    again = start_order(client, customer, line)
    services.order_cancel(order=again)
    payments_reconcile()

    assert len(stripe_calls) > 10
    inside = [name for name, in_transaction in stripe_calls if in_transaction]
    assert inside == [], f"Stripe called inside a transaction: {inside}"
    again.refresh_from_db()
    order.refresh_from_db()
    assert (order.status, refund.status, again.status) == (
        Order.Status.REFUNDED,
        Refund.Status.SUCCEEDED,
        Order.Status.CANCELLED,
    )
