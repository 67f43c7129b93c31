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

import json
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from accounts.models import EmailDelivery
from accounts.outbox import outbox_due
from billing.models import Order, StripeEvent
from billing.sweeps import payments_reconcile, refunds_reconcile
from billing.tasks import stripe_events_sweep_task
from plans import tasks as plans_tasks
from plans.models import Bucket, Plan, UsageBatch
from plans.usage import usage_batches_due
from tests.celery_worker import wait_until
from tests.reliability.bank import (
    HOLD,
    NOWHERE,
    PLANS,
    ROUNDS,
    STRIPE_TIMEOUT,
    SUMMARY_FILE,
    TEST_TIMEOUT,
    THREADS,
    TRAFFIC_SHARE,
    StartWorker,
)
from tests.reliability.bank.books import ServerErrors, broker_idle_but_for, check_books, queued
from tests.reliability.bank.customers import browse, make_customers
from tests.reliability.bank.record import Record
from tests.reliability.bank.refunds import keep_refunding, refund_some
from tests.reliability.bank.replay import Replayer, webhooks_to
from tests.reliability.conftest import site_browser
from tests.reliability.faults import StripeProxy, WebhookCollector
from tests.reliability.usage_feed import UsageFeed, usage_books

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(TEST_TIMEOUT)]


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
    jobs = make_customers(plans[PLANS[0]])
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
        webhooks_to(localstripe, collector.url + "/")
        replayer = Replayer(collector, live_server.url + reverse("billing:stripe_webhook"), record)
        refunder = threading.Thread(target=keep_refunding, args=(stop_refunds, record, refund_calls), daemon=True)
        feed = UsageFeed(live_server.url, [line for job in jobs for line in job.lines], record)
        try:
            with ThreadPoolExecutor(min(THREADS, len(jobs))) as browsers:
                replayer.start()
                refunder.start()
                feed.start()
                with worker(email_delay=0.2) as first:
                    traffic = [
                        browsers.submit(browse, job, browser, live_server.url, localstripe, record)
                        for job, browser in zip(jobs, sessions, strict=True)
                    ]
                    # Each fault while the traffic runs, with refunds sent into it on purpose.
                    wait_until(lambda: fulfilled_or_done(0.1, traffic), timeout=traffic_budget, what="10% paid")
                    proxy.slow(hold=HOLD)  # Stripe acts; its answer comes after the app stopped waiting
                    refund_calls.extend(refund_some(2, record))
                    time.sleep(3)
                    proxy.lost(hold=HOLD)  # Stripe acts; its answer never comes
                    refund_calls.extend(refund_some(2, record))
                    time.sleep(3)
                    proxy.passing()
                    wait_until(lambda: fulfilled_or_done(0.25, traffic), timeout=traffic_budget, what="25% paid")
                    proxy.down()  # Stripe does nothing
                    refund_calls.extend(refund_some(2, record))
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
                        lambda: broker_idle_but_for(killed_at),
                        timeout=30,
                        what="the second worker to finish its tasks",
                        details=second.log_tail,
                    )
                    EmailDelivery.objects.filter(
                        status=EmailDelivery.Status.PENDING, claimed_until__isnull=False
                    ).update(claimed_until=timezone.now())
                    due = outbox_due(now=timezone.now() + timedelta(days=1), limit=100_000)
                    wait_until(lambda: queued(due), timeout=30, what="the broker to take the outbox's tasks")
                    wait_until(
                        lambda: not EmailDelivery.objects.filter(status=EmailDelivery.Status.PENDING).exists(),
                        timeout=40,
                        what="the outbox to drain",
                        details=second.log_tail,
                    )
                    # What the killed worker held stays handed out until a worker restores it.
                    wait_until(
                        lambda: broker_idle_but_for(killed_at),
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
            webhooks_to(localstripe, NOWHERE)

    books = check_books(localstripe, mail_dir, kills, first_bucket, record)
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
