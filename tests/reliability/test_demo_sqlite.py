"""The demo (``make run``) on SQLite: the order page and Stripe's webhook racing for one order,
and more requests meanwhile, all wait their turn for the database instead of failing with
"database is locked" (a 500), and the order is fulfilled once.

The site runs as ``make run`` runs it (``manage.py runserver``, threaded, the development
settings) on a SQLite database of its own, against this test's localstripe.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import requests

from accounts.demo import DEMO_PASSWORD, DEMO_PHONE
from tests.billing.stripe_events import event_body, stripe_get, stripe_signature
from tests.card_payments import card_prepare, stripe_js_confirm
from tests.celery_worker import REPO_DIR, wait_until
from tests.helpers import free_port, reachable

pytestmark = pytest.mark.timeout(240)

DEMO_LINE = "+8617012345678"  # the first demo line, on basic-30
WEBHOOK_SECRET = "whsec_boom_local"  # the development settings' default
ROUNDS = 3
PAGES, WEBHOOKS = 4, 4  # requests at once per round


def _demo_env(database: Path, localstripe: str) -> dict[str, str]:
    """``make run``'s environment, on ``database``, against this test's localstripe."""
    return {
        **os.environ,
        "DJANGO_ENV": "development",
        "DATABASE_URL": f"sqlite:///{database}",
        "STRIPE_API_BASE": localstripe,
        "STRIPE_JS_URL": f"{localstripe}/js.stripe.com/v3/",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


MANAGE = [sys.executable, "manage.py"]


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's SQLite database as ``make run`` makes it (migrated, then ``seed_demo``), made
    once for the module; each test runs on a copy. The demo seeds nothing at Stripe."""
    database = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    env = _demo_env(database, "http://127.0.0.1:9")
    for command in (["migrate", "--no-input", "-v0"], ["seed_demo"]):
        subprocess.run([*MANAGE, *command], cwd=REPO_DIR, env=env, check=True, capture_output=True, timeout=180)
    return database


@pytest.fixture
def demo_site(demo_database: Path, tmp_path: Path, localstripe: str) -> Iterator[tuple[str, Path, Path]]:
    """The demo site on a fresh copy of the demo database: its address, the database, the
    server's log."""
    database = tmp_path / "demo.sqlite3"
    with closing(sqlite3.connect(demo_database)) as source, closing(sqlite3.connect(database)) as copy:
        source.backup(copy)
    env = _demo_env(database, localstripe)
    port = free_port()
    log_path = tmp_path / "runserver.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [*MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=REPO_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: server.poll() is None and reachable(f"http://127.0.0.1:{port}", port),
            timeout=30,
            what="the demo site to answer",
            details=lambda: log_path.read_text(errors="replace")[-2000:],
        )
        yield f"http://127.0.0.1:{port}", database, log_path
    finally:
        server.terminate()
        server.wait(timeout=10)


