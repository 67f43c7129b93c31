"""Shared fixtures. The suite runs on the real stack: PostgreSQL and Redis on this machine."""

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone, translation

from accounts import sms
from accounts.models import User
from plans.demo import seed_catalogue
from plans.models import Line, Plan
from plans.services import bucket_grant
from tests.card_payments import CARDS
from tests.factories import CUSTOMER_EMAIL, CUSTOMER_PHONE, LineFactory, UserFactory
from tests.helpers import free_port, reachable


def pytest_sessionstart(session: pytest.Session) -> None:
    """Fail at once, saying which part is missing, rather than with a hundred connection errors."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "boomcard.postgresql":
        pytest.exit("The suite needs PostgreSQL: set DATABASE_URL=postgres://... (make test does).", returncode=2)
    if not reachable(f"postgres://{database['HOST']}:{database['PORT'] or 5432}", 5432):
        pytest.exit(
            f"PostgreSQL is not answering on {database['HOST']}:{database['PORT']}. "
            "Start it (make services) and run again.",
            returncode=2,
        )
    if not settings.REDIS_URL or not reachable(settings.REDIS_URL, 6379):
        pytest.exit(
            f"Redis is not answering at {settings.REDIS_URL!r}. Start it (make services) and run again.", returncode=2
        )


@pytest.fixture(autouse=True)
def sms_outbox() -> Iterator[list[sms.SmsMessage]]:
    """The SMS messages the app sent during the test (the locmem backend)."""
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Tests read messages in English unless they switch; the Chinese pages have their own tests."""
    with translation.override("en"):
        yield


@pytest.fixture
def client() -> Client:
    """A browser that asks for English pages."""
    return Client(headers={"Accept-Language": "en"})


# --- localstripe: the fake Stripe server, driven by the real SDK over HTTP ---------------------


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    """One localstripe process for the session, on a free port, state in memory."""
    import subprocess
    import sys
    import tempfile
    import time
    from pathlib import Path

    port = free_port()
    # A file, not a pipe: a pipe nobody reads fills up and freezes localstripe mid-suite.
    log = tempfile.NamedTemporaryFile(prefix="localstripe-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_localstripe", "--port", str(port), "--webhook-url", "http://127.0.0.1:9/"],
        cwd=Path(__file__).resolve().parents[1],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            errors = Path(log.name).read_text(errors="replace")
            pytest.fail(f"localstripe did not start: {errors[-2000:]}", pytrace=False)
        if reachable(url, port):
            break
        time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("localstripe did not answer within 20 s", pytrace=False)
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def localstripe(localstripe_url: str, settings: Any) -> str:
    """Point the gateway at localstripe, with no objects left from another test."""
    import requests

    requests.delete(f"{localstripe_url}/_config/data", timeout=10).raise_for_status()
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_JS_URL = f"{localstripe_url}/js.stripe.com/v3/"
    return localstripe_url


@pytest.fixture
def card(localstripe: str):
    """``card("ok")``: a PaymentMethod id for a test card, made on localstripe as the page would."""

    def make(kind: str = "ok") -> str:
        response = requests.post(
            f"{localstripe}/v1/payment_methods",
            data={
                "type": "card",
                "card[number]": CARDS[kind],
                "card[exp_month]": "12",
                "card[exp_year]": "2034",
                "card[cvc]": "123",
            },
            auth=("sk_test_boom_local", ""),
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["id"])

    return make


@pytest.fixture
def midday() -> Iterator[datetime]:
    """The clock set back to the last noon of the usage day's zone, and running. A test that puts
    usage minutes or hours before now, and expects it on today, holds whenever the suite runs: at
    00:01 in Shanghai "ten minutes ago" is yesterday."""
    now = timezone.now().astimezone(ZoneInfo(settings.USAGE_DAY_TIME_ZONE))
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    if noon > now:
        noon -= timedelta(days=1)
    with time_machine.travel(noon, tick=True):
        yield noon


# --- the customer and the catalogue ----------------------------------------------------------


@pytest.fixture
def customer(db: Any) -> User:
    """A customer who logs in with CUSTOMER_PHONE (typed 13800138000) or CUSTOMER_EMAIL and PASSWORD."""
    return UserFactory.create(phone=CUSTOMER_PHONE, email=CUSTOMER_EMAIL)


@pytest.fixture
def staff(db: Any) -> User:
    """A superuser who logs in as "ops" with PASSWORD."""
    return UserFactory.create(username="ops", is_staff=True, is_superuser=True)


@pytest.fixture
def plans(db: Any) -> dict[str, Plan]:
    """The demo catalogue, by slug."""
    return seed_catalogue()


@pytest.fixture
def line(customer: User, plans: dict[str, Plan]) -> Line:
    """The customer's line on basic-10 with 10 days left."""
    from datetime import timedelta

    from django.utils import timezone

    line = LineFactory.create(owner=customer)
    bucket_grant(line=line, plan=plans["basic-10"], now=timezone.now() - timedelta(days=20))
    line.refresh_from_db()
    return line


@pytest.fixture
def sdk(localstripe: str) -> Any:
    """The app's Stripe client (billing.gateway.client()), talking to localstripe."""
    from billing import gateway

    return gateway.client()


@pytest.fixture
def stripe_customer(sdk: Any) -> str:
    """A customer at localstripe, by id."""
    return str(sdk.v1.customers.create(params={"email": "buyer@example.com"}).id)
