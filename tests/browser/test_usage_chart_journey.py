"""On a 360 px phone, in Chinese, the demo customer taps a day on the usage chart and reads its
figure under the chart, steps along the days with the arrow keys, then opens the table."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from plans.models import Line
from tests.browser.conftest import PHONE_VIEWPORT, TIMEOUT_MS, Screenshot, demo_log_in


@pytest.mark.browser
def test_phone_customer_taps_a_day_reads_its_figure_and_opens_the_table(
    live_server: LiveServer, browser: Browser, screenshot: Screenshot
) -> None:
    call_command("seed_demo", verbosity=0)
    base = live_server.url
    context = browser.new_context(
        viewport=PHONE_VIEWPORT, has_touch=True, is_mobile=True, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    demo_log_in(page, base)
    line = Line.objects.get(msisdn="+8617012345678")
    page.goto(f"{base}/lines/{line.pk}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    chart = page.locator("figure.chart")
    caption = chart.locator(".chart-day")
    # The script is running: it says how to read a day.
    expect(caption).to_have_text("点按柱形或使用方向键，查看当天的用量。")
    # A round scale: 2 to 4 labels, the bottom one 0, the others in one unit.
    labels = chart.locator(".chart-scale span").all_inner_texts()
    assert 2 <= len(labels) <= 4
    assert labels[-1] == "0"
    assert all(re.fullmatch(r"\d+(\.5)? GB", label) for label in labels[:-1]) or all(
        re.fullmatch(r"\d+ MB", label) for label in labels[:-1]
    ), labels
    # A few dates under the chart, not thirty.
    assert len([text for text in chart.locator(".chart-dates span").all_inner_texts() if text]) == 5

    days = chart.locator("g.day")
    expect(days).to_have_count(30)
    # Tap the day with the most data (the tallest bar): its figure shows under the chart.
    heights = [float(days.nth(i).locator("rect.bar").get_attribute("height") or 0) for i in range(30)]
    busiest = heights.index(max(heights))
    days.nth(busiest).tap()
    figure = days.nth(busiest).get_attribute("data-caption") or ""
    assert re.fullmatch(r"\d+月\d+日 星期.：[\d.,]+ (MB|GB)", figure), figure
    expect(caption).to_have_text(figure)
    expect(days.nth(busiest)).to_have_class(re.compile(r"\bis-selected\b"))
    expect(days.nth(busiest)).to_be_focused()
    screenshot(page, "tapped")

    # A tap at the very top of another day's column (above its bar) picks that day too.
    box = chart.locator("svg").bounding_box()
    assert box is not None
    other = 0 if busiest else 1
    page.touchscreen.tap(box["x"] + box["width"] * (other + 0.5) / 30, box["y"] + 2)
    expect(caption).to_have_text(days.nth(other).get_attribute("data-caption") or "")

    # The arrow keys step along the days from the one chosen.
    page.keyboard.press("ArrowRight")
    expect(caption).to_have_text(days.nth(other + 1).get_attribute("data-caption") or "")
    expect(days.nth(other + 1)).to_be_focused()
    page.keyboard.press("End")
    expect(caption).to_have_text(days.nth(29).get_attribute("data-caption") or "")

    # The table: closed at first, then every day with its figure, today first.
    table = page.locator("details.usage-table table")
    expect(table).to_be_hidden()
    page.get_by_text("以表格显示").tap()
    expect(table).to_be_visible()
    expect(table.locator("caption")).to_have_text("近 30 天每日用量（最近的在前）")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(30)
    today = days.nth(29).get_attribute("data-caption") or ""
    day, amount = today.split("：", 1)
    expect(rows.first.locator("th")).to_have_text(day)
    expect(rows.first.locator("td").first).to_have_text(amount)
    screenshot(page, "table")

    # The same in English, on a desktop.
    page.locator("form.lang button[value=en]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.set_viewport_size({"width": 1280, "height": 800})
    days.nth(busiest).click()
    expect(caption).to_have_text(re.compile(r"^\w{3} \d+ \w{3}: [\d.,]+ (MB|GB)$"))
    page.get_by_text("Show as a table").click()
    expect(table.locator("tbody tr")).to_have_count(30)
    screenshot(page, "english")
    assert errors == []
    context.close()

    # Without JavaScript (in English now: the customer chose it above): no caption to fill, and
    # the table still has every day.
    no_script = browser.new_context(viewport=PHONE_VIEWPORT, java_script_enabled=False, locale="zh-CN")
    no_script.set_default_timeout(TIMEOUT_MS)
    page = no_script.new_page()
    demo_log_in(page, base)
    page.goto(f"{base}/lines/{line.pk}/")
    expect(page.locator(".chart-day")).to_be_hidden()
    expect(page.locator("figure.chart g.day")).to_have_count(30)
    page.get_by_text("Show as a table").click()
    expect(page.locator("details.usage-table tbody tr")).to_have_count(30)
    no_script.close()
