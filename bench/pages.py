"""Figure 1: pages per second against ``GET /ping`` on the same server (warm, wrk), each page's
first view after a change to the customer's data against /ping (cold: in-process, and under wrk
with a change before every request), and each page's queries cold and warm. A page is one line
in ``pages``."""

from __future__ import annotations

import gc
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

import requests
from django.contrib.sessions.backends.cached_db import KEY_PREFIX as SESSION_CACHE_PREFIX
from django.core.cache import cache, caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.load import WrkResult, wrk
from bench.middleware import BARE_PREFIX, CHANGED_PREFIX, NOTICED_PREFIX, StackCosts, stack_costs
from bench.seed import PageCustomer
from bench.stack import redis_stores
from boomcard.middleware import CUSTOMER_COOKIE
from boomcard.page_cache import customers_changed, pages_changed
from boomcard.startup import startup_objects_freeze

RECOMMEND_QUERY = "data_gb=12&minutes=300&sms=50&trip1_country=JP&trip1_days=7"


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    logged_in: bool = True
    # Text the real page has (not the log-in form a lost session would give).
    expect: str = ""


@dataclass(frozen=True)
class Change:
    """A change to the customer's data that bench/wsgi.py makes before each request under
    ``prefix``."""

    name: str
    label: str  # as the report names it: "after a change"
    prefix: str


CHANGES = (
    # A usage batch applied, a payment's order and bucket: ``pages_changed``.
    Change("changed", "a change", CHANGED_PREFIX),
    # A notice (a payment makes one): ``customers_changed``, the account's generation too.
    Change("noticed", "a notice", NOTICED_PREFIX),
)


def pages(customer: PageCustomer) -> list[Page]:
    busiest = customer.line_ids[0]
    paid, open_order = _orders_to_show(customer)
    return [
        Page("ping", "/ping", logged_in=False, expect="ok"),
        Page("home", "/", expect=f'href="/lines/{busiest}/"'),
        Page("line", f"/lines/{busiest}/", expect="LPA:1$"),
        Page("orders", "/billing/orders/", expect="BM"),
        Page("order", f"/billing/orders/{paid}/", expect=f'href="/billing/orders/{paid}/receipt/"'),
        Page("receipt", f"/billing/orders/{paid}/receipt/", expect=paid),
        Page("renew", f"/lines/{busiest}/renew/", expect='name="plan"'),
        Page("pay", f"/billing/orders/{open_order}/pay/", expect='id="card-form"'),
        Page("recommend", f"/plans/recommend/?{RECOMMEND_QUERY}", expect='name="data_gb"'),
        Page("notices", "/notices/", expect='class="notices"'),
        Page("support", "/support/", expect='name="message"'),
    ]


def _orders_to_show(customer: PageCustomer) -> tuple[str, str]:
    """The public ids of the customer's latest fulfilled order (the order and receipt pages) and
    of an open order on their third line, whose intent is already made (the pay page, which then
    asks Stripe nothing); the open one is made here the first time."""
    from billing.models import Order, OrderItem

    paid = Order.objects.filter(user=customer.user, status=Order.Status.FULFILLED).order_by("-created_at").first()
    assert paid is not None, "the bench customer has fulfilled orders"
    open_order = Order.objects.filter(user=customer.user, status=Order.Status.PENDING).first()
    if open_order is None:
        open_order = Order.objects.create(
            user=customer.user,
            line_id=customer.line_ids[2],
            plan=paid.plan,
            kind=Order.Kind.RENEWAL,
            amount_minor=paid.amount_minor,
            currency=paid.currency,
            payment_intent_id="pi_bench_page_open",
            client_secret="pi_bench_page_open_secret_bench",  # noqa: S106 (localstripe never sees it)
        )
        OrderItem.objects.create(order=open_order, position=0, plan=paid.plan, amount_minor=paid.amount_minor)
    return paid.public_id, open_order.public_id


