"""The admin's front page is a dashboard: today's payments per method and currency (today in the
carrier's time zone), failed payments by reason with links to those orders, open support
requests, emails not sent yet and usage batches not applied, in a fixed number of queries, each
panel to staff who may see what it counts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.admin_site import DASHBOARD_PANELS, carrier_day
from accounts.models import EmailDelivery
from billing.models import Order
from plans.models import UsageBatch
from tests.billing.admin_orders import email_make, order_make, support_request_make
from tests.factories import UserFactory
from tests.security.helpers import log_in_with_second_step

pytestmark = pytest.mark.django_db

FRONT_PAGE = reverse("admin:index")
# 09:30 in Shanghai, the carrier's time zone: its day began at 16:00 UTC the day before.
NOW = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)
START_OF_DAY = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def desk(client: Client, staff) -> Client:
    log_in_with_second_step(client, staff)
    return client


def panel(page: str, name: str) -> str:
    match = re.search(rf'<div class="module boom-panel" id="dashboard-{name}">(.*?)\n</div>', page, re.S)
    assert match, f"no {name} panel"
    return match.group(1)


def rows(html: str, row_class: str) -> list[list[str]]:
    """Each row's cells as text, for the rows of ``row_class``."""
    found = []
    for row in re.findall(rf'<tr class="{row_class}">(.*?)</tr>', html, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        found.append([unescape(re.sub(r"<[^>]+>", "", cell)).replace("\xa0", " ").strip() for cell in cells])
    return found


def links(html: str) -> list[str]:
    return [unescape(link) for link in re.findall(r'href="([^"]+)"', html)]


def test_today_is_the_carriers_day():
    assert carrier_day(NOW) == (START_OF_DAY, START_OF_DAY + timedelta(days=1))


def test_todays_payments_are_counted_and_summed_per_method_and_currency(desk, customer, plans, clock):
    plan = plans["basic-30"]
    order_make(customer=customer, plan=plan, method="card", amount_minor=3800)
    # Paid at midnight in Shanghai: today there, though yesterday in UTC.
    order_make(customer=customer, plan=plan, method="card", amount_minor=1200, created_at=START_OF_DAY)
    order_make(customer=customer, plan=plan, method="alipay", amount_minor=5000)
    order_make(customer=customer, plan=plan, method="card", currency="USD", amount_minor=599)
    # Paid today and refunded since: still a payment today.
    order_make(customer=customer, plan=plan, method="wechat_pay", status=Order.Status.REFUNDED, amount_minor=100)
    # A minute before (23:59 in Shanghai) is yesterday's; pending and failed orders are no payments.
    order_make(customer=customer, plan=plan, method="card", created_at=START_OF_DAY - timedelta(minutes=1))
    order_make(customer=customer, plan=plan, status=Order.Status.PENDING)
    order_make(customer=customer, plan=plan, status=Order.Status.FAILED, failure_reason="Your card was declined.")

    page = desk.get(FRONT_PAGE).content.decode()
    payments = panel(page, "payments")
    assert rows(payments, "boom-payment") == [
        ["Alipay", "CNY", "1", "¥50.00"],
        ["Card", "CNY", "2", "¥50.00"],
        ["Card", "USD", "1", "US$5.99"],
        ["WeChat Pay", "CNY", "1", "¥1.00"],
    ]
    assert rows(payments, "boom-currency-total") == [
        ["All methods", "CNY", "4", "¥101.00"],
        ["All methods", "USD", "1", "US$5.99"],
    ]
    # The app list is still there, below.
    assert page.index('id="dashboard-payments"') < page.index('class="app-billing module')


def test_each_payment_row_links_to_the_orders_it_counts(desk, customer, plans, clock):
    plan = plans["basic-30"]
    card = order_make(customer=customer, plan=plan, method="card")
    alipay = order_make(customer=customer, plan=plan, method="alipay")
    order_make(customer=customer, plan=plan, method="card", created_at=START_OF_DAY - timedelta(hours=1))
    payments = panel(desk.get(FRONT_PAGE).content.decode(), "payments")
    alipay_link, card_link = links(payments)[:2]
    assert desk.get(alipay_link).context["cl"].result_list[:] == [alipay]
    assert desk.get(card_link).context["cl"].result_list[:] == [card]


def test_failed_payments_today_are_grouped_by_reason_with_links_to_them(desk, customer, plans, clock):
    plan = plans["basic-30"]
    declined = [
        order_make(customer=customer, plan=plan, status=Order.Status.FAILED, failure_reason="Your card was declined.")
        for _ in range(2)
    ]
    order_make(customer=customer, plan=plan, status=Order.Status.FAILED, failure_reason="Insufficient funds.")
    order_make(customer=customer, plan=plan, status=Order.Status.FAILED)
    with time_machine.travel(START_OF_DAY - timedelta(minutes=5), tick=False):
        order_make(customer=customer, plan=plan, status=Order.Status.FAILED, failure_reason="Your card was declined.")

    failures = panel(desk.get(FRONT_PAGE).content.decode(), "failures")
    assert rows(failures, "boom-failure") == [
        ["Your card was declined.", "2"],
        ["No reason given", "1"],
        ["Insufficient funds.", "1"],
    ]
    assert "4 failed orders in all" in failures
    declined_link = links(failures)[0]
    listed = desk.get(declined_link).context["cl"].result_list
    assert sorted(order.pk for order in listed) == sorted(order.pk for order in declined)
    assert len(desk.get(links(failures)[-1]).context["cl"].result_list) == 4


def test_open_support_requests_unsent_emails_and_pending_usage_batches_are_counted(desk, customer, clock):
    for _ in range(3):
        support_request_make(customer)
    email_make("a@example.com")
    email_make("b@example.com")
    email_make("c@example.com", status=EmailDelivery.Status.FAILED)
    email_make("d@example.com", status=EmailDelivery.Status.SENT)
    UsageBatch.objects.create(records=[[1]] * 3, record_count=3, received_at=NOW - timedelta(minutes=20))
    UsageBatch.objects.create(records=[[1]] * 2, record_count=2)

    page = desk.get(FRONT_PAGE).content.decode()
    support = panel(page, "support")
    assert [count for _status, count in rows(support, "boom-support-status")] == ["3"]
    assert rows(panel(page, "emails"), "boom-email-status") == [
        ["Waiting", "2", "oldest 0 minutes ago"],
        ["Failed", "1", "oldest 0 minutes ago"],
    ]
    batches = panel(page, "usage-batches")
    assert "5 records" in batches
    assert "The oldest arrived 20\xa0minutes ago." in batches
    assert desk.get(links(batches)[0]).context["cl"].result_count == 2


def test_an_empty_day_says_so(desk, clock):
    page = desk.get(FRONT_PAGE).content.decode()
    assert "No payments yet today." in page
    assert "No failed payments today." in page
    assert "No open support requests." in page
    assert "Every email has been sent." in page
    assert "Every batch is applied." in page


def test_the_dashboard_takes_the_same_queries_however_many_orders(desk, customer, plans, clock):
    def front_page_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert desk.get(FRONT_PAGE).status_code == 200
        return len(queries)

    plan = plans["basic-30"]
    methods = ["card", "alipay", "wechat_pay"]
    order_make(customer=customer, plan=plan)
    desk.get(FRONT_PAGE)  # the staff member's user row is cached from here on (boomcard.page_cache)
    few = front_page_queries()
    for n in range(30):
        order_make(customer=customer, plan=plan, method=methods[n % 3], currency=["CNY", "USD"][n % 2])
        order_make(customer=customer, plan=plan, status=Order.Status.FAILED, failure_reason=f"reason {n}")
        support_request_make(customer)
        email_make(f"x{n}@example.com")
    many = front_page_queries()
    # The second step's device, the panels' own reads (payments 1, failures 2, support 1, emails
    # 1, usage batches 1) and the recent actions.
    assert few == many == 8
    assert len(DASHBOARD_PANELS) == 5


def test_staff_see_only_the_panels_for_what_they_may_view(client, customer, plans, clock):
    cashier = UserFactory.create(username="cashier", is_staff=True)
    cashier.user_permissions.add(Permission.objects.get(codename="view_order", content_type__app_label="billing"))
    log_in_with_second_step(client, cashier)
    page = client.get(FRONT_PAGE).content.decode()
    assert 'id="dashboard-payments"' in page
    assert 'id="dashboard-failures"' in page
    assert 'id="dashboard-support"' not in page
    assert 'id="dashboard-emails"' not in page
    assert 'id="dashboard-usage-batches"' not in page


def test_the_dashboard_reads_in_chinese(desk, staff, customer, plans, clock):
    staff.language = "zh-hans"
    staff.save(update_fields=["language"])
    order_make(customer=customer, plan=plans["basic-30"], method="alipay")
    page = desk.get(FRONT_PAGE).content.decode()
    assert "今日概览" in page
    assert "今日收款" in page
    assert rows(panel(page, "payments"), "boom-payment") == [["支付宝", "CNY", "1", "¥38.00"]]
    assert "今日支付失败" in page
    assert "导出订单（CSV）" in page
