"""The middleware stack's cost: ``GET /ping`` through the whole stack against the same view
behind no middleware at all (``/bare/ping``, served by the same gunicorn: bench/wsgi.py), and in
this process what each middleware adds, anonymous and with a logged-in customer's session.

Each middleware's cost is measured as the difference between the stack cut just after it and
the stack cut just before it (``StackHandler``: Django's own WSGI handler, built with the first
few entries of ``settings.MIDDLEWARE``), each request timed through the whole WSGI call.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.test.utils import override_settings

# The prefix under which bench/wsgi.py serves the site's URLs without middleware.
BARE_PREFIX = "/bare"
# The same pages, each request preceded by a change to the customer's data (bench/wsgi.py): under
# CHANGED_PREFIX to what their pages show (a usage batch), under NOTICED_PREFIX to their account
# too (a notice, as a payment makes: the bell, so the user is read again).
CHANGED_PREFIX = "/changed"
NOTICED_PREFIX = "/noticed"


class StackHandler(WSGIHandler):
    """Django's WSGI handler with only ``middleware`` (a list of ``settings.MIDDLEWARE``'s
    entries) around the site's URLs: an empty list serves each view as it is."""

    def __init__(self, middleware: list[str]) -> None:
        self.middleware = middleware
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        with override_settings(MIDDLEWARE=self.middleware):
            super().load_middleware(is_async)


def _environ(path: str, cookie: str = "") -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9,en;q=0.8",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    return environ


def _time(handler: WSGIHandler, path: str, cookie: str, requests: int) -> float:
    """Microseconds per request through ``handler``, over ``requests`` requests."""
    statuses: list[str] = []

    def start_response(status: str, headers: Iterable[tuple[str, str]], *args: Any) -> Callable[..., None]:
        statuses.append(status)
        return lambda data: None

    started = time.thread_time()  # CPU time: what the server spends, whatever else runs
    for _ in range(requests):
        answer = handler(_environ(path, cookie), start_response)
        b"".join(answer)
        answer.close()
    spent = (time.thread_time() - started) / requests * 1e6
    bad = [status for status in statuses if not status.startswith("200")]
    if bad:
        raise RuntimeError(f"{path} through a partial stack answered {bad[0]}")
    return spent


@dataclass
class StackCosts:
    bare_us: dict[str, float] = field(default_factory=dict)  # no middleware, per visitor
    # Each middleware's added microseconds per request: anonymous, then logged in.
    added_us: list[tuple[str, float, float]] = field(default_factory=list)

    def whole_us(self, visitor: str) -> float:
        added = (anonymous if visitor == "anonymous" else logged_in for _, anonymous, logged_in in self.added_us)
        return self.bare_us[visitor] + sum(added)


def stack_costs(session_cookie: str, *, rounds: int = 15, requests: int = 100) -> StackCosts:
    """What each middleware adds to ``GET /ping``, in this process: anonymous, and with the
    customer's cookies (``session_cookie``: the session and the customer's; the session, the
    user and the rest are then read). Every stack
    is timed once per round, the rounds interleaved so that a busy spell of the machine falls
    on all alike; each stack's figure is its fastest round (the least disturbed)."""
    middleware = list(settings.MIDDLEWARE)
    handlers = [StackHandler(middleware[:n]) for n in range(len(middleware) + 1)]
    visitors = {"anonymous": "", "logged in": session_cookie}
    best = {visitor: [float("inf")] * len(handlers) for visitor in visitors}
    for _ in range(rounds):
        for visitor, cookie in visitors.items():
            for n, handler in enumerate(handlers):
                best[visitor][n] = min(best[visitor][n], _time(handler, "/ping", cookie, requests))
    costs = StackCosts(bare_us={visitor: found[0] for visitor, found in best.items()})
    for n, path in enumerate(middleware, start=1):
        anonymous, logged_in = (best[visitor][n] - best[visitor][n - 1] for visitor in visitors)
        costs.added_us.append((path, anonymous, logged_in))
    return costs
