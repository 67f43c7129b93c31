"""Fixtures and helpers for the reliability tests: a real Celery worker against real Redis and
PostgreSQL, the site over real HTTP (pytest-django's ``live_server``), and localstripe driven
through its own API (cards, intents paid at Stripe, listings).

The broker is a Redis database of these tests' own (``BROKER_URL``), emptied before each test:
the rest of the suite uses database 15 as the cache and empties it at the start of every test
(``cache.clear()``), which would throw away queued tasks if another test run shared it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import redis
import requests
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import User
from billing.models import Order, OrderItem, PaymentProfile
from boomcard.celery import app as celery_app
from plans.models import Line, Plan
from tests.celery_worker import Worker, celery_worker, database_url
from tests.factories import LineFactory

# TEST_BROKER_URL lets two runs of the suite on one machine use brokers of their own.
BROKER_URL = os.environ.get("TEST_BROKER_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> str:
    """The reliability tests' broker, empty; this process's Celery app publishes to it (the
    tasks the app enqueues on commit), and goes back to the suite's broker afterwards."""
    redis.Redis.from_url(BROKER_URL).flushdb()
    monkeypatch.setitem(celery_app.conf, "broker_url", BROKER_URL)
    # No pooled connections: the next publish opens them to the new broker. (Celery has no
    # public way to say so; these are what its after-fork handler clears.)
    monkeypatch.setattr(celery_app, "_pool", None)
    monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)
    return BROKER_URL


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    """Where the worker's email backend writes one file per email."""
    return tmp_path / "mail"


@pytest.fixture
def worker(broker: str, mail_dir: Path, tmp_path: Path, settings: Any) -> Callable[..., AbstractContextManager[Worker]]:
    """``with worker(email_delay=3, concurrency=2) as w:`` runs a real worker on the test database
    (committed rows only: mark the test ``django_db(transaction=True)``), the test broker and this
    test's localstripe, mailing to ``mail_dir``."""

    def start(*, email_delay: float = 0.0, concurrency: int = 1) -> AbstractContextManager[Worker]:
        return celery_worker(
            database_url=database_url(connection.settings_dict),
            broker_url=broker,
            stripe_api_base=settings.STRIPE_API_BASE,
            mail_dir=mail_dir,
            run_dir=tmp_path / "worker",
            email_delay=email_delay,
            concurrency=concurrency,
        )

    return start


def broker_idle() -> bool:
    """No task waiting in a queue or handed out and not yet acknowledged."""
    client = redis.Redis.from_url(BROKER_URL)
    queued = sum(client.llen(queue) for queue in ("email", "billing", "usage", "celery"))
    return queued == 0 and client.hlen("unacked") == 0


def handed_out_since() -> list[float]:
    """When each task handed to a worker and not yet acknowledged was handed out (Unix time):
    kombu's Redis transport keeps them in the ``unacked_index`` sorted set, scored by that time."""
    entries = redis.Redis.from_url(BROKER_URL).zrange("unacked_index", 0, -1, withscores=True)
    return [float(score) for _tag, score in cast(list[tuple[bytes, float]], entries)]


# --- The site over real HTTP (pytest-django's live_server) and localstripe's own API -----------

STRIPE_AUTH = ("sk_test_boom_local", "")
CARD_OK = "4242424242424242"


def stripe_api(localstripe: str) -> requests.Session:
    """A session on localstripe's API, as the Stripe dashboard or a customer's browser would use."""
    session = requests.Session()
    session.auth = STRIPE_AUTH
    return session


def stripe_card(api: requests.Session, localstripe: str, number: str = CARD_OK) -> str:
    """A PaymentMethod for a test card, made as the page's Stripe.js would make it."""
    response = api.post(
        f"{localstripe}/v1/payment_methods",
        data={
            "type": "card",
            "card[number]": number,
            "card[exp_month]": "12",
            "card[exp_year]": "2034",
            "card[cvc]": "123",
        },
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["id"])


