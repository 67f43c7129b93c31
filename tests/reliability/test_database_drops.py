"""PostgreSQL dropping the site's connections, over real HTTP (the live server).

The live server's connections are made, for these tests, with an ``application_name`` of their
own and kept between requests as in production (``CONN_MAX_AGE``), so that a separate psycopg
connection can terminate exactly them, and never the test's own connection to the same database.

- Killed in the middle of traffic (pages, renewals, Stripe's webhooks with a real worker
  processing the events the site stores, the order page): a request
  caught by it fails cleanly (a 5xx page that shows nothing of the server's insides), none leaves
  half a write (an order is fulfilled with its bucket, notice and email, or not at all; a renewal
  leaves an order with its intent, or an order the next press gives an intent, or nothing), and
  the same browsers' next requests succeed, with no restart.
- Killed while idle between two requests: the next request does not even fail
  (``CONN_HEALTH_CHECKS`` replaces the dead connection).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import psycopg
import pytest
import requests
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from accounts.models import EmailDelivery, Notice, User
from billing.models import Order, StripeEvent
from boomcard.page_cache import customers_changed
from plans.models import Bucket, Line, Plan
from tests.billing.stripe_events import event_body, stripe_signature
from tests.celery_worker import Worker, database_url, wait_until
from tests.factories import LineFactory
from tests.reliability.conftest import (
    csrf_from,
    leaks_internals,
    orders_paid_at_stripe,
    site_browser,
    stripe_api,
    stripe_list,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

APP_NAME = "boom-reliability-app"
BROWSERS = 6
PER_BROWSER = 12  # lines to renew, and paid orders to be told of, per browser (more than it gets to)
KILLING = 6.0  # seconds of traffic during which connections are killed
KILL_EVERY = 0.2  # seconds


@pytest.fixture
def app_connections() -> Iterator[int]:
    """Connections the site makes from now on are named ``APP_NAME`` and kept 60 s between
    requests; the test's own connection, opened before, keeps its name. Yields its pid."""
    connection.ensure_connection()
    own_pid = connection.connection.info.backend_pid
    shared = connection.settings_dict
    # Every thread's connection is made from this same dict (the test database's name is set
    # in it the same way by pytest-django).
    assert connections.settings["default"] is shared
    saved_options, saved_age = shared["OPTIONS"], shared["CONN_MAX_AGE"]
    shared["OPTIONS"] = {**saved_options, "application_name": APP_NAME}
    shared["CONN_MAX_AGE"] = 60
    try:
        yield own_pid
    finally:
        shared["OPTIONS"], shared["CONN_MAX_AGE"] = saved_options, saved_age


class Killer:
    """A connection of its own that terminates the site's connections to the test database."""

    def __init__(self, own_pid: int) -> None:
        self.own_pid = own_pid
        self.conn = psycopg.connect(
            database_url(connection.settings_dict), autocommit=True, application_name="boom-reliability-killer"
        )
        self.killed = 0

    def kill(self) -> int:
        rows = self.conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND application_name = %s AND pid <> %s",
            (APP_NAME, self.own_pid),
        ).fetchall()
        killed = sum(1 for (done,) in rows if done)
        self.killed += killed
        return killed

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def killer(app_connections: int) -> Iterator[Killer]:
    killer = Killer(app_connections)
    yield killer
    killer.close()


@pytest.fixture
def browsers(customer: User) -> Iterator[Callable[[], requests.Session]]:
    """``browsers()``: another browser logged in as the customer; all closed at the end (their
    keep-alive connections, and so the server threads holding the site's connections)."""
    opened: list[requests.Session] = []

    def new() -> requests.Session:
        opened.append(site_browser(customer))
        return opened[-1]

    yield new
    for browser in opened:
        browser.close()


@dataclass
class Answer:
    kind: str
    key: Any
    status: int
    location: str = ""
    body: str = ""


