"""Staff export the orders of a range of days as CSV: days in the carrier's time zone, amounts in
major units, what was refunded, UTF-8 with a byte-order mark for Excel, streamed in chunks; the
range is checked with clear errors; only staff who may see orders get it, and each export is
in the audit trail."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from auditlog.models import LogEntry  # type: ignore[import-untyped]
from django.contrib.auth.models import Permission
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.admin.export import cell, major_units
from billing.models import Order, Refund
from tests.billing.admin_orders import order_make, refund_make
from tests.factories import UserFactory
from tests.security.helpers import log_in_with_second_step

pytestmark = pytest.mark.django_db

EXPORT = reverse("admin:billing_order_export")
NOW = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)  # 09:30 on 2 December in Shanghai
SHANGHAI_MIDNIGHT = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # 2 December begins there
HEADER_EN = [
    "order",
    "created (Asia/Shanghai)",
    "paid (Asia/Shanghai)",
    "customer's number",
    "line number",
    "plan",
    "kind",
    "status",
    "paid by",
    "amount",
    "currency",
    "refunded amount",
    "why the payment failed",
]


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def desk(client: Client, staff) -> Client:
    log_in_with_second_step(client, staff)
    return client


def download(client: Client, start: str, end: str) -> tuple[bytes, list[list[str]]]:
    response = client.get(EXPORT, {"start": start, "end": end})
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="orders-{start}-{end}.csv"'
    body = response.getvalue()
    return body, list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_orders_of_the_range_are_exported_with_refunds_in_major_units(desk, customer, plans, clock):
    plan = plans["basic-30"]
    paid = order_make(customer=customer, plan=plan, method="alipay", amount_minor=3800, created_at=SHANGHAI_MIDNIGHT)
    refund_make(paid, 1000)
    refund_make(paid, 500)
    refund_make(paid, 700, status=Refund.Status.FAILED)
    failed = order_make(
        customer=customer, plan=plan, status=Order.Status.FAILED, currency="USD", amount_minor=599,
        failure_reason="Your card was declined.",
    )  # fmt: skip
    # 23:59 on 30 November in Shanghai (15:59 UTC): before the range.
    order_make(customer=customer, plan=plan, created_at=datetime(2026, 11, 30, 15, 59, tzinfo=UTC))

    body, rows = download(desk, "2026-12-01", "2026-12-02")
    assert body.startswith(b"\xef\xbb\xbf")
    assert rows[0] == HEADER_EN
    assert rows[1:] == [
        [
            paid.public_id, "2026-12-02 00:00:00", "2026-12-02 00:00:00", "+8613800138000", paid.line.msisdn.as_e164,
            "basic-30", "renewal", "fulfilled", "alipay", "38.00", "CNY", "15.00", "",
        ],
        [
            failed.public_id, "2026-12-02 09:30:00", "", "+8613800138000", failed.line.msisdn.as_e164,
            "basic-30", "renewal", "failed", "card", "5.99", "USD", "0.00", "Your card was declined.",
        ],
    ]  # fmt: skip


def test_the_header_is_in_the_staff_members_language_and_chinese_survives(desk, staff, customer, plans, clock):
    staff.language = "zh-hans"
    staff.save(update_fields=["language"])
    order_make(customer=customer, plan=plans["basic-30"], status=Order.Status.FAILED, failure_reason="银行卡被拒绝")
    _body, rows = download(desk, "2026-12-02", "2026-12-02")
    assert rows[0][:3] == ["订单", "创建时间（Asia/Shanghai）", "付款时间（Asia/Shanghai）"]
    assert rows[1][-1] == "银行卡被拒绝"


def test_a_range_of_a_whole_year_is_allowed_and_a_day_more_is_not(desk, clock):
    assert desk.get(EXPORT, {"start": "2024-01-01", "end": "2024-12-31"}).streaming  # 366 days
    refused = desk.get(EXPORT, {"start": "2024-01-01", "end": "2025-01-01"})
    assert not refused.streaming
    assert refused.context["form"].errors == {"end": ["Export at most 366 days (a year) at once; narrow the range."]}


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ({"start": "2026-12-02", "end": "2026-12-01"}, {"end": ["The last day must be on or after the first day."]}),
        ({"start": "yesterday", "end": "2026-12-01"}, {"start": ["Enter a valid date."]}),
        ({"start": "2026-02-30", "end": ""}, {"start": ["Enter a valid date."], "end": ["This field is required."]}),
        ({"end": "2026-12-01"}, {"start": ["This field is required."]}),
    ],
)
def test_a_bad_range_is_refused_with_a_clear_error(desk, clock, query, errors):
    response = desk.get(EXPORT, query)
    assert response.status_code == 200
    assert response.context["form"].errors == errors
    assert not LogEntry.objects.exists()


def test_the_page_offers_this_month_so_far(desk, clock):
    response = desk.get(EXPORT)
    assert response.status_code == 200
    form = response.context["form"]
    assert not form.is_bound
    assert [form["start"].value(), form["end"].value()] == [datetime(2026, 12, 1).date(), datetime(2026, 12, 2).date()]
    assert "Download CSV" in response.content.decode()


def test_the_order_list_links_to_the_export(desk):
    assert f'href="{EXPORT}"' in desk.get(reverse("admin:billing_order_changelist")).content.decode()


def test_each_export_is_in_the_audit_trail(desk, staff, clock):
    download(desk, "2026-11-01", "2026-12-02")
    entry = LogEntry.objects.get()
    assert entry.actor == staff
    assert entry.additional_data == {
        "action": "orders_export",
        "reason": "",
        "start": "2026-11-01",
        "end": "2026-12-02",
    }


def test_staff_who_may_not_see_orders_are_refused(client, clock):
    clerk = UserFactory.create(username="clerk", is_staff=True)
    log_in_with_second_step(client, clerk)
    assert client.get(EXPORT, {"start": "2026-12-01", "end": "2026-12-02"}).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="view_order", content_type__app_label="billing"))
    assert client.get(EXPORT, {"start": "2026-12-01", "end": "2026-12-02"}).streaming


def test_customers_and_staff_without_the_second_step_are_sent_to_log_in(client, customer, staff):
    client.force_login(customer)
    assert client.get(EXPORT)["Location"].startswith(reverse("admin:login"))
    client.force_login(staff)
    assert client.get(EXPORT)["Location"].startswith(reverse("admin:login"))


def test_the_export_streams_in_one_query_however_many_orders(desk, customer, plans, clock):
    plan = plans["basic-30"]

    def queries_for_the_rows() -> int:
        response = desk.get(EXPORT, {"start": "2026-12-01", "end": "2026-12-02"})
        assert isinstance(response, StreamingHttpResponse)
        with CaptureQueriesContext(connection) as queries:
            rows = response.getvalue().count(b"\n") - 1
        assert rows == Order.objects.count()
        return len(queries)

    order_make(customer=customer, plan=plan)
    one = queries_for_the_rows()
    for n in range(40):
        order_make(customer=customer, plan=plan, created_at=NOW - timedelta(minutes=n))
    assert queries_for_the_rows() == one == 1


def test_amounts_are_plain_numbers_and_formulas_are_not_run():
    assert [major_units(3800, "CNY"), major_units(5, "USD"), major_units(0, "HKD")] == ["38.00", "0.05", "0.00"]
    zone = ZoneInfo("Asia/Shanghai")
    assert cell('=HYPERLINK("http://x")', zone) == '\'=HYPERLINK("http://x")'
    assert cell("-1+2", zone) == "'-1+2"
    assert cell("+8613800138000", zone) == "+8613800138000"
    assert cell(SHANGHAI_MIDNIGHT, zone) == "2026-12-02 00:00:00"