def log_in(base_url: str, phone: str, password: str) -> dict[str, str]:
    """Log in once as a browser would, and return the cookies wrk is to send.

    The cookies are Secure in production and the bench speaks plain HTTP, so they are read from
    the answers and sent by hand. One log-in: far within the log-in rate limit (RATE_LIMIT_LOGIN)
    and django-axes' failure limit, which counts failures only.
    """
    form = requests.get(f"{base_url}/accounts/login/", timeout=10)
    form.raise_for_status()
    csrf = form.cookies.get("csrftoken")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    if not csrf or token is None:
        raise RuntimeError("the log-in page gave no CSRF cookie or token")
    answer = requests.post(
        f"{base_url}/accounts/login/",
        data={"username": phone, "password": password, "csrfmiddlewaretoken": token.group(1)},
        headers={"Cookie": f"csrftoken={csrf}"},
        allow_redirects=False,
        timeout=30,
    )
    session, customer = answer.cookies.get("sessionid"), answer.cookies.get(CUSTOMER_COOKIE)
    if answer.status_code != 302 or not session or not customer:
        raise RuntimeError(f"log-in failed: {answer.status_code} {answer.text[:500]}")
    return {"sessionid": session, CUSTOMER_COOKIE: customer, "csrftoken": answer.cookies.get("csrftoken") or csrf}


def _cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def page_check(base_url: str, page: Page, cookies: dict[str, str]) -> None:
    headers = {"Cookie": _cookie_header(cookies)} if page.logged_in else {}
    answer = requests.get(base_url + page.path, headers=headers, allow_redirects=False, timeout=30)
    if answer.status_code != 200 or page.expect not in answer.text:
        raise RuntimeError(f"{page.path} answered {answer.status_code} without {page.expect!r}: {answer.text[:300]}")


@dataclass(frozen=True)
class Queries:
    cold: int  # nothing of the customer's in the cache
    warm: int  # the same request again
    changed: int  # the first request after a change to the customer's data (their session cached)

    def __str__(self) -> str:
        return f"{self.cold} / {self.changed} / {self.warm}"


def query_counts(customer: PageCustomer, page_list: list[Page]) -> dict[str, Queries]:
    """Queries each page makes, counted in this process with Django's test client: with the
    customer's session and page cache dropped first (the session, the user, the bell and the home
    page's cards are then read from the database), the same request again, and once more after a
    change to the customer's data (``pages_changed``, as a payment or a usage batch: their session
    and their account stay cached; a notice or a change to the account reads the user too, one
    query more)."""
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(customer.user)
    counts = {}
    for page in page_list:
        visitor = client if page.logged_in else Client(HTTP_HOST="127.0.0.1")
        found = []
        # Not cache.clear(): Redis db 13 is the bench's Celery broker too.
        customers_changed([customer.user.pk])
        cache.delete(SESSION_CACHE_PREFIX + (client.session.session_key or ""))
        for view in range(3):
            if view == 2 and page.logged_in:
                pages_changed([customer.user.pk])
            with CaptureQueriesContext(connection) as queries:
                answer = visitor.get(page.path)
            if answer.status_code != 200:
                raise RuntimeError(f"{page.path}: {answer.status_code} in the test client")
            found.append(len(queries))
        counts[page.name] = Queries(cold=found[0], warm=found[1], changed=found[2])
    return counts


# The cold figure: in-process, views per page per round, rounds taking turns over the pages.
COLD_VIEWS, COLD_ROUNDS = 20, 3


