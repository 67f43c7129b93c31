"""The bank test (after Jepsen's): money is neither made nor lost, whatever happens meanwhile.

Customers with two or three lines each renew them over real HTTP from one or two browsers at
once, round after round, alternating plans, some with a card that is declined first. Meanwhile
refunds race the fulfilments (some twice at once), every webhook localstripe sends is replayed
two or three times, out of order, from six threads, the mobile network posts usage batches for
the lines (some twice: tests/reliability/usage_feed.py), the Celery worker is killed with SIGKILL
and another started, and Stripe (through a proxy) is slow, loses its answers and is down for a few
seconds each. Then the faults stop, reconciliation runs, the outbox drains, and the invariants
are checked against Stripe's own books (localstripe's API, not through the proxy):

- money captured at Stripe minus money refunded = the price of the orders fulfilled (the
  allowance live and used: a refunded order's bucket is withdrawn);
- every payment that succeeded at Stripe belongs to an order fulfilled or refunded (no paid order
  unfulfilled), and no order is left paid but not fulfilled;
- every refund at Stripe is a succeeded Refund of a refunded order, and the other way round;
- every fulfilled or refunded order has one bucket and one confirmation notice; no bucket was
  made without an order; a refunded order's bucket holds nothing more;
- usage is neither made nor lost: every record the network sent is stored and counted once, and
  on each line the bytes reported = what its buckets used + its records' overage = its daily
  totals (a refund withdraws a bucket while usage is applied to it);
- no request answered 5xx;
- every email was sent, none twice, except copies sharing one Message-ID (a worker killed after
  sending and before recording it), at most one per worker killed.

Every violation is listed, not only the first. Sizes come from the environment, so ``make bank``
runs the same test scaled up: BANK_CUSTOMERS (10), BANK_ROUNDS (2), BANK_THREADS (browsers at
once, 16), BANK_TIMEOUT (seconds for the whole test, 110), BANK_SUMMARY (a JSON file to write the
counts to).
"""

from __future__ import annotations

import email
import json
import logging
import os
import random
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import kombu.exceptions
import pytest
import redis
import requests
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Max
from django.urls import resolve, reverse
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from accounts.models import EmailDelivery, Notice, User
from accounts.outbox import outbox_due
from accounts.tasks import email_deliver_task
from billing import services as billing_services
from billing.models import Order, Refund, StripeEvent
from billing.sweeps import payments_reconcile, refunds_reconcile
from billing.tasks import stripe_events_sweep_task
from plans import tasks as plans_tasks
from plans.models import Bucket, Line, Plan, UsageBatch
from plans.usage import usage_batches_due
from tests.billing.test_webhooks import stripe_signature
from tests.card_payments import CardPayment, pay_by_card
from tests.celery_worker import Worker, wait_until
from tests.factories import LineFactory, UserFactory
from tests.reliability.conftest import BROKER_URL, handed_out_since, site_browser, stripe_api, stripe_card, stripe_list
from tests.reliability.faults import CollectedEvent, StripeProxy, WebhookCollector
from tests.reliability.usage_feed import UsageFeed, usage_books

CUSTOMERS = int(os.environ.get("BANK_CUSTOMERS", "10"))
ROUNDS = int(os.environ.get("BANK_ROUNDS", "2"))
THREADS = int(os.environ.get("BANK_THREADS", "16"))
TEST_TIMEOUT = int(os.environ.get("BANK_TIMEOUT", "110"))
SUMMARY_FILE = os.environ.get("BANK_SUMMARY", "")

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(TEST_TIMEOUT)]

PLANS = ("basic-10", "basic-30")
CARD_OK, CARD_DECLINED = "4242424242424242", "4000000000000341"
STRIPE_TIMEOUT = 2.0  # the app's read timeout towards Stripe in this test
HOLD = 3.0  # how long a slow Stripe keeps its answer: longer than the app waits
REPLAYERS = 6
PAY_TRIES = 6
WEBHOOK_NAME = "boom"  # the name tests/reliability/conftest.py's localstripe registers
NOWHERE = "http://127.0.0.1:9/"
# The whole run's share of TEST_TIMEOUT the traffic may take before the test gives up on it.
TRAFFIC_SHARE = 0.55

