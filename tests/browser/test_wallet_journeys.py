"""The demo customer pays a renewal with Alipay and with WeChat Pay, in Chinese on a phone.

Stripe is the local Stripe with the project's extension (billing/localstripe_extras/): confirming
with a wallet leads to its test page, as in Stripe's test mode, with "Authorize test payment" and
"Fail test payment". The local Stripe's webhooks go to this test's live server, which stores
them and answers, and a Celery worker processes them (as ``make run`` has one), so the WeChat Pay
panel turns paid by itself when the webhook lands. Each journey ends with one order, one
allowance, one confirmation notice and one email.
"""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.demo import DEMO_PASSWORD, DEMO_PHONE
from accounts.models import EmailDelivery, Notice
from billing.models import Order
from plans.models import Bucket, Line
from tests.browser.conftest import PHONE_VIEWPORT, TIMEOUT_MS, Screenshot
from tests.browser.test_renew_journey import CARD_OK, fill_card
from tests.celery_worker import celery_worker, database_url

ORDER_URL = re.compile(r"/billing/orders/([^/?]+)/")


@pytest.fixture
def webhooks_to_site(live_server: LiveServer, localstripe: str, tmp_path: Path) -> Iterator[None]:
    """The local Stripe sends its events to this test's site, as Stripe would, and a real Celery
    worker (on the site's broker, emptied with the cache at the start of each test) processes
    the events the site stores."""

    def point(url: str) -> None:
        requests.post(
            f"{localstripe}/_config/webhooks/boom",
            data={"url": url, "secret": settings.STRIPE_WEBHOOK_SECRET},
            timeout=10,
        ).raise_for_status()

    point(f"{live_server.url}/stripe/webhook/")
    try:
        with celery_worker(
            database_url=database_url(connection.settings_dict),
            broker_url=settings.CELERY_BROKER_URL,
            stripe_api_base=settings.STRIPE_API_BASE,
            mail_dir=tmp_path / "mail",
            run_dir=tmp_path / "worker",
        ):
            yield
    finally:
        point("http://127.0.0.1:9/")


@pytest.fixture
def demo_line(live_server: LiveServer, localstripe: str) -> Line:
    call_command("seed_demo", verbosity=0)
    return Line.objects.get(msisdn="+8617012345678")  # the first demo line, on basic-30


def log_in_in_chinese_on_a_phone(page: Page, base: str) -> None:
    """The demo customer reads Chinese."""
    page.set_viewport_size(PHONE_VIEWPORT)
    page.goto(f"{base}/accounts/login/")
    page.locator("#id_username").fill(DEMO_PHONE)
    page.locator("#id_password").fill(DEMO_PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")


def open_order(page: Page, base: str, line: Line) -> str:
    """Renew the line's plan from its renewal page; land on the pay page. Returns the order's id."""
    page.goto(f"{base}/lines/{line.pk}/renew/")
    page.locator("section.renew-current button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/pay/$"))
    match = ORDER_URL.search(page.url)
    assert match
    return match.group(1)


def paid_once(public_id: str) -> None:
    order = Order.objects.get(public_id=public_id)
    assert order.status == Order.Status.FULFILLED
    assert Order.objects.filter(line=order.line, created_at__gte=order.created_at).count() == 1
    assert Bucket.objects.filter(order_item__order=order).count() == 1
    notice = Notice.objects.get(key=f"order-fulfilled:{order.pk}")
    assert EmailDelivery.objects.filter(notice=notice).count() == 1


def expect_paid(page: Page, base: str, public_id: str) -> None:
    expect(page).to_have_url(re.compile(rf"{re.escape(base)}/billing/orders/{public_id}/"))
    expect(page.locator(".order .badge")).to_have_class(re.compile(r"\bstatus-fulfilled\b"), timeout=2 * TIMEOUT_MS)
    expect(page.locator(".order .message-success")).to_have_text("支付成功，号码已续费。")