def cold_views(
    customer: PageCustomer, page_list: list[Page], *, views: int, rounds: int, redraw: bool = False
) -> dict[str, list[float]]:
    """Seconds of each view, in this process with Django's test client: every logged-in view the
    first after a change to the customer's data (``pages_changed``, what a payment or a usage
    batch applied calls; not timed), and /ping (anonymous) as it always is. The
    pages take turns in each round, as in the wrk runs. What this process holds by then is frozen
    meanwhile, as a server's process freezes what it made while starting (boomcard.startup).

    ``pages_changed`` changes no row: what the page shows is the same, so the drawings each
    process keeps under what they show (``boomcard.page_fragments.drawn_once``: the page's frame,
    the line cards, the forms) are found again. ``redraw`` drops those too before each view (not
    timed): the first view after a change to what the page itself shows, every part drawn anew."""
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(customer.user)
    anonymous = Client(HTTP_HOST="127.0.0.1")
    seconds: dict[str, list[float]] = {page.name: [] for page in page_list}
    startup_objects_freeze()
    try:
        for _ in range(rounds):
            for page in page_list:
                visitor = client if page.logged_in else anonymous
                for _ in range(views):
                    if page.logged_in:
                        pages_changed([customer.user.pk])
                        if redraw:
                            caches["fragments"].clear()
                    started = time.perf_counter()
                    answer = visitor.get(page.path)
                    seconds[page.name].append(time.perf_counter() - started)
                    if answer.status_code != 200:
                        raise RuntimeError(f"{page.path}: {answer.status_code} in the test client")
    finally:
        gc.unfreeze()
    return seconds


@dataclass
class PagesResult:
    runs: dict[str, list[WrkResult]] = field(default_factory=dict)
    queries: dict[str, Queries] = field(default_factory=dict)
    cold: dict[str, list[float]] = field(default_factory=dict)  # seconds per cold view, in-process

    def cold_ms(self, name: str) -> float:
        return statistics.median(self.cold[name]) * 1000

    def cold_ratio(self, name: str) -> float:
        """/ping's median time in-process over the page's median time when cold."""
        return self.cold_ms("ping") / self.cold_ms(name)

    # The same, with every drawing each process keeps dropped too (``cold_views``'s ``redraw``).
    redrawn: dict[str, list[float]] = field(default_factory=dict)

    def redrawn_ms(self, name: str) -> float:
        return statistics.median(self.redrawn[name]) * 1000

    def redrawn_ratio(self, name: str) -> float:
        return self.redrawn_ms("ping") / self.redrawn_ms(name)

    # Each logged-in page under wrk with a change before every request (bench/wsgi.py), right
    # after the page warm in each round: for each kind of change (``CHANGES``), its runs by page,
    # and the share of the views that built the page in a run of the same after the rounds
    # (``_built_share``).
    after: dict[str, dict[str, list[WrkResult]]] = field(default_factory=dict)
    built: dict[str, dict[str, float]] = field(default_factory=dict)

    def after_ratio(self, change: str, name: str) -> float:
        """The median over the rounds of the page's rate, every view after ``change``, over /ping's."""
        pairs = zip(self.after[change][name], self.runs["ping"], strict=True)
        return statistics.median(page.requests_per_second / ping.requests_per_second for page, ping in pairs)

    def after_cold_ratio(self, change: str, name: str) -> float:
        """The page's rate were every view after ``change`` to build it, over /ping's, at least:
        ``after_ratio`` with the views that met the page built (``built``) taken out, each as if it
        had cost a warm view's time (it cost more: the change, and after a notice the user read
        again). Of the time N views take at the rate measured, the built share s took at most
        N/measured - (1 - s)N/warm: the cold rate is at least s / (1/measured - (1 - s)/warm)."""
        measured, share = self.after_ratio(change, name), self.built.get(change, {}).get(name, 0.0)
        return share / (1 / measured - (1 - share) / self.ratio(name))

    # /ping behind no middleware, measured in each round right after /ping (bench/middleware.py).
    bare: list[WrkResult] = field(default_factory=list)
    stack: StackCosts | None = None

    def stack_ratio(self) -> float:
        """/ping's rate over the bare view's, the median over the rounds."""
        return statistics.median(
            ping.requests_per_second / bare.requests_per_second
            for ping, bare in zip(self.runs["ping"], self.bare, strict=True)
        )

    def rate(self, name: str) -> float:
        return statistics.median(run.requests_per_second for run in self.runs[name])

    def ratio(self, name: str) -> float:
        """The median over the rounds of the page's rate over /ping's in the same round."""
        pairs = zip(self.runs[name], self.runs["ping"], strict=True)
        return statistics.median(page.requests_per_second / ping.requests_per_second for page, ping in pairs)


