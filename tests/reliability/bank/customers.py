"""The bank test's customers, renewing their lines over real HTTP from one or two browsers at once."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlparse

import requests
from django.conf import settings as django_settings
from django.urls import resolve, reverse
from django.utils import timezone

from accounts.models import User
from billing.models import Order
from plans.models import Line, Plan
from tests.card_payments import CardPayment, pay_by_card
from tests.factories import LineFactory, UserFactory
from tests.reliability.bank import CARD_DECLINED, CARD_OK, CUSTOMERS, PAY_TRIES, PLANS, ROUNDS
from tests.reliability.bank.record import Record, send, site_answers_recorded
from tests.reliability.conftest import stripe_api, stripe_card


@dataclass
class Job:
    """One browser's work: its lines, renewed ROUNDS times each."""

    number: int
    user: User
    lines: list[Line]


def make_customers(plan: Plan) -> list[Job]:
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
        form = send(record, "GET renew", lambda: browser.get(renew_url, timeout=60))
        if form is None or form.status_code != 200:
            time.sleep(0.5)
            continue
        data = {"plan": plan, "csrfmiddlewaretoken": browser.cookies[django_settings.CSRF_COOKIE_NAME]}
        posted = send(
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

        with site_answers_recorded(browser, record):
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
    send(record, "GET order", lambda: browser.get(base + reverse("billing:order", args=[public_id]), timeout=60))


def browse(job: Job, browser: requests.Session, base: str, localstripe: str, record: Record) -> None:
    try:
        for round_no in range(ROUNDS):
            for k, line in enumerate(job.lines):
                _renew(browser, line, job.number + k + round_no, base, localstripe, record)
    except Exception as error:  # reported with the rest: one broken browser must not hide others
        record.problem(f"browser {job.number} stopped: {error!r}")
    finally:
        browser.close()
