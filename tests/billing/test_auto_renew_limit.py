"""The customer's monthly spending limit on auto-renew (issue 18): a charge past it is not made
and the customer is told once, a charge within it is, earlier payments in the month count, two
lines charged at once cannot both pass it, and the controls' page warns before a charge it would
refuse; on the real stack (PostgreSQL, localstripe through the stripe SDK)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Notice, User
from accounts.notice_text import notice_text
from billing import services, sweeps
from billing.models import Order, PaymentProfile
from plans.models import Line, Plan
from plans.services import bucket_grant
from tests.billing.auto_renew import HOUR, control, signed_in, turned_on
from tests.factories import LineFactory

pytestmark = pytest.mark.django_db


def test_a_charge_past_the_limit_is_not_made_and_the_customer_is_told_once(
    line: Line, customer: User, card: Callable[[str], str]
) -> None:
    expiry = turned_on(line, card)
    client = signed_in(customer)
    assert "Your monthly limit is saved." in control(client, line, action="cap", cap="30").content.decode()
    assert PaymentProfile.objects.get(user=customer).monthly_cap_minor == 3000
    sweeps.auto_renew_run(now=expiry - 71 * HOUR)
    assert sweeps.auto_renew_run(now=expiry - 47 * HOUR) == 1  # tried: refused by the limit
    assert sweeps.auto_renew_run(now=expiry - 46 * HOUR) == 0
    [order] = Order.objects.all()
    assert (order.status, order.failure_code, order.payment_intent_id) == (Order.Status.FAILED, "spending_cap", None)
    [notice] = Notice.objects.filter(user=customer, kind=Notice.Kind.PAYMENT_NEEDED)
    assert notice.link == reverse("billing:pay", args=[order.public_id])
    assert "monthly limit of ¥30.00" in notice_text(notice).body
    with translation.override("zh-hans"):
        assert "每月限额 ¥30.00" in notice_text(notice).body
    assert "refused by your monthly limit" in client.get(reverse("plans:line", args=[line.pk])).content.decode()


def test_a_charge_within_the_limit_is_made(line: Line, customer: User, card: Callable[[str], str]) -> None:
    expiry = turned_on(line, card)
    control(signed_in(customer), line, action="cap", cap="38")  # exactly the price: allowed
    sweeps.auto_renew_run(now=expiry - 71 * HOUR)
    assert sweeps.auto_renew_run(now=expiry - 47 * HOUR) == 1
    assert Order.objects.get().status == Order.Status.FULFILLED


def test_payments_earlier_in_the_month_count_against_the_limit(
    line: Line, customer: User, card: Callable[[str], str], fulfilled_order: Order
) -> None:
    """The customer paid ¥38.00 by hand this month: a limit of ¥50.00 leaves no room for ¥38.00."""
    turned_on(line, card)
    Line.objects.filter(pk=line.pk).update(expires_at=timezone.now() + 30 * HOUR)
    control(signed_in(customer), line, action="cap", cap="50")
    order = services.auto_renew_charge(line=line)
    assert order is not None
    assert (order.status, order.failure_code) == (Order.Status.FAILED, "spending_cap")


@pytest.mark.django_db(transaction=True)
def test_two_lines_charged_at_once_do_not_both_pass_the_limit(
    customer: User, plans: dict[str, Plan], card: Callable[[str], str]
) -> None:
    now = timezone.now()
    lines = []
    for _ in range(2):
        line = LineFactory.create(owner=customer)
        bucket_grant(line=line, plan=plans["basic-10"], now=now - timedelta(days=29))
        lines.append(line)
    for line in lines:
        turned_on(line, card)
    services.spending_cap_set(user=customer, cap_minor=5000)  # room for one ¥38.00 charge
    start = threading.Barrier(2)
    results: list[Any] = [None, None]

    def charge(index: int) -> None:
        try:
            start.wait(timeout=30)
            results[index] = services.auto_renew_charge(line=lines[index], now=now)
        except BaseException as error:  # reported by the test
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=charge, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(isinstance(result, Order) for result in results), results
    statuses = sorted((order.status, order.failure_code) for order in Order.objects.all())
    assert statuses == [(Order.Status.FAILED, "spending_cap"), (Order.Status.FULFILLED, "")]


def test_the_page_warns_before_a_charge_the_limit_would_refuse(
    line: Line, customer: User, card: Callable[[str], str]
) -> None:
    turned_on(line, card)
    english = signed_in(customer)
    warning = "past your monthly limit, so it will not be made."
    control(english, line, action="cap", cap="30")  # the next charge is ¥38.00
    page = english.get(reverse("billing:auto_renew", args=[line.pk])).content.decode()
    assert warning in page
    control(english, line, action="cap", cap="38")  # exactly the charge: within the limit
    page = english.get(reverse("billing:auto_renew", args=[line.pk])).content.decode()
    assert warning not in page
    assert "Your limit: ¥38.00 a month." in page