def measure(
    base_url: str, customer: PageCustomer, *, rounds: int, seconds: int, connections: int, log: bool = True
) -> PagesResult:
    """Each page in turn, ``rounds`` times over (so that a slow spell of the machine falls on
    every page alike), after a short warm-up of each."""
    page_list = pages(customer)
    cookies = log_in(base_url, customer.phone, customer.password)
    result = PagesResult()
    for page in page_list:
        page_check(base_url, page, cookies)
        result.runs[page.name] = []
    result.queries = query_counts(customer, page_list)
    result.cold = cold_views(customer, page_list, views=COLD_VIEWS, rounds=COLD_ROUNDS)
    result.redrawn = cold_views(customer, page_list, views=COLD_VIEWS, rounds=COLD_ROUNDS, redraw=True)
    headers = {page.name: {"Cookie": _cookie_header(cookies)} if page.logged_in else {} for page in page_list}
    result.stack = stack_costs(_cookie_header({name: cookies[name] for name in ("sessionid", CUSTOMER_COOKIE)}))
    bare = Page("bare", BARE_PREFIX + "/ping", logged_in=False, expect="ok")
    page_check(base_url, bare, cookies)
    headers[bare.name] = {}
    for page in [*page_list, bare]:
        wrk(base_url + page.path, seconds=2, connections=connections, headers=headers[page.name])
    changed_headers = {"X-Bench-Changed": str(customer.user.pk)}

    def after_change(change: Change, page: Page) -> WrkResult:
        """wrk on ``page`` with ``change`` made before each request (bench/wsgi.py)."""
        url = base_url + change.prefix + page.path
        return _checked(
            wrk(
                url,
                seconds=max(2, seconds // 2),
                connections=connections,
                headers={**headers[page.name], **changed_headers},
            )
        )

    for round_number in range(1, rounds + 1):
        for page in [*page_list[:1], bare, *page_list[1:]]:
            run = _checked(
                wrk(base_url + page.path, seconds=seconds, connections=connections, headers=headers[page.name])
            )
            (result.bare if page is bare else result.runs[page.name]).append(run)
            if log:
                print(f"  round {round_number} {page.name:10} {run.requests_per_second:9.1f} req/s", flush=True)
            if not page.logged_in:
                continue
            for change in CHANGES:
                cold = after_change(change, page)
                result.after.setdefault(change.name, {}).setdefault(page.name, []).append(cold)
                if log:
                    print(
                        f"  round {round_number} {page.name:10} {cold.requests_per_second:9.1f} req/s {change.name}",
                        flush=True,
                    )
    # How many of those views built their page: counted in a run of their own for each page and
    # change, as in the rounds, since counting costs Redis and this process a little.
    for page in page_list:
        if not page.logged_in:
            continue
        for change in CHANGES:
            with redis_stores() as stores:
                after_change(change, page)
            built = result.built.setdefault(change.name, {})[page.name] = _built_share(stores)
            if log:
                print(f"  {page.name:10} {built:.1%} of the views built the page after {change.label}", flush=True)
    for page in page_list:
        page_check(base_url, page, cookies)  # still logged in: no run measured the log-in page
    return result


def _built_share(stores: Counter[str]) -> float:
    """Of the views after a change, the share that built their page rather than met it built by
    another view since their own change: the pages stored (``page``) over the changes (each
    stores the customer's pages ``generation``). With many connections on one customer, a view
    may meet the page another built: the cold rate is the cold view's only if it did not."""
    return stores["page"] / max(1, stores["generation"])


def _checked(run: WrkResult) -> WrkResult:
    if run.bad_responses or run.socket_errors:
        raise RuntimeError(f"{run.url}: {run.bad_responses} bad answers, {run.socket_errors} socket errors")
    return run
