"""Issue 18 in the browser: the demo customer, on a 360 px phone in Chinese, reads when each
line's data runs out at its pace and how fresh the figures are, on the home card and the line
page, from the meters' data attributes and the text beside them; and skips a renewal announced
a day ahead, which is then not charged."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import Notice
from billing import services, sweeps
from billing.models import Order
from plans.models import Line, UsageRecord, usage_day
from plans.selectors import line_summaries
from tests.browser.conftest import PHONE_VIEWPORT, Screenshot, demo_log_in


@pytest.mark.browser
def test_a_phone_in_chinese_shows_the_forecast_and_the_freshness_on_the_card_and_the_line_page(
    live_server: LiveServer, page: Page, screenshot: Screenshot
) -> None:
    call_command("seed_demo", verbosity=0)
    base = live_server.url
    page.set_viewport_size(PHONE_VIEWPORT)
    busy = Line.objects.get(msisdn="+8617012345678")  # spends its 30 GB well before the plan ends
    assert busy.owner is not None
    forecast = line_summaries(user=busy.owner)[0].data_forecast
    assert forecast.runs_out_on is not None
    runs_out = forecast.runs_out_on
    assert usage_day(timezone.now()) < runs_out < usage_day(busy.expires_at)  # type: ignore[arg-type]
    reported = UsageRecord.objects.filter(line=busy).latest("at").at
    demo_log_in(page, base)

    def check(where: Locator) -> None:
        meter = where.locator("[data-forecast-runout]").first
        expect(meter).to_have_attribute("data-forecast-runout", runs_out.isoformat())
        updated = meter.get_attribute("data-updated-at")
        assert updated is not None
        assert datetime.fromisoformat(updated) == reported
        expect(where.locator(".forecast").first).to_have_text(
            f"按目前用量，流量预计 {runs_out:%m}月{runs_out.day}日 用完，比到期早 {forecast.days_early} 天。"
        )
        expect(where.locator(".freshness").first).to_contain_text("更新于 12")
        expect(where.locator(".freshness").first).to_contain_text("分钟前")

    card = page.locator("li.card.line").first
    check(card)
    # The other line lasts at its pace, and its figures are 3 hours old (not yet stale).
    other = page.locator("li.card.line").nth(1)
    expect(other.locator("[data-forecast-runout]").first).to_have_attribute("data-forecast-runout", "")
    expect(other.locator(".forecast")).to_have_text("按目前用量，流量够用到套餐到期。")
    expect(other.locator(".freshness")).to_contain_text("更新于 3")
    expect(other.locator(".freshness-warn")).to_have_count(0)
    # Nothing sticks out of a 360 px screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    screenshot(page, "home")

    card.locator(f'a[href="/lines/{busy.pk}/"]').click()
    expect(page).to_have_url(f"{base}/lines/{busy.pk}/")
    check(page.locator("main"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    screenshot(page, "line")


@pytest.mark.browser
def test_a_phone_in_chinese_skips_an_announced_renewal_and_it_is_not_charged(
    live_server: LiveServer, localstripe: str, page: Page, screenshot: Screenshot, card: Callable[[str], str]
) -> None:
    call_command("seed_demo", verbosity=0)
    base = live_server.url
    page.set_viewport_size(PHONE_VIEWPORT)
    line = Line.objects.get(msisdn="+8617012345679")  # the demo line 5 days from expiry
    services.auto_renew_set(line=line, enabled=True, payment_method_id=card("ok"))
    line.refresh_from_db()
    assert line.expires_at is not None
    expiry = line.expires_at
    # Three days before expiry the hourly run announces the charge, a day ahead.
    assert sweeps.auto_renew_run(now=expiry - timedelta(hours=71)) == 0
    notice = Notice.objects.get(line_ref=line.pk, kind=Notice.Kind.AUTO_RENEW_UPCOMING)
    demo_log_in(page, base)

    # The bell's notice says when, what and how much, and leads to the auto-renew page.
    page.goto(f"{base}/notices/")
    item = page.locator(".notices li").filter(has_text="4242").first
    expect(item).to_contain_text("¥38.00")
    expect(item).to_contain_text("基础套餐 10GB")
    screenshot(page, "notice")
    item.locator(f'a[href="{notice.link}"]').click()
    expect(page).to_have_url(f"{base}/lines/{line.pk}/auto-renew/")
    charge = page.locator(".next-charge")
    expect(charge).to_have_attribute("data-state", "due")
    expect(charge).to_contain_text("¥38.00")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    screenshot(page, "announced")

    page.get_by_role("button", name="跳过本次续费").click()
    expect(page.locator(".next-charge")).to_have_attribute("data-state", "skipped")
    screenshot(page, "skipped")
    # The line page says so too.
    page.goto(f"{base}/lines/{line.pk}/")
    expect(page.locator(".next-charge")).to_have_attribute("data-state", "skipped")

    # The charge's hour comes and goes: nothing is charged for this expiry.
    assert sweeps.auto_renew_run(now=expiry - timedelta(hours=47)) == 0
    assert not Order.objects.filter(line=line, off_session=True).exists()
