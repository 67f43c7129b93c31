"""The customer's controls of auto-renew (issue 18): the notice 24 hours before each charge,
'skip this renewal' and the plan of the next renewal, each once per expiry; their scope and bad
input; the line page. On the real stack (PostgreSQL, localstripe through the stripe SDK). The
monthly spending limit: test_auto_renew_limit.py."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import cache, caches
from django.core.exceptions import ValidationError
from django.db import connections
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import EmailDelivery, Notice, User
from accounts.notice_text import notice_text
from accounts.outbox import email_send
from billing import services, sweeps
from billing.models import AutoRenewal, Order, PaymentProfile
from boomcard.formats import date_time
from plans.models import Line, Plan
from plans.services import bucket_grant
from tests.billing.auto_renew import HOUR, control, signed_in, turned_on, upcoming
from tests.factories import LineFactory, UserFactory

pytestmark = pytest.mark.django_db

# --- The notice before the charge ---------------------------------------------------------------


def test_the_notice_goes_out_once_72_hours_before_expiry_with_its_email_and_the_charge_24_hours_later(
    line: Line, customer: User, card: Callable[[str], str]
) -> None:
    expiry = turned_on(line, card)
    assert sweeps.auto_renew_run(now=expiry - 73 * HOUR) == 0
    assert upcoming(line) == []  # not earlier

    for _ in range(2):  # the hourly run, twice: one notice
        assert sweeps.auto_renew_run(now=expiry - 71 * HOUR) == 0
    [notice] = upcoming(line)
    assert notice.link == reverse("billing:auto_renew", args=[line.pk])
    # A day after the notice, in the 48 hours before expiry.
    assert notice.params["charge_at"] == (expiry - 47 * HOUR).isoformat()
    text = notice_text(notice)
    assert date_time(expiry - 47 * HOUR) in text.title
    for shown in ("¥38.00", "Visa", "4242", "Basic 10 GB"):
        assert shown in text.body
    with translation.override("zh-hans"):
        assert "基础套餐 10GB" in notice_text(notice).body
    delivery = EmailDelivery.objects.get(notice=notice)
    assert email_send(delivery_id=delivery.pk) == "sent"
    assert mail.outbox[-1].to == [customer.email]
    assert "4242" in mail.outbox[-1].body
    assert AutoRenewal.objects.get(line=line, expires_at=expiry).notified_at == expiry - 71 * HOUR

    # 48 hours before expiry is 23 hours after the notice: not yet; an hour later it is charged.
    assert sweeps.auto_renew_run(now=expiry - 48 * HOUR) == 0
    assert not Order.objects.exists()
    assert sweeps.auto_renew_run(now=expiry - 47 * HOUR + timedelta(minutes=1)) == 1
    assert sweeps.auto_renew_run(now=expiry - 46 * HOUR) == 0
    [order] = Order.objects.all()
    assert (order.status, order.renews_expiry, order.amount_minor) == (Order.Status.FULFILLED, expiry, 3800)
    assert len(upcoming(line)) == 1


@pytest.mark.parametrize(("told", "charged"), [(30, 6), (10, 1)])
def test_a_late_notice_moves_the_charge_later_but_never_past_an_hour_before_expiry(
    line: Line, card: Callable[[str], str], told: int, charged: int
) -> None:
    expiry = turned_on(line, card)
    assert sweeps.auto_renew_run(now=expiry - told * HOUR) == 0
    assert len(upcoming(line)) == 1
    assert sweeps.auto_renew_run(now=expiry - (charged + 1) * HOUR) == 0
    assert sweeps.auto_renew_run(now=expiry - charged * HOUR + timedelta(minutes=1)) == 1


# --- Skip ---------------------------------------------------------------------------------------


def test_a_skipped_renewal_is_not_charged_is_reminded_and_the_next_expiry_is_charged(
    line: Line, customer: User, plans: dict[str, Plan], card: Callable[[str], str]
) -> None:
    expiry = turned_on(line, card)
    sweeps.auto_renew_run(now=expiry - 71 * HOUR)
    page = control(signed_in(customer), line, action="skip").content.decode()
    assert "This renewal is skipped." in page
    assert "Next automatic charge: skipped" in page

    assert sweeps.auto_renew_run(now=expiry - 40 * HOUR) == 0
    assert sweeps.auto_renew_run(now=expiry - HOUR + timedelta(minutes=5)) == 0
    assert not Order.objects.exists()
    # Not auto-renewing this time: the customer gets the usual reminder a day before.
    assert sweeps.renewal_reminders_send(now=expiry - 23 * HOUR) == 1
    assert Notice.objects.filter(line_ref=line.pk, kind=Notice.Kind.RENEWAL_REMINDER, params__days=1).exists()

    # Renewed by hand: the next expiry is announced and charged as usual.
    bucket_grant(line=line, plan=plans["basic-10"], now=expiry - 20 * HOUR)
    line.refresh_from_db()
    next_expiry = line.expires_at
    assert next_expiry is not None
    assert next_expiry > expiry
    assert sweeps.auto_renew_run(now=next_expiry - 71 * HOUR) == 0
    assert len(upcoming(line)) == 2
    assert sweeps.auto_renew_run(now=next_expiry - 47 * HOUR) == 1
    assert Order.objects.get().renews_expiry == next_expiry


def test_undoing_the_skip_before_the_charge_charges_it(line: Line, customer: User, card: Callable[[str], str]) -> None:
    expiry = turned_on(line, card)
    sweeps.auto_renew_run(now=expiry - 71 * HOUR)
    client = signed_in(customer)
    control(client, line, action="skip")
    assert "This renewal will be charged." in control(client, line, action="unskip").content.decode()
    assert sweeps.auto_renew_run(now=expiry - 47 * HOUR) == 1
    assert Order.objects.get().status == Order.Status.FULFILLED


def test_skipping_is_refused_once_the_renewal_is_charged(
    line: Line, customer: User, card: Callable[[str], str]
) -> None:
    expiry = turned_on(line, card)
    sweeps.auto_renew_run(now=expiry - 71 * HOUR)
    assert sweeps.auto_renew_run(now=expiry - 47 * HOUR) == 1
    # The line's expiry moved; the old expiry's renewal is the charged one.
    old = Line(pk=line.pk, owner=customer, auto_renew=True, expires_at=expiry)
    with pytest.raises(ValidationError) as refused:
        services.auto_renew_skip(line=old, skipped=True)
    assert refused.value.code == "already_charged"
    assert AutoRenewal.objects.get(line=line, expires_at=expiry).skipped_at is None


def test_a_skip_posted_while_the_order_exists_says_so_on_the_page(
    line: Line, customer: User, card: Callable[[str], str]
) -> None:
    """A charge that did not go through keeps the expiry: the skip is refused in words, no 500."""
    expiry = turned_on(line, card)
    PaymentProfile.objects.filter(user=customer).update(monthly_cap_minor=100)
    sweeps.auto_renew_run(now=expiry - 71 * HOUR)
    sweeps.auto_renew_run(now=expiry - 47 * HOUR)
    response = control(signed_in(customer), line, action="skip")
    assert response.status_code == 200
    assert "This renewal has already been charged" in response.content.decode()


# --- Change the plan of the next renewal ----------------------------------------------------------


def test_the_plan_chosen_for_the_next_renewal_is_announced_and_charged(
    line: Line, customer: User, plans: dict[str, Plan], card: Callable[[str], str]
) -> None:
    expiry = turned_on(line, card)
    page = control(signed_in(customer), line, action="next_plan", plan="basic-30").content.decode()
    assert "The next renewal will use this plan." in page
    assert "Basic 30 GB, ¥68.00" in page
    sweeps.auto_renew_run(now=expiry - 71 * HOUR)
    [notice] = upcoming(line)
    assert "Basic 30 GB" in notice_text(notice).body
    assert "¥68.00" in notice_text(notice).body
    assert sweeps.auto_renew_run(now=expiry - 47 * HOUR) == 1
    order = Order.objects.get()
    assert (order.plan.code, order.amount_minor, order.kind) == ("basic-30", 6800, Order.Kind.CHANGE)
    assert order.status == Order.Status.FULFILLED
    line.refresh_from_db()
    assert line.plan == plans["basic-30"]


# --- Scope and bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"action": "skip"},
        {"action": "unskip"},
        {"action": "next_plan", "plan": "basic-30"},
        {"action": "cap", "cap": "10"},
    ],
)
def test_another_customers_line_is_not_found(line: Line, card: Callable[[str], str], data: dict[str, str]) -> None:
    turned_on(line, card)
    stranger = UserFactory.create()
    response = signed_in(stranger).post(reverse("billing:auto_renew", args=[line.pk]), data)
    assert response.status_code == 404
    assert not AutoRenewal.objects.exists()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"action": "cap", "cap": "abc"}, "Enter the limit as an amount"),
        ({"action": "cap", "cap": "-5"}, "Enter an amount above zero."),
        ({"action": "cap", "cap": "0"}, "Enter an amount above zero."),
        ({"action": "cap", "cap": "1.234"}, "Enter the limit as an amount"),
        ({"action": "cap", "cap": "NaN"}, "Enter the limit as an amount"),
        ({"action": "cap", "cap": "9" * 12}, "Enter a smaller amount."),
        ({"action": "next_plan", "plan": "no such plan!"}, "This plan is not on sale."),
        ({"action": "next_plan", "plan": "flex"}, "This plan is not on sale."),
        ({"action": "next_plan", "plan": "topup-5"}, "This plan is not on sale."),
        ({"action": "next_plan"}, "This field is required."),
    ],
)
def test_bad_input_is_a_form_error_not_a_server_error(
    line: Line, customer: User, card: Callable[[str], str], data: dict[str, str], error: str
) -> None:
    turned_on(line, card)
    response = control(signed_in(customer), line, **data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert PaymentProfile.objects.get(user=customer).monthly_cap_minor is None
    assert not AutoRenewal.objects.filter(plan__isnull=False).exists()


def test_the_limit_is_removed_with_an_empty_amount(line: Line, customer: User, card: Callable[[str], str]) -> None:
    turned_on(line, card)
    client = signed_in(customer)
    control(client, line, action="cap", cap="99.50")
    assert PaymentProfile.objects.get(user=customer).monthly_cap_minor == 9950
    assert "Your monthly limit is removed." in control(client, line, action="cap", cap="").content.decode()
    assert PaymentProfile.objects.get(user=customer).monthly_cap_minor is None


# --- The line page ------------------------------------------------------------------------------


def test_the_line_page_shows_the_next_charge_in_english_and_chinese(
    line: Line, customer: User, card: Callable[[str], str], django_assert_num_queries: Any
) -> None:
    expiry = turned_on(line, card)
    url = reverse("plans:line", args=[line.pk])
    english = signed_in(customer)
    cache.clear()
    caches["fragments"].clear()
    # Cold: the line page's pinned count (5, tests/plans/test_balances.py), and one for the next charge.
    with django_assert_num_queries(6):
        page = english.get(url).content.decode()
    # In the customer's time zone (the default one: they chose none).
    with timezone.override(settings.CUSTOMER_DEFAULT_TIME_ZONE):
        when = date_time(expiry - 48 * HOUR)
    assert f"Next automatic charge: {when}, Basic 10 GB, ¥38.00 on Visa •••• 4242" in page
    # A skip shows at once (the page's cache is dropped and its key changes).
    control(english, line, action="skip")
    assert "Next automatic charge: skipped" in english.get(url).content.decode()
    control(english, line, action="unskip")
    User.objects.filter(pk=customer.pk).update(language="zh-hans")  # the customer's own choice
    customer.refresh_from_db()
    chinese = signed_in(customer, "zh-hans").get(url).content.decode()
    assert f"下次自动扣款：{when}，基础套餐 10GB，¥38.00，从 Visa •••• 4242 扣款" in chinese
    assert "基础套餐 10GB" in chinese


@pytest.mark.django_db(transaction=True)
def test_a_skip_and_the_charge_at_once_either_skip_or_charge_never_both(
    customer: User, plans: dict[str, Plan], card: Callable[[str], str]
) -> None:
    now = timezone.now()
    line = LineFactory.create(owner=customer)
    bucket_grant(line=line, plan=plans["basic-10"], now=now - timedelta(days=29))
    expiry = turned_on(line, card)
    line.refresh_from_db()
    start = threading.Barrier(2)
    results: list[Any] = [None, None]

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            start.wait(timeout=30)
            results[index] = call()
        except BaseException as error:  # reported by the test
            results[index] = error
        finally:
            connections.close_all()

    calls = [
        lambda: services.auto_renew_charge(line=line, now=now),
        lambda: services.auto_renew_skip(line=line, skipped=True),
    ]
    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    renewal = AutoRenewal.objects.get(line=line, expires_at=expiry)
    if renewal.skipped_at is None:  # the charge came first: the skip was refused
        assert isinstance(results[1], ValidationError)
        assert Order.objects.get().status == Order.Status.FULFILLED
    else:  # the skip came first: nothing charged
        assert results == [None, None]
        assert not Order.objects.exists()


def test_lines_that_cannot_be_announced_never_hold_the_others_back(
    customer: User, plans: dict[str, Plan], card: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines on the flexible plan (auto-renew cannot charge it), or without a saved card, expiring
    first stay unannounced in every run; the sweep reads on past them, a page at a time."""
    now = timezone.now()
    stuck = [LineFactory.create(owner=customer, status=Line.Status.ACTIVE) for _ in range(3)]
    for n, each in enumerate(stuck):
        Line.objects.filter(pk=each.pk).update(
            plan=plans["flex"], expires_at=now + timedelta(hours=60 + n), auto_renew=True
        )
    # And a line of another customer with auto-renew on and no saved card.
    cardless = LineFactory.create(owner=UserFactory.create(), status=Line.Status.ACTIVE)
    Line.objects.filter(pk=cardless.pk).update(
        plan=plans["basic-10"], expires_at=now + timedelta(hours=59), auto_renew=True
    )
    stuck.append(cardless)
    later = LineFactory.create(owner=customer, status=Line.Status.ACTIVE)
    bucket_grant(line=later, plan=plans["basic-10"], now=now - timedelta(days=30) + timedelta(hours=66))
    assert turned_on(later, card) == now + timedelta(hours=66)  # after the three stuck ones
    monkeypatch.setattr(sweeps, "BATCH", 2)
    assert sweeps.auto_renew_notices_send(now=now) == 1
    assert len(upcoming(later)) == 1
    assert not Notice.objects.filter(line_ref__in=[each.pk for each in stuck]).exists()
