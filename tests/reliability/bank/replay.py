"""Every webhook localstripe sends, replayed two or three times, out of order, from several threads."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from django.conf import settings as django_settings

from tests.billing.stripe_events import stripe_signature
from tests.reliability.bank import REPLAYERS, WEBHOOK_NAME
from tests.reliability.bank.record import Record, send
from tests.reliability.faults import CollectedEvent, WebhookCollector


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
        send(
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


def webhooks_to(localstripe: str, url: str) -> None:
    response = requests.post(
        f"{localstripe}/_config/webhooks/{WEBHOOK_NAME}",
        data={"url": url, "secret": django_settings.STRIPE_WEBHOOK_SECRET},
        timeout=10,
    )
    response.raise_for_status()