@pytest.mark.browser
def test_alipay_authorised_and_alipay_failed_then_card_on_the_same_order(
    live_server: LiveServer, localstripe: str, demo_line: Line, page: Page, screenshot: Screenshot
) -> None:
    base = live_server.url
    log_in_in_chinese_on_a_phone(page, base)
    public_id = open_order(page, base, demo_line)
    screenshot(page, "pay")

    # 1. Alipay: the page sends the customer to Alipay (its test page), who authorises.
    page.locator("button[name=method][value=alipay]").click()
    expect(page.get_by_role("button", name="Authorize test payment")).to_be_visible()
    screenshot(page, "alipay-test-page")
    page.get_by_role("button", name="Authorize test payment").click()
    expect_paid(page, base, public_id)
    screenshot(page, "alipay-paid")
    paid_once(public_id)

    # 2. Alipay again on a new renewal, refused in the app, then a card on the same order.
    second = open_order(page, base, demo_line)
    page.locator("button[name=method][value=alipay]").click()
    page.get_by_role("button", name="Fail test payment").click()
    expect(page).to_have_url(re.compile(rf"/billing/orders/{second}/"))
    expect(page.locator(".order .badge")).to_have_class(re.compile(r"\bstatus-failed\b"))
    screenshot(page, "alipay-failed")
    page.get_by_role("link", name="用银行卡支付").click()
    fill_card(page, CARD_OK)
    page.locator("#card-pay").click()
    expect_paid(page, base, second)
    paid_once(second)
    assert Order.objects.get(public_id=second).payment_method_type == "card"


@pytest.mark.browser
def test_wechat_pay_through_the_qr_panel_and_a_fresh_code_after_one_expired(
    live_server: LiveServer,
    localstripe: str,
    webhooks_to_site: None,
    demo_line: Line,
    page: Page,
    screenshot: Screenshot,
) -> None:
    base = live_server.url
    log_in_in_chinese_on_a_phone(page, base)
    public_id = open_order(page, base, demo_line)

    # 1. The panel draws the code; the customer "scans" it (the test page, in another tab) and
    #    pays; the webhook lands and the panel turns paid with no reload by the customer.
    page.locator("button[name=method][value=wechat_pay]").click()
    panel = page.locator("#wechat-pay")
    expect(panel.locator(".qr svg")).to_be_visible()
    expect(panel).to_contain_text("微信")
    screenshot(page, "wechat-qr")
    phone = page.context.new_page()
    phone.goto(panel.locator("#wallet-test-page").get_attribute("href") or "")
    phone.get_by_role("button", name="Authorize test payment").click()
    expect_paid(page, base, public_id)
    screenshot(page, "wechat-paid")
    paid_once(public_id)
    assert Order.objects.get(public_id=public_id).payment_method_type == "wechat_pay"

    # 2. A code left to expire: the attempt fails, the page offers a fresh code, which pays.
    requests.post(f"{localstripe}/_config/boom/wechat_pay", data={"qr_seconds": "2"}, timeout=10).raise_for_status()
    second = open_order(page, base, demo_line)
    page.locator("button[name=method][value=wechat_pay]").click()
    first_code = Order.objects.get(public_id=second).action["qr_data"]
    expect(page.locator(".order .badge")).to_have_class(re.compile(r"\bstatus-failed\b"), timeout=2 * TIMEOUT_MS)
    screenshot(page, "wechat-expired")
    requests.post(f"{localstripe}/_config/boom/wechat_pay", data={"qr_seconds": "300"}, timeout=10).raise_for_status()
    page.locator("form button[name=method][value=wechat_pay]").click()
    expect(page.locator("#wechat-pay .qr svg")).to_be_visible()
    fresh = Order.objects.get(public_id=second).action["qr_data"]
    assert fresh != first_code
    phone.goto(page.locator("#wallet-test-page").get_attribute("href") or "")
    phone.get_by_role("button", name="Authorize test payment").click()
    expect_paid(page, base, second)
    paid_once(second)