StartWorker = Callable[..., AbstractContextManager[Worker]]


@dataclass
class Record:
    """What the clients saw, from many threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def answer(self, what: str, response: requests.Response | None, error: Exception | None = None) -> None:
        with self.lock:
            if response is None:
                self.statuses[0] += 1
                self.problems.append(f"{what}: no answer ({error!r})")
                return
            self.statuses[response.status_code] += 1
            if response.status_code >= 500:
                self.server_errors.append(f"{what} -> {response.status_code}: {response.text[:300]!r}")

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counts[name] += n

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)


@contextmanager
def _site_answers_recorded(browser: requests.Session, record: Record) -> Iterator[None]:
    """Record every answer the site gives ``browser`` meanwhile (the pages ``pay_by_card`` opens)."""

    def recorded(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        match = resolve(urlparse(response.url).path)
        record.answer(f"{response.request.method} {match.url_name}", response)

    browser.hooks["response"].append(recorded)
    try:
        yield
    finally:
        browser.hooks["response"].remove(recorded)


def _send(record: Record, what: str, call: Callable[[], requests.Response]) -> requests.Response | None:
    try:
        response = call()
    except requests.RequestException as error:
        record.answer(what, None, error)
        return None
    record.answer(what, response)
    return response


# --- The customers ------------------------------------------------------------------------------


@dataclass
class Job:
    """One browser's work: its lines, renewed ROUNDS times each."""

    number: int
    user: User
    lines: list[Line]


def _make_customers(plan: Plan) -> list[Job]:
    """CUSTOMERS customers with 2 or 3 lines each (a plan, ten days left); every other customer
    has two browsers, which share out the lines."""
    now = timezone.now()
    users = UserFactory.create_batch(CUSTOMERS)
    lines = Line.objects.bulk_create(
        [
            LineFactory.build(
                owner=user,
                status=Line.Status.ACTIVE,
                added_at=now,
                plan=plan,
                expires_at=now + timedelta(days=10),
            )
            for i, user in enumerate(users)
            for _ in range(2 + i % 2)
        ]
    )
    jobs: list[Job] = []
    for i, user in enumerate(users):
        own = [line for line in lines if line.owner_id == user.pk]
        browsers = 2 if i % 2 == 0 else 1
        for b in range(browsers):
            jobs.append(Job(number=len(jobs), user=user, lines=own[b::browsers]))
    return jobs


def _order_of(location: str) -> str | None:
    """The order a redirect to its pay page names, or None (a redirect back to the form)."""
    match = resolve(urlparse(location).path)
    return str(match.kwargs["public_id"]) if match.url_name == "pay" else None