@dataclass
class Traffic:
    """What one browser does over and over: open pages, renew a line it has not renewed yet,
    deliver Stripe's event for an order paid at Stripe, open such an order's page."""

    base: str
    browser: requests.Session
    line_pages: list[int]
    renew_lines: Iterator[Line]
    events: Iterator[tuple[Order, bytes]]
    order_pages: Iterator[Order]
    csrf: str
    answers: list[Answer] = field(default_factory=list)

    def get(self, kind: str, key: Any, path: str) -> None:
        response = self.browser.get(self.base + path, allow_redirects=False, timeout=60)
        self.record(kind, key, response)

    def record(self, kind: str, key: Any, response: requests.Response) -> None:
        self.answers.append(
            Answer(
                kind,
                key,
                response.status_code,
                response.headers.get("Location", ""),
                response.text if response.status_code >= 500 else "",
            )
        )

    def renew(self, line: Line) -> None:
        response = self.browser.post(
            self.base + reverse("billing:renew", args=[line.pk]),
            data={"plan": "basic-10", "csrfmiddlewaretoken": self.csrf},
            allow_redirects=False,
            timeout=60,
        )
        self.record("renew", line.pk, response)

    def deliver(self, order: Order, body: bytes) -> None:
        response = self.browser.post(
            self.base + reverse("billing:stripe_webhook"),
            data=body,
            headers={"Content-Type": "application/json", "Stripe-Signature": stripe_signature(body)},
            timeout=60,
        )
        self.record("webhook", order.pk, response)

    def run(self, stop: threading.Event) -> None:
        for round_ in itertools.count():
            if stop.is_set():
                return
            self.get("home", None, reverse("plans:home"))
            self.get("line", None, reverse("plans:line", args=[self.line_pages[round_ % len(self.line_pages)]]))
            line = next(self.renew_lines, None)
            if line is not None:
                self.renew(line)
            event = next(self.events, None)
            if event is not None:
                self.deliver(*event)
            order = next(self.order_pages, None)
            if order is not None:
                self.get("order", order.pk, reverse("billing:order", args=[order.public_id]))


EXPECTED = {"home": 200, "line": 200, "renew": 302, "webhook": 200, "order": 200}


def _fulfilment_is_whole(order: Order, old_expiry: Any) -> bool:
    """A paid order is fulfilled with everything that goes with it, or still waits with none of it."""
    order.refresh_from_db()
    buckets = Bucket.objects.filter(order_item__order=order).count()
    notices = Notice.objects.filter(key=f"order-fulfilled:{order.pk}")
    emails = EmailDelivery.objects.filter(notice__in=notices).count()
    moved = Line.objects.get(pk=order.line_id).expires_at - old_expiry
    if order.status == Order.Status.FULFILLED:
        return (buckets, notices.count(), emails, moved) == (1, 1, 1, timedelta(days=30))
    return order.status == Order.Status.PENDING and (buckets, notices.count(), emails, moved) == (0, 0, 0, timedelta())


@pytest.fixture
def billing_worker(worker: Callable[..., AbstractContextManager[Worker]]) -> Iterator[Worker]:
    """A real worker for the whole test, processing the Stripe events the site stores (its own
    connections are not the site's: the killer leaves them)."""
    with worker(concurrency=2) as running:
        yield running


def _events_processed(running: Worker) -> None:
    unprocessed = StripeEvent.objects.filter(processed_at__isnull=True)
    wait_until(
        lambda: not unprocessed.exists(), timeout=60, what="every stored event processed", details=running.log_tail
    )