def stripe_list(api: requests.Session, localstripe: str, resource: str) -> list[dict[str, Any]]:
    """Every object of a kind localstripe holds (``payment_intents``, ``charges``), all pages."""
    objects: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        response = api.get(f"{localstripe}/v1/{resource}", params=params, timeout=30)
        response.raise_for_status()
        page = response.json()
        objects.extend(page["data"])
        if not page.get("has_more") or not page["data"]:
            return objects
        params["starting_after"] = page["data"][-1]["id"]


def site_browser(user: User) -> requests.Session:
    """A browser logged in as ``user`` on the live server: the session cookie a log-in would set,
    made without the password (Argon2 is slow on purpose)."""
    client = Client()
    client.force_login(user)
    browser = requests.Session()
    browser.headers["Accept-Language"] = "en"
    browser.cookies.set(settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value)
    return browser


def csrf_from(browser: requests.Session, url: str) -> str:
    """Open a form page as a browser does and return the CSRF token it would post back."""
    page = browser.get(url, timeout=30)
    assert page.status_code == 200, (url, page.status_code, page.text[:500])
    return str(browser.cookies[settings.CSRF_COOKIE_NAME])


def leaks_internals(body: str) -> bool:
    """Whether an error page shows what only the server should know."""
    return any(
        marker in body
        for marker in ("Traceback", 'File "/', "psycopg", "OperationalError", "InterfaceError", "Exception Value")
    )


def orders_paid_at_stripe(owner: User, plan: Plan, localstripe: str, count: int) -> list[tuple[Order, dict[str, Any]]]:
    """``count`` pending orders of ``owner`` for ``plan``, each on a line of its own that
    expires in ten days, each with a PaymentIntent confirmed with card 4242 at localstripe that
    succeeded there (the app has not heard of it yet). Made in bulk, not through the pages.
    Returns the orders and their intents as localstripe gave them."""
    now = timezone.now()
    lines = Line.objects.bulk_create(
        [
            LineFactory.build(
                owner=owner, status=Line.Status.ACTIVE, added_at=now, plan=plan, expires_at=now + timedelta(days=10)
            )
            for _ in range(count)
        ]
    )
    price = plan.prices.get(currency="CNY")
    orders = Order.objects.bulk_create(
        [
            Order(
                user=owner,
                line=each,
                plan=plan,
                kind=Order.Kind.RENEWAL,
                amount_minor=price.amount_minor,
                currency=price.currency,
            )
            for each in lines
        ]
    )
    OrderItem.objects.bulk_create(
        [OrderItem(order=order, position=0, plan=plan, amount_minor=order.amount_minor) for order in orders]
    )
    api = stripe_api(localstripe)
    stripe_customer = api.post(f"{localstripe}/v1/customers", data={"phone": str(owner.phone)}, timeout=10).json()
    PaymentProfile.objects.create(user=owner, stripe_customer_id=stripe_customer["id"])
    payment_method = stripe_card(api, localstripe)
    local = threading.local()

    def pay(order: Order) -> dict[str, Any]:
        if not hasattr(local, "api"):
            local.api = stripe_api(localstripe)
        response = local.api.post(
            f"{localstripe}/v1/payment_intents",
            data={
                "amount": order.amount_minor,
                "currency": order.currency.lower(),
                "customer": stripe_customer["id"],
                "payment_method": payment_method,
                "payment_method_types[]": "card",
                "confirm": "true",
                "metadata[order]": order.public_id,
            },
            timeout=30,
        )
        response.raise_for_status()
        intent = dict(response.json())
        assert intent["status"] == "succeeded", intent
        return intent

    with ThreadPoolExecutor(4) as pool:
        intents = list(pool.map(pay, orders))
    for order, intent in zip(orders, intents, strict=True):
        order.payment_intent_id, order.client_secret = intent["id"], intent["client_secret"]
    Order.objects.bulk_update(orders, ["payment_intent_id", "client_secret"])
    return list(zip(orders, intents, strict=True))
