"""Staff open the admin, in English and in Chinese, and see today on its front page: payments per
method and currency, failures by reason (a click lists those orders), open support requests,
emails not sent yet; then export the day's orders as CSV and open the file."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.admin_site import carrier_day
from accounts.models import User
from billing.models import Order
from tests.billing.admin_orders import email_make, order_make, support_request_make
from tests.browser.conftest import Screenshot
from tests.browser.staff import staff_admin

SHOTS = Path("/work/shots/dashboard")

WORDS = {
    "en": {
        "payments": "Today's payments",
        "card": "Card",
        "alipay": "Alipay",
        "failures": "Failed payments today",
        "support": "Open support requests",
        "emails": "Emails not sent yet",
        "waiting": "Waiting",
        "export": "Export orders (CSV)",
        "download": "Download CSV",
        "first": "First day",
        "last": "Last day",
        "after": "The last day must be on or after the first day.",
        "order": "order",
    },
    "zh-hans": {
        "payments": "今日收款",
        "card": "银行卡",
        "alipay": "支付宝",
        "failures": "今日支付失败",
        "support": "未结工单",
        "emails": "尚未发出的邮件",
        "waiting": "待发送",
        "export": "导出订单（CSV）",
        "download": "下载 CSV",
        "first": "起始日",
        "last": "截止日",
        "after": "截止日不能早于起始日。",
        "order": "订单",
    },
}


def keep(paths: list[Path]) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for path in paths:
        shutil.copy(path, SHOTS / path.name)


def row_cells(page: Page, panel: str, row_class: str) -> list[list[str]]:
    rows = page.locator(f"#dashboard-{panel} tr.{row_class}")
    return [[cell.strip() for cell in row.locator("th, td").all_inner_texts()] for row in rows.all()]


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_staff_see_today_on_the_front_page_and_export_the_days_orders(
    browser: Browser, live_server: LiveServer, staff: User, customer: User, plans, screenshot: Screenshot, language: str
) -> None:
    words = WORDS[language]
    plan = plans["basic-30"]
    card = order_make(customer=customer, plan=plan, method="card", amount_minor=3800)
    alipay = order_make(customer=customer, plan=plan, method="alipay", amount_minor=6800)
    declined = order_make(
        customer=customer, plan=plan, status=Order.Status.FAILED, failure_reason="Your card was declined."
    )
    support_request_make(customer, "我的 eSIM 装不上。")
    email_make("demo@example.com")

    page = staff_admin(browser, live_server, staff, language)
    expect(page.locator("#dashboard-payments caption")).to_have_text(words["payments"])
    assert row_cells(page, "payments", "boom-payment") == [
        [words["alipay"], "CNY", "1", "¥68.00"],
        [words["card"], "CNY", "1", "¥38.00"],
    ]
    assert row_cells(page, "payments", "boom-currency-total")[0][1:] == ["CNY", "2", "¥106.00"]
    expect(page.locator("#dashboard-failures caption")).to_have_text(words["failures"])
    assert row_cells(page, "failures", "boom-failure") == [["Your card was declined.", "1"]]
    expect(page.locator("#dashboard-support caption")).to_have_text(words["support"])
    assert [count for _status, count in row_cells(page, "support", "boom-support-status")] == ["1"]
    expect(page.locator("#dashboard-emails caption")).to_have_text(words["emails"])
    assert row_cells(page, "emails", "boom-email-status")[0][:2] == [words["waiting"], "1"]
    # The apps are still listed, below the dashboard.
    expect(page.locator("#content-main .app-billing")).to_be_visible()
    keep(screenshot(page, "dashboard"))

    # A failure's reason lists the orders that failed for it.
    page.locator("#dashboard-failures a", has_text="Your card was declined.").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list tbody")).to_contain_text(declined.public_id)
    keep(screenshot(page, "failed-orders"))

    # The order list offers the export; a range backwards is refused in the staff's language.
    page.get_by_role("link", name=words["export"]).click()
    today = carrier_day()[0].date()
    page.get_by_label(words["first"]).fill(today.isoformat())
    page.get_by_label(words["last"]).fill((today - timedelta(days=1)).isoformat())
    page.get_by_role("button", name=words["download"]).click()
    expect(page.locator(".errorlist")).to_have_text(words["after"])
    keep(screenshot(page, "export-refused"))

    page.get_by_label(words["first"]).fill(today.isoformat())
    page.get_by_label(words["last"]).fill(today.isoformat())
    with page.expect_download() as downloading:
        page.get_by_role("button", name=words["download"]).click()
    download = downloading.value
    assert download.suggested_filename == f"orders-{today.isoformat()}-{today.isoformat()}.csv"
    body = Path(download.path()).read_bytes()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][0] == words["order"]
    by_order = {row[0]: row for row in rows[1:]}
    assert set(by_order) == {card.public_id, alipay.public_id, declined.public_id}
    assert by_order[alipay.public_id][8:11] == ["alipay", "68.00", "CNY"]
    assert by_order[declined.public_id][-1] == "Your card was declined."