def _renew(browser: requests.Session, line: Line, turn: int, base: str, localstripe: str, record: Record) -> None:
    """Renew one line the way the pages do: the form, its POST, then the card, retried as a
    customer would when the bank declines or the payment service is not answering."""
    renew_url = base + reverse("billing:renew", args=[line.pk])
    plan = PLANS[turn % 2]
    api = stripe_api(localstripe)
    public_id = None
    for _try in range(PAY_TRIES):
        form = _send(record, "GET renew", lambda: browser.get(renew_url, timeout=60))
        if form is None or form.status_code != 200:
            time.sleep(0.5)
            continue
        data = {"plan": plan, "csrfmiddlewaretoken": browser.cookies[django_settings.CSRF_COOKIE_NAME]}
        posted = _send(
            record,
            "POST renew",
            lambda data=data: browser.post(renew_url, data=data, allow_redirects=False, timeout=60),  # type: ignore[misc]
        )
        if posted is not None and posted.status_code == 302:
            public_id = _order_of(posted.headers["Location"])
            if public_id:
                break
        record.count("renew retried")
        time.sleep(0.5)
    if public_id is None:
        record.count("renewals not started")
        return
    record.count("orders started")
    order = Order.objects.get(public_id=public_id)
    declined_first = turn % 5 == 0
    double_click = turn % 4 == 1
    for attempt in range(PAY_TRIES):
        number = CARD_DECLINED if declined_first and attempt == 0 else CARD_OK
        payment_method = stripe_card(api, localstripe, number)

        def pay(payment_method: str = payment_method) -> CardPayment | None:
            try:
                return pay_by_card(browser, order, payment_method, localstripe=localstripe, base=base)
            except requests.RequestException as error:
                record.answer("pay by card", None, error)
                return None

        with _site_answers_recorded(browser, record):
            if double_click:
                record.count("double clicks")
                with ThreadPoolExecutor(2) as clicks:
                    payments = list(clicks.map(lambda _: pay(), range(2)))
            else:
                payments = [pay()]
        states = {p.status for p in payments if p is not None}
        if states & {Order.Status.FULFILLED, Order.Status.PAID}:
            record.count("paid on the page")
            break
        if any(p.error.get("code") == "card_declined" for p in payments if p is not None):
            record.count("declined")
        elif states & {Order.Status.CANCELLED, Order.Status.REFUNDED}:
            break
        else:
            record.count("pay retried")
            time.sleep(1.0)
    _send(record, "GET order", lambda: browser.get(base + reverse("billing:order", args=[public_id]), timeout=60))


def _browse(job: Job, browser: requests.Session, base: str, localstripe: str, record: Record) -> None:
    try:
        for round_no in range(ROUNDS):
            for k, line in enumerate(job.lines):
                _renew(browser, line, job.number + k + round_no, base, localstripe, record)
    except Exception as error:  # reported with the rest: one broken browser must not hide others
        record.problem(f"browser {job.number} stopped: {error!r}")
    finally:
        browser.close()


# --- Refunds racing fulfilment ------------------------------------------------------------------


def _refund(order_pk: int, record: Record) -> None:
    """Staff refund the order in full (what the admin action calls), from a thread of its own."""
    from billing import gateway

    try:
        answer = billing_services.order_refund(order=Order.objects.get(pk=order_pk))
        record.count(f"refund call -> {getattr(answer, 'status', '?')}")
    except ValidationError:
        record.count("refund call refused (not refundable now)")
    except gateway.GatewayError as error:
        # The service promises to record the refund and answer, never to raise, when Stripe is
        # slow or down: the money may have moved already.
        record.problem(f"order_refund(order {order_pk}) raised {type(error).__name__}: {error.message}")
    except Exception as error:
        record.problem(f"order_refund(order {order_pk}) raised {error!r}")
    finally:
        connection.close()


def _refund_some(count: int, record: Record) -> list[threading.Thread]:
    """Refund ``count`` fulfilled orders now (ones the refunder leaves alone), each from a thread."""
    chosen = [
        pk
        for pk in Order.objects.filter(status=Order.Status.FULFILLED).values_list("pk", flat=True).order_by("pk")
        if pk % 3 == 1
    ][:count]
    record.count("orders refunded by staff", len(chosen))
    calls = [threading.Thread(target=_refund, args=(pk, record), daemon=True) for pk in chosen]
    for call in calls:
        call.start()
    return calls


def _refunder(stop: threading.Event, record: Record, calls: list[threading.Thread]) -> None:
    """Refund about a third of the orders the moment they are fulfilled, half of those from two
    threads at once."""
    seen: set[int] = set()
    try:
        while not stop.wait(0.1):
            fresh = (
                Order.objects.filter(status=Order.Status.FULFILLED).exclude(pk__in=seen).values_list("pk", flat=True)
            )
            for pk in fresh:
                seen.add(pk)
                if pk % 3:
                    continue
                record.count("orders refunded by staff")
                for _ in range(2 if pk % 2 == 0 else 1):
                    call = threading.Thread(target=_refund, args=(pk, record), daemon=True)
                    call.start()
                    calls.append(call)
    except Exception as error:
        record.problem(f"the refunder stopped: {error!r}")
    finally:
        connection.close()


# --- Webhooks replayed --------------------------------------------------------------------------