def _log_in(base: str) -> requests.Session:
    browser = requests.Session()
    browser.headers["Accept-Language"] = "en"
    browser.get(f"{base}/accounts/login/", timeout=30)
    answer = browser.post(
        f"{base}/accounts/login/",
        data={"username": DEMO_PHONE, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text[:500]
    assert answer.url == f"{base}/", answer.url
    return browser


def _all_at_once(calls: list[Callable[[], requests.Response]]) -> list[requests.Response | BaseException]:
    start = threading.Barrier(len(calls))
    results: list[requests.Response | BaseException] = [RuntimeError("not run")] * len(calls)

    def run(index: int) -> None:
        try:
            start.wait(timeout=30)
            results[index] = calls[index]()
        except BaseException as error:  # reported by the test
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _rows(database: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=20) as db:
        return list(db.execute(sql, params).fetchall())


def test_order_page_and_webhook_racing_on_the_demos_sqlite_fulfil_once_without_an_error(
    demo_site: tuple[str, Path, Path], localstripe: str, card: Callable[[str], str]
) -> None:
    base, database, log_path = demo_site
    browser = _log_in(base)
    [(line_id,)] = _rows(database, "SELECT id FROM plans_line WHERE msisdn = ?", DEMO_LINE)
    failures: list[str] = []

    for _round in range(ROUNDS):
        browser.get(f"{base}/lines/{line_id}/renew/", timeout=30)
        renewed = browser.post(
            f"{base}/lines/{line_id}/renew/",
            data={"plan": "basic-30", "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
            allow_redirects=False,
            timeout=30,
        )
        assert renewed.status_code == 302, renewed.text[:500]
        public_id = renewed.headers["Location"].rstrip("/").split("/")[-2]
        answer = card_prepare(browser, public_id, save_card=True, base=base)
        assert stripe_js_confirm(localstripe, answer["client_secret"], card("3ds"))["paymentIntent"]
        intent = stripe_get(localstripe, f"/v1/payment_intents/{answer['client_secret'].split('_secret_')[0]}")
        bodies = [event_body("payment_intent.succeeded", intent) for _ in range(2)]

        def page(order_url: str = f"{base}/billing/orders/{public_id}/") -> requests.Response:
            tab = requests.Session()
            tab.cookies.update(browser.cookies)
            return tab.get(order_url, timeout=60)

        def webhook(body: bytes) -> Callable[[], requests.Response]:
            headers = {"Stripe-Signature": stripe_signature(body, secret=WEBHOOK_SECRET)}
            return lambda: requests.post(f"{base}/stripe/webhook/", data=body, headers=headers, timeout=60)

        results = _all_at_once([page] * PAGES + [webhook(bodies[i % 2]) for i in range(WEBHOOKS)])

        for result in results:
            if isinstance(result, BaseException):
                failures.append(f"{public_id}: {result!r}")
            elif result.status_code != 200:
                failures.append(f"{public_id}: {result.request.method} {result.url} -> {result.status_code}")
        [(order_pk, status)] = _rows(database, "SELECT id, status FROM billing_order WHERE public_id = ?", public_id)
        assert status == "fulfilled"
        granted = "SELECT COUNT(*) FROM billing_orderitem WHERE order_id = ? AND bucket_id IS NOT NULL"
        assert _rows(database, granted, order_pk) == [(1,)]
        assert _rows(database, "SELECT COUNT(*) FROM accounts_notice WHERE key = ?", f"order-fulfilled:{order_pk}") == [
            (1,)
        ]

    log = log_path.read_text(errors="replace")
    assert failures == [], log[-3000:]
    assert "database is locked" not in log
    [(last4,)] = _rows(
        database,
        "SELECT card_last4 FROM billing_paymentprofile p JOIN accounts_user u ON u.id = p.user_id WHERE u.phone = ?",
        DEMO_PHONE,
    )
    assert last4 == "3155"


def test_home_and_line_pages_read_the_demos_sqlite_as_they_read_postgresql(
    demo_site: tuple[str, Path, Path],
) -> None:
    """The home page's and the line page's reads are hand-written SQL (plans.summary_sql): on the
    demo's SQLite too they find each line's plan (its Chinese name: the demo customer reads
    Chinese), its live buckets (datetimes compared and read back as datetimes) and its daily use
    (days read back as dates)."""
    base, database, _log = demo_site
    browser = _log_in(base)
    home = browser.get(f"{base}/", timeout=30)
    assert home.status_code == 200
    shown = _rows(
        database,
        "SELECT l.id, l.msisdn, p.name_zh FROM plans_line l JOIN plans_plan p ON p.id = l.plan_id"
        " JOIN accounts_user u ON u.id = l.owner_id WHERE u.phone = ? ORDER BY l.added_at, l.id",
        DEMO_PHONE,
    )
    assert shown
    for line_id, _msisdn, plan in shown:
        assert f'href="/lines/{line_id}/"' in home.text
        assert f" · {plan}</p>" in home.text
    live = "SELECT COUNT(*) FROM plans_bucket WHERE line_id = ? AND is_addon = 0 AND countries = '[]'"
    assert home.text.count('class="meter') >= sum(1 for line_id, _, _ in shown if _rows(database, live, line_id)[0][0])
    assert 'data-updated-at="20' in home.text  # the newest usage record's time, read back as a datetime

    line_id, _msisdn, plan = shown[0]
    page = browser.get(f"{base}/lines/{line_id}/", timeout=30)
    assert page.status_code == 200
    assert plan in page.text
    assert "data-usage-chart" in page.text  # a month of daily use, its days read back as dates
    assert "LPA:1$" in page.text