def test_connections_killed_during_traffic_fail_requests_cleanly_leave_no_half_writes_and_the_site_recovers(
    live_server: LiveServer,
    localstripe: str,
    customer: User,
    plans: dict[str, Plan],
    billing_worker: Worker,
    killer: Killer,
    browsers: Callable[[], requests.Session],
) -> None:
    plan = plans["basic-10"]
    paid = orders_paid_at_stripe(customer, plan, localstripe, BROWSERS * PER_BROWSER)
    old_expiry = {order.pk: order.line.expires_at for order, _intent in paid}
    now = timezone.now()
    renew_lines = Line.objects.bulk_create(
        [
            LineFactory.build(
                owner=customer, status=Line.Status.ACTIVE, added_at=now, plan=plan, expires_at=now + timedelta(days=3)
            )
            for _ in range(BROWSERS * PER_BROWSER)
        ]
    )
    events = {order.pk: event_body("payment_intent.succeeded", intent) for order, intent in paid}
    orders = [order for order, _intent in paid]
    base = live_server.url
    traffic = []
    for n in range(BROWSERS):
        browser = browsers()
        mine = slice(n * PER_BROWSER, (n + 1) * PER_BROWSER)
        traffic.append(
            Traffic(
                base=base,
                browser=browser,
                line_pages=[line.pk for line in renew_lines[mine][:3]],
                renew_lines=iter(renew_lines[mine]),
                events=iter([(order, events[order.pk]) for order in orders[mine]]),
                # The order pages of another browser's orders: the page and the webhook race.
                order_pages=iter(orders[(n + 1) % BROWSERS * PER_BROWSER :][:PER_BROWSER]),
                csrf=csrf_from(browser, base + reverse("billing:renew", args=[renew_lines[mine][0].pk])),
            )
        )

    stop = threading.Event()
    errors: list[BaseException] = []

    def drive(each: Traffic) -> None:
        try:
            each.run(stop)
        except BaseException as error:  # reported on the test's thread
            errors.append(error)

    threads = [threading.Thread(target=drive, args=(each,)) for each in traffic]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + KILLING
        while time.monotonic() < deadline:
            killer.kill()
            time.sleep(KILL_EVERY)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors, errors
    during = [answer for each in traffic for answer in each.answers]

    # Connections were really killed under the requests.
    assert killer.killed >= 10, killer.killed
    failed = [a for a in during if a.status >= 500]
    for answer in during:
        if answer.status < 500:
            assert answer.status == EXPECTED[answer.kind], answer
    # A failure is a plain 5xx page: no traceback, no SQL, no driver's message.
    assert {a.status for a in failed} <= {500, 502, 503}, Counter(a.status for a in failed)
    assert not [a for a in failed if leaks_internals(a.body)], [a.body[:500] for a in failed][:3]

    # Every event the site stored (and so answered 200) is processed by the worker.
    _events_processed(billing_worker)
    # No half writes: each paid order fulfilled whole or not at all; each renewed line has at
    # most one order, and an order whose renewal answered has its intent.
    for order in orders:
        assert _fulfilment_is_whole(order, old_expiry[order.pk]), order.public_id
    renewed = {a.key: a for a in during if a.kind == "renew"}
    for line in renew_lines:
        line_orders = list(Order.objects.filter(line=line))
        assert len(line_orders) <= 1, line.pk
        if line.pk in renewed and renewed[line.pk].status == 302:
            [order] = line_orders
            assert order.payment_intent_id, order.public_id
            assert renewed[line.pk].location == reverse("billing:pay", args=[order.public_id])
        if line_orders:
            assert line_orders[0].status == Order.Status.PENDING
    assert not StripeEvent.objects.filter(processed_at__isnull=True).exists()

    # The same browsers, without a restart: pages work; Stripe redelivers what failed; a
    # customer whose renewal failed presses again.
    for each in traffic:
        each.answers = []
        each.get("home", None, reverse("plans:home"))
        each.get("line", None, reverse("plans:line", args=[each.line_pages[0]]))
    renew_failed = {a.key for a in failed if a.kind == "renew"}
    recovering = traffic[0]
    for order in orders:
        if not StripeEvent.objects.filter(payment_intent_id=order.payment_intent_id).exists():
            recovering.deliver(order, events[order.pk])
    for line in renew_lines:
        if line.pk in renew_failed:
            recovering.renew(line)
    after = [answer for each in traffic for answer in each.answers]
    assert [a for a in after if a.status != EXPECTED[a.kind]] == []
    _events_processed(billing_worker)

    # Every paid order is now fulfilled, once; every line renewed has one order with one intent.
    for order in orders:
        assert _fulfilment_is_whole(order, old_expiry[order.pk]), order.public_id
    assert Counter(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)) == {
        Order.Status.FULFILLED: len(orders)
    }
    intents_by_order: dict[str, list[str]] = {}
    for intent in stripe_list(stripe_api(localstripe), localstripe, "payment_intents"):
        intents_by_order.setdefault(intent["metadata"].get("order", ""), []).append(intent["id"])
    attempted = [line for line in renew_lines if line.pk in renewed]
    opened = Order.objects.filter(line__in=attempted)
    assert opened.count() == len(attempted)
    for order in opened:
        assert order.payment_intent_id in intents_by_order[order.public_id], order.public_id
        if renewed[order.line_id].status == 302:
            # Answered: exactly its one intent at Stripe.
            assert intents_by_order[order.public_id] == [order.payment_intent_id]
    strays = sum(len(ids) - 1 for ids in intents_by_order.values() if len(ids) > 1)
    print(
        f"database drops: {killer.killed} connections killed; {len(during)} requests, "
        f"{len(failed)} failed ({dict(Counter(a.kind for a in failed))}); "
        f"{strays} intents made at Stripe by a renewal whose transaction was then killed"
    )


def test_connections_killed_between_requests_are_replaced_without_a_failed_request(
    live_server: LiveServer, line: Line, killer: Killer, browsers: Callable[[], requests.Session]
) -> None:
    four = [browsers() for _ in range(4)]
    pages = [reverse("plans:home"), reverse("plans:line", args=[line.pk]), reverse("billing:orders")]
    assert line.owner_id is not None
    for browser in four:
        # A page served warm from the customer's page cache opens no connection: each browser's
        # pages are built from the database, as after a change to the customer's data.
        customers_changed([line.owner_id])
        for page in pages:
            assert browser.get(live_server.url + page, timeout=30).status_code == 200
    # Each browser's server thread kept its connection (CONN_MAX_AGE), idle now: killed.
    assert killer.kill() >= len(four)
    for browser in four:
        customers_changed([line.owner_id])
        for page in pages:
            response = browser.get(live_server.url + page, timeout=30)
            assert response.status_code == 200, (page, response.status_code)
    assert killer.kill() >= len(four)  # the replacements are the site's again