class Replayer:
    """Sends every event the collector got to the site 2 or 3 times, shuffled, from 6 threads."""

    def __init__(self, collector: WebhookCollector, url: str, record: Record) -> None:
        self.collector, self.url, self.record = collector, url, record
        self.pending: list[CollectedEvent] = []
        self.taken = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.random = random.Random(20260)
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(REPLAYERS)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def drain(self) -> None:
        """Stop once every replay queued so far is sent."""
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _next(self) -> CollectedEvent | None:
        with self.lock:
            for event in self.collector.since(self.taken):
                self.taken += 1
                self.pending.extend([event] * self.random.choice((2, 3)))
            if not self.pending:
                return None
            return self.pending.pop(self.random.randrange(len(self.pending)))

    def _run(self) -> None:
        session = requests.Session()
        while True:
            event = self._next()
            if event is None:
                if self.stop.is_set():
                    break
                time.sleep(0.05)
                continue
            self.send(session, event)
        session.close()

    def send(self, session: requests.Session, event: CollectedEvent) -> None:
        # Stripe signs each delivery afresh; an old signature is outside the tolerance (5 min).
        fresh = time.time() - event.received_at < 240
        signature = event.signature if fresh else stripe_signature(event.body)
        self.record.count("webhooks replayed")
        _send(
            self.record,
            "POST webhook",
            lambda: session.post(
                self.url,
                data=event.body,
                headers={"Content-Type": "application/json", "Stripe-Signature": signature},
                timeout=60,
            ),
        )

    def once_more(self) -> None:
        """Every event once more, shuffled, after the traffic."""
        events = self.collector.since(0)
        self.random.shuffle(events)
        sessions = threading.local()

        def one(event: CollectedEvent) -> None:
            if not hasattr(sessions, "session"):
                sessions.session = requests.Session()
            self.send(sessions.session, event)

        with ThreadPoolExecutor(REPLAYERS) as pool:
            list(pool.map(one, events))


def _webhooks_to(localstripe: str, url: str) -> None:
    response = requests.post(
        f"{localstripe}/_config/webhooks/{WEBHOOK_NAME}",
        data={"url": url, "secret": django_settings.STRIPE_WEBHOOK_SECRET},
        timeout=10,
    )
    response.raise_for_status()


# --- The books ------------------------------------------------------------------------------


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


def _check_books(localstripe: str, mail_dir: Path, kills: int, first_bucket: int, record: Record) -> dict[str, Any]:
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


def _queued(delivery_ids: list[int]) -> bool:
    """Queue a task for each email, all or (the broker down for a moment) none yet."""
    try:
        with email_deliver_task.app.connection_for_write() as broker, broker.Producer() as producer:
            for delivery_id in delivery_ids:
                email_deliver_task.apply_async((delivery_id,), producer=producer, retry=False)
    except (OSError, redis.RedisError, kombu.exceptions.OperationalError):
        return False
    return True


def _broker_idle_but_for(killed_at: float) -> bool:
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


# --- The test -----------------------------------------------------------------------------------


