"""A small HTTP server registered at the fake Stripe (localstripe) as a webhook endpoint, for the
tests of what the project's launcher adds: it keeps what it receives and checks the signatures."""

import contextlib
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
import stripe


class Receiver:
    """A small HTTP server registered at the fake for events, with its own secret."""

    def __init__(self) -> None:
        self.secret = f"whsec_{secrets.token_hex(12)}"
        self.received: list[tuple[bytes, str]] = []  # (body, Stripe-Signature)
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                received.append((self.rfile.read(length), self.headers.get("Stripe-Signature", "")))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def events_about(self, intent_id: str, count: int, timeout: float = 8) -> list[stripe.Event]:
        """The first ``count`` events about the intent, each verified with its signature, by type and
        amount refunded. Anything else that reaches this port (another run's fake) is not ours."""
        deadline = time.monotonic() + timeout
        while True:
            events = []
            for body, signature in list(self.received):
                try:
                    event = stripe.Webhook.construct_event(body, signature, self.secret)
                except stripe.SignatureVerificationError:
                    continue
                about = event.data.object.to_dict()
                if intent_id in (about.get("payment_intent"), about.get("id")):
                    events.append(event)
            if len(events) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert len(events) == count, f"{len(events)} events about {intent_id} received, {count} expected"
        return sorted(events, key=lambda event: (event.type, event.data.object.to_dict().get("amount_refunded", 0)))


@contextlib.contextmanager
def receiving(localstripe: str, name: str, events: list[str]) -> Iterator[Receiver]:
    """A receiver registered at the fake as webhook ``name`` for ``events``, while the block runs."""
    receiver = Receiver()
    threading.Thread(target=receiver.server.serve_forever, daemon=True).start()
    registration = f"{localstripe}/_config/webhooks/{name}"
    url = f"http://127.0.0.1:{receiver.server.server_port}/"
    requests.post(
        registration, data={"url": url, "secret": receiver.secret, "events[]": events}, timeout=10
    ).raise_for_status()
    try:
        yield receiver
    finally:
        # Registrations outlive a wipe and cannot be removed: leave this one listening to nothing.
        requests.post(
            registration, data={"url": url, "secret": receiver.secret, "events[]": ["none.none"]}, timeout=10
        ).raise_for_status()
        receiver.server.shutdown()
        receiver.server.server_close()
