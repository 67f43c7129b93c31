"""Faults for the reliability tests: an HTTP proxy in front of localstripe whose behaviour can be
switched while the test runs, and a collector that keeps the webhooks localstripe sends.

    with StripeProxy(localstripe_url) as proxy:     # settings.STRIPE_API_BASE = proxy.url
        proxy.slow(hold=3.0)    # Stripe acts at once; its answer comes 3 s later
        proxy.lost(hold=3.0)    # Stripe acts at once; its answer never comes (reset after 3 s)
        proxy.down()            # every request is dropped unanswered: Stripe did nothing
        proxy.passing()         # back to normal

Each runs on daemon threads on 127.0.0.1, answers nothing after ``lifetime`` seconds, and stops
when its block ends. Mode changes apply to the next request, also on a kept-alive connection.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlparse

# Hop-by-hop headers (RFC 9110, 7.6.1) and the length, which the proxy sets itself.
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}

PASS, SLOW, LOST, DOWN = "pass", "slow", "lost", "down"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def _reset(sock: socket.socket) -> None:
    """Close a connection with a TCP reset rather than a polite FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class _Background:
    """A ThreadingHTTPServer on a free port of 127.0.0.1, served from a daemon thread, shut down
    when the ``with`` block ends or ``lifetime`` seconds after it started, whichever is first."""

    handler: type[BaseHTTPRequestHandler]

    def __init__(self, *, lifetime: float) -> None:
        self.lifetime = lifetime
        self.stopped = threading.Event()
        self.server = _Server(("127.0.0.1", 0), self.handler)
        self.server.owner = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Any:
        serve = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        watchdog = threading.Thread(target=self._expire, daemon=True)
        self._threads = [serve, watchdog]
        for thread in self._threads:
            thread.start()
        return self

    def _expire(self) -> None:
        if not self.stopped.wait(self.lifetime):
            self.stop()

    def stop(self) -> None:
        if self.stopped.is_set():
            return
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the Stripe SDK uses it
    timeout = 30  # a client that sends nothing for this long is dropped

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _any(self) -> None:
        proxy: StripeProxy = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        mode, hold = proxy.mode_now()
        proxy.count(mode)
        if mode == DOWN:
            # Dropped before it reaches Stripe: nothing happened there.
            _reset(self.connection)
            self.close_connection = True
            return
        upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED | {"host"}}
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
            answer_headers = [(k, v) for k, v in answer.getheaders() if k.lower() not in _NOT_FORWARDED]
            status, reason = answer.status, answer.reason
        finally:
            upstream.close()
        if mode in (SLOW, LOST):
            # Stripe has acted; the answer waits (the client may give up meanwhile).
            proxy.stopped.wait(hold)
        if mode == LOST or proxy.stopped.is_set():
            _reset(self.connection)
            self.close_connection = True
            return
        try:
            self.send_response(status, reason)
            for name, value in answer_headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True  # the client gave up waiting

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _any  # noqa: N815  (http.server's names)


class StripeProxy(_Background):
    """An HTTP proxy in front of localstripe with run-time modes: pass, slow, lost, down."""

    handler = _ProxyHandler

    def __init__(self, upstream: str, *, lifetime: float = 600.0) -> None:
        parsed = urlparse(upstream)
        self.upstream_host = parsed.hostname or "127.0.0.1"
        self.upstream_port = parsed.port or 80
        self._mode, self._hold = PASS, 0.0
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.switches: list[tuple[float, str]] = []
        super().__init__(lifetime=lifetime)

    def __enter__(self) -> StripeProxy:
        super().__enter__()
        return self

    def _set(self, mode: str, hold: float = 0.0) -> None:
        with self._lock:
            self._mode, self._hold = mode, hold
            self.switches.append((time.monotonic(), mode))

    def passing(self) -> None:
        self._set(PASS)

    def slow(self, *, hold: float) -> None:
        self._set(SLOW, hold)

    def lost(self, *, hold: float) -> None:
        self._set(LOST, hold)

    def down(self) -> None:
        self._set(DOWN)

    def mode_now(self) -> tuple[str, float]:
        with self._lock:
            return self._mode, self._hold

    def count(self, mode: str) -> None:
        with self._lock:
            self.requests[mode] += 1


@dataclass(frozen=True)
class CollectedEvent:
    body: bytes
    signature: str
    received_at: float


class _CollectorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        collector: WebhookCollector = self.server.owner  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        collector.add(CollectedEvent(body, self.headers.get("Stripe-Signature", ""), time.time()))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


class WebhookCollector(_Background):
    """Keeps every event posted to it (raw body and ``Stripe-Signature``), answering 200."""

    handler = _CollectorHandler

    def __init__(self, *, lifetime: float = 600.0) -> None:
        self._lock = threading.Lock()
        self.events: list[CollectedEvent] = []
        super().__init__(lifetime=lifetime)

    def __enter__(self) -> WebhookCollector:
        super().__enter__()
        return self

    def add(self, event: CollectedEvent) -> None:
        with self._lock:
            self.events.append(event)

    def since(self, start: int) -> list[CollectedEvent]:
        with self._lock:
            return self.events[start:]
