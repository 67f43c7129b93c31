"""Staff refund part of a paid order from its admin page, in English and in Chinese: a reason and
a note, the amount, a confirmation that says what is taken back, then Stripe's refund id and
state on the order's page and its history."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from billing.models import Order, Refund
from plans.models import Line
from tests.billing.stripe_events import start_order
from tests.browser.conftest import Screenshot
from tests.browser.staff import staff_admin
from tests.card_payments import pay_by_card

SHOTS = Path("/work/shots/refunds")

# What the pages say, in each language.
TEXT = {
    "en": {
        "share": "40.0%",
        "refunded": "Refunded ¥15.20 (refund {id}).",
        "state": "Refunded",
        "reason": "Problem with the service",
        "left": "¥22.80",
    },
    "zh-hans": {
        "share": "40.0%",
        "refunded": "已退款 ¥15.20（退款编号 {id}）。",
        "state": "已退款",
        "reason": "服务出现问题",
        "left": "¥22.80",
    },
}


def keep(paths: list[Path], language: str) -> None:
    """A copy of the screenshots to look at, outside the test's own folder."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for path in paths:
        shutil.copy(path, SHOTS / f"{language}-{path.name.split('_-')[-1]}")


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_staff_refund_part_of_an_order_through_the_confirmation(
    browser: Browser,
    live_server: LiveServer,
    staff: User,
    customer: User,
    line: Line,
    localstripe: str,
    card: Any,
    screenshot: Screenshot,
    language: str,
) -> None:
    buyer = Client(headers={"Accept-Language": "en"})
    order = pay_by_card(buyer, start_order(buyer, customer, line), card("ok"), localstripe=localstripe).order
    assert order.status == Order.Status.FULFILLED
    text = TEXT[language]
    page = staff_admin(browser, live_server, staff, language)
    base = live_server.url

    page.goto(f"{base}{reverse('admin:billing_order_change', args=[order.pk])}")
    page.locator("a.refundlink").click()
    expect(page.locator("#left-to-refund")).to_have_text("¥38.00")
    expect(page.locator("label[for=id_amount]")).to_contain_text(re.compile(r"CNY[,，] ?¥"))
    page.locator("#id_reason").select_option("service_problem")
    page.locator("#id_note").fill("No signal for three days")
    page.locator("#id_amount").fill("15.20")
    keep(screenshot(page, "form"), language)
    page.locator("input[name=_preview]").click()

    confirmation = page.locator("#refund-confirmation")
    expect(confirmation).to_contain_text("¥15.20")
    expect(confirmation).to_contain_text(text["share"])
    expect(confirmation).to_contain_text(text["reason"])
    expect(page.locator("#refund-buckets tr.taken")).to_have_count(1)
    keep(screenshot(page, "confirmation"), language)
    page.locator("input[name=_confirm]").click()

    refund = Refund.objects.get(order=order)
    assert refund.status == Refund.Status.SUCCEEDED
    assert refund.stripe_refund_id
    assert refund.stripe_refund_id.startswith("re_")
    expect(page.locator(".messagelist")).to_contain_text(text["refunded"].format(id=refund.stripe_refund_id))
    refunds = page.locator("#refunds-group")
    expect(refunds).to_contain_text(refund.stripe_refund_id)
    expect(refunds).to_contain_text(text["state"])
    expect(refunds).to_contain_text(text["reason"])
    expect(page.locator(".field-refund_left")).to_contain_text(text["left"])
    keep(screenshot(page, "refunded"), language)

    page.goto(f"{base}{reverse('admin:billing_order_history', args=[order.pk])}")
    expect(page.locator("#audit-history")).to_contain_text(refund.stripe_refund_id)
    expect(page.locator("#audit-history")).to_contain_text("No signal for three days")
    keep(screenshot(page, "history"), language)