def test_bank_money_is_neither_made_nor_lost_under_races_replays_kills_and_stripe_faults(
    live_server: LiveServer,
    localstripe: str,
    plans: dict[str, Plan],
    worker: StartWorker,
    mail_dir: Path,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = time.monotonic()
    record = Record()
    jobs = _make_customers(plans[PLANS[0]])
    sessions = [site_browser(job.user) for job in jobs]
    first_bucket = Bucket.objects.aggregate(last=Max("pk"))["last"] or 0
    lines = sum(len(job.lines) for job in jobs)
    renewals = lines * ROUNDS
    kills = 0
    refund_calls: list[threading.Thread] = []
    stop_refunds = threading.Event()
    settings.STRIPE_TIMEOUT = STRIPE_TIMEOUT
    # The feed posts ~3 times a second: this test counts usage, not the API's limiter.
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "usage_api": "100000/m"}
    monkeypatch.setenv("STRIPE_TIMEOUT", str(STRIPE_TIMEOUT))  # the worker reads its settings from here
    traffic_budget = TEST_TIMEOUT * TRAFFIC_SHARE

    def fulfilled_or_done(share: float, traffic: list[Future[None]]) -> bool:
        count = Order.objects.filter(status__in=(Order.Status.FULFILLED, Order.Status.REFUNDED)).count()
        return count >= share * renewals or all(f.done() for f in traffic)

    with (
        StripeProxy(localstripe, lifetime=TEST_TIMEOUT) as proxy,
        WebhookCollector(lifetime=TEST_TIMEOUT) as collector,
        ServerErrors().installed() as exceptions,
    ):
        settings.STRIPE_API_BASE = proxy.url  # the site and the workers reach Stripe through the proxy
        _webhooks_to(localstripe, collector.url + "/")
        replayer = Replayer(collector, live_server.url + reverse("billing:stripe_webhook"), record)
        refunder = threading.Thread(target=_refunder, args=(stop_refunds, record, refund_calls), daemon=True)
        feed = UsageFeed(live_server.url, [line for job in jobs for line in job.lines], record)
        try:
            with ThreadPoolExecutor(min(THREADS, len(jobs))) as browsers:
                replayer.start()
                refunder.start()
                feed.start()
                with worker(email_delay=0.2) as first:
                    traffic = [
                        browsers.submit(_browse, job, browser, live_server.url, localstripe, record)
                        for job, browser in zip(jobs, sessions, strict=True)
                    ]
                    # Each fault while the traffic runs, with refunds sent into it on purpose.
                    wait_until(lambda: fulfilled_or_done(0.1, traffic), timeout=traffic_budget, what="10% paid")
                    proxy.slow(hold=HOLD)  # Stripe acts; its answer comes after the app stopped waiting
                    refund_calls.extend(_refund_some(2, record))
                    time.sleep(3)
                    proxy.lost(hold=HOLD)  # Stripe acts; its answer never comes
                    refund_calls.extend(_refund_some(2, record))
                    time.sleep(3)
                    proxy.passing()
                    wait_until(lambda: fulfilled_or_done(0.25, traffic), timeout=traffic_budget, what="25% paid")
                    proxy.down()  # Stripe does nothing
                    refund_calls.extend(_refund_some(2, record))
                    time.sleep(3)
                    proxy.passing()
                    wait_until(lambda: fulfilled_or_done(0.4, traffic), timeout=traffic_budget, what="40% paid")
                    first.kill()
                    killed_at = time.time()
                    kills += 1
                with worker() as second:
                    wait_until(
                        lambda: all(f.done() for f in traffic),
                        timeout=max(traffic_budget - (time.monotonic() - started), 5),
                        what="the browsers to finish",
                    )
                    stop_refunds.set()
                    feed.finish()
                    refunder.join(timeout=10)
                    for call in refund_calls:
                        call.join(timeout=max(HOLD * 3, 10))
                    traffic_seconds = time.monotonic() - started
                    replayer.drain()
                    replayer.once_more()

                    # Reconciliation, as beat would run it later: every open order is old enough.
                    later = timezone.now() + timedelta(minutes=20)
                    reconciled = payments_reconcile(now=later)
                    refunds_seen = refunds_reconcile(now=later)
                    # Stripe's events whose task the killed worker held: the sweep queues them
                    # again, as beat would once they are due (made due now).
                    unprocessed = StripeEvent.objects.filter(processed_at__isnull=True)
                    unprocessed.update(retry_at=timezone.now())
                    stripe_events_sweep_task()
                    # Usage batches whose task the killed worker held: the sweep queues them too.
                    for batch_id in usage_batches_due(now=later):
                        plans_tasks.usage_batch_apply_task.delay(batch_id)

                    # The outbox: whatever the killed worker dropped, sent now. Once the second
                    # worker has done all it was given, an email still claimed was claimed by the
                    # dead one: its lease (two minutes) runs out, as if they had passed.
                    # (Redis is shared with other test runs on this machine, some of which stop
                    # it for a few seconds: publishing waits for it.)
                    wait_until(
                        lambda: _broker_idle_but_for(killed_at),
                        timeout=30,
                        what="the second worker to finish its tasks",
                        details=second.log_tail,
                    )
                    EmailDelivery.objects.filter(
                        status=EmailDelivery.Status.PENDING, claimed_until__isnull=False
                    ).update(claimed_until=timezone.now())
                    due = outbox_due(now=timezone.now() + timedelta(days=1), limit=100_000)
                    wait_until(lambda: _queued(due), timeout=30, what="the broker to take the outbox's tasks")
                    wait_until(
                        lambda: not EmailDelivery.objects.filter(status=EmailDelivery.Status.PENDING).exists(),
                        timeout=40,
                        what="the outbox to drain",
                        details=second.log_tail,
                    )
                    # What the killed worker held stays handed out until a worker restores it.
                    wait_until(
                        lambda: _broker_idle_but_for(killed_at),
                        timeout=20,
                        what="the broker to be idle",
                        details=second.log_tail,
                    )
                    # Every event Stripe sent was processed (once: the books below say so).
                    wait_until(
                        lambda: not unprocessed.exists(),
                        timeout=20,
                        what="every Stripe event processed",
                        details=second.log_tail,
                    )
                    wait_until(
                        lambda: not UsageBatch.objects.filter(status=UsageBatch.Status.PENDING).exists(),
                        timeout=20,
                        what="every usage batch applied",
                        details=second.log_tail,
                    )
        finally:
            stop_refunds.set()
            feed.stop.set()
            replayer.stop.set()
            _webhooks_to(localstripe, NOWHERE)

    books = _check_books(localstripe, mail_dir, kills, first_bucket, record)
    record.problems.extend(usage_books(feed))
    faults = {f"stripe {mode}": n for mode, n in proxy.requests.items() if mode != "pass"}
    summary = {
        **books,
        "browsers": len(jobs),
        "threads": min(THREADS, len(jobs)),
        "renewals": renewals,
        "requests": sum(record.statuses.values()),
        "statuses": dict(sorted(record.statuses.items())),
        "events_collected": len(collector.events),
        **{name.replace(" ", "_"): n for name, n in sorted(record.counts.items())},
        **{name.replace(" ", "_"): n for name, n in faults.items()},
        "usage_batches": len(feed.batches),
        "usage_records": len(feed.sent),
        "worker_kills": kills,
        "reconciled_payments": reconciled,
        "reconciled_refunds": refunds_seen,
        "traffic_seconds": round(traffic_seconds, 1),
        "seconds": round(time.monotonic() - started, 1),
    }
    print(
        f"\nbank: {books['payments_at_stripe']} payments, {books['refunds_at_stripe']} refunds at Stripe; "
        f"{books['orders']} orders {books['orders_by_status']}; {summary['requests']} requests "
        f"{summary['statuses']}; {len(collector.events)} events, {record.counts['webhooks replayed']} replayed; "
        f"faults: {faults}, {kills} worker kill; {books['emails_sent']} emails "
        f"({books['emails_duplicated']} twice); {summary['seconds']} s"
    )
    problems = list(record.problems)
    missed = [mode for mode in ("slow", "lost", "down") if not proxy.requests[mode]]
    if missed:
        problems.append(f"no call to Stripe met these faults: {missed} (the traffic ended too soon?)")
    if record.server_errors:
        causes = Counter(exceptions.causes)
        problems.append(
            f"{len(record.server_errors)} answers were 5xx, e.g.:\n  "
            + "\n  ".join(record.server_errors[:10])
            + "\n  logged by the site: "
            + "; ".join(f"{n} x {cause}" for cause, n in causes.most_common(8))
        )
    if SUMMARY_FILE:
        summary["violations"] = len(problems)
        summary["violations_first"] = [text.splitlines()[0][:200] for text in problems[:20]]
        Path(SUMMARY_FILE).write_text(json.dumps(summary, indent=2, default=str))
    assert not problems, f"{len(problems)} invariant violations:\n" + "\n".join(problems[:60])
