"""The line page's usage chart: a round scale in one unit, a few dates, every day's figure for a
tap (in the markup the script reads) and in a table under the chart, in English and Chinese."""

import re
from datetime import date, timedelta
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from plans.esim import MAX_STEPS, scale_step, usage_chart
from plans.models import GB, MB, DailyUsage, usage_day
from plans.selectors import USAGE_DAYS, UsageDay
from plans.templatetags.boom import data_amount
from tests.factories import LineFactory, UserFactory

ROUND_MB = {1, 2, 5, 10, 20, 50, 100, 200}


def days_with(peaks: dict[int, int], overage: dict[int, int] | None = None) -> list[UsageDay]:
    first = date(2026, 5, 1)
    return [
        UsageDay(day=first + timedelta(days=n), data=peaks.get(n, 0), overage=(overage or {}).get(n, 0))
        for n in range(USAGE_DAYS)
    ]


@pytest.mark.parametrize(
    ("peak", "labels"),
    [
        (3 * 1024, ["0", "1 MB"]),
        (3 * MB, ["0", "1 MB", "2 MB", "3 MB"]),
        (250 * MB, ["0", "100 MB", "200 MB", "300 MB"]),
        (420 * MB, ["0", "200 MB", "400 MB", "600 MB"]),
        (700 * MB, ["0", "0.5 GB", "1 GB"]),
        (GB, ["0", "0.5 GB", "1 GB"]),
        (GB + 200 * MB, ["0", "0.5 GB", "1 GB", "1.5 GB"]),
        (2 * GB + 1, ["0", "1 GB", "2 GB", "3 GB"]),
        (7 * GB, ["0", "5 GB", "10 GB"]),
        (45 * GB, ["0", "20 GB", "40 GB", "60 GB"]),
    ],
)
def test_scale_is_two_to_four_round_gridlines_in_one_unit_reaching_the_peak(peak, labels):
    chart = usage_chart(days_with({3: peak // 2, 17: peak}))
    values = [line.value for line in chart.gridlines]
    assert [("0" if value == 0 else data_amount(value, chart.unit)) for value in values] == labels
    assert 2 <= len(values) <= MAX_STEPS + 1
    assert values[0] == 0
    assert values[-1] >= peak > values[-2]
    step = values[1]
    assert values == [n * step for n in range(len(values))]  # evenly spaced, as the labels are drawn
    # Gridlines from the bottom (y = height) to the top (y = 0) of the drawing.
    assert chart.gridlines[0].y == chart.height
    assert chart.gridlines[-1].y == 0


def test_round_steps_are_round_in_their_unit():
    for peak in [1, MB, 7 * MB, 99 * MB, 333 * MB, 599 * MB, 601 * MB, 5 * GB, 31 * GB, 900 * GB, 4000 * GB]:
        step, unit = scale_step(peak)
        if unit == "MB":
            assert step % MB == 0, peak
            assert step // MB in ROUND_MB, peak
        else:
            assert (step * 2) % GB == 0, peak  # whole or half GB
            assert re.fullmatch(r"(0\.5|[125]0*)", f"{step / GB:g}"), peak


def test_bars_are_drawn_against_the_top_gridline():
    chart = usage_chart(days_with({0: 100 * MB, 29: 250 * MB}, overage={29: 50 * MB}))
    top = chart.gridlines[-1].value  # 300 MB for a 300 MB peak (250 + 50 over)
    assert top == 300 * MB
    last = chart.bars[29]
    assert last.height == pytest.approx(chart.height * 250 / 300, abs=0.01)
    assert last.overage_y == pytest.approx(0, abs=0.01)  # data and overage reach the top line exactly
    assert chart.bars[0].height == pytest.approx(chart.height / 3, abs=0.01)
    # Each day's hit area is its whole column, side by side across the width.
    assert [bar.slot_x for bar in chart.bars[:3]] == [0, 10, 20]
    assert chart.slot_width == 10
    # Today and every seventh day before it are named under the chart: five dates, not thirty.
    assert [index for index, bar in enumerate(chart.bars) if bar.is_tick] == [1, 8, 15, 22, 29]


def line_page(*, language: str, usage: dict[int, dict[str, int]]) -> str:
    customer = UserFactory.create(language=language)
    line = LineFactory.create(owner=customer)
    today = usage_day(timezone.now())
    for days_ago, amounts in usage.items():
        DailyUsage.objects.create(line=line, day=today - timedelta(days=days_ago), **amounts)
    client = Client(headers={"Accept-Language": language})
    client.force_login(customer)
    response = client.get(reverse("plans:line", args=[line.pk]))
    assert response.status_code == 200
    return response.content.decode()


def scale_labels(page: str) -> list[str]:
    scale = re.search(r'<div class="chart-scale" aria-hidden="true">(.*?)</div>', page)
    assert scale, "no scale on the page"
    return re.findall(r"<span>(.*?)</span>", scale.group(1))


def table_rows(page: str) -> list[tuple[str, list[str]]]:
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    assert body, "no table on the page"
    return [
        (unescape(day), [unescape(cell) for cell in re.findall(r"<td>(.*?)</td>", cells)])
        for day, cells in re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', body.group(1))
    ]


@pytest.mark.django_db
def test_line_page_shows_the_scale_the_dates_and_a_table_of_every_day_in_english():
    page = line_page(
        language="en",
        usage={
            0: {"data": 700 * MB, "voice": 125, "voice_overage": 60, "sms": 2, "sms_overage": 1},
            1: {"data": 300 * MB, "data_overage": 20 * MB},
        },
    )
    assert scale_labels(page) == ["1 GB", "0.5 GB", "0"]  # top first, as read down the axis
    assert page.count('<line class="grid"') == 3
    dates = re.search(r'<div class="chart-dates" aria-hidden="true">(.*?)</div>', page)
    assert dates
    assert len(re.findall(r"<span>\d\d-\d\d</span>", dates.group(1))) == 5
    today = usage_day(timezone.now())
    # Each day carries its figure for the tap caption, and the caption is there for the script.
    assert f'data-caption="{today:%a} {today.day} {today:%b}: 700 MB"' in page
    yesterday = today - timedelta(days=1)
    assert f"{yesterday:%a} {yesterday.day} {yesterday:%b}: 300 MB (+20 MB over allowance)" in unescape(page)
    assert 'class="chart-day" role="status"' in page
    assert "Show as a table" in page
    assert "<caption>" in page
    assert '<th scope="col">Day</th><th scope="col">Data</th><th scope="col">Talk time</th>' in page
    rows = table_rows(page)
    assert len(rows) == USAGE_DAYS
    assert rows[0] == (f"{today:%a} {today.day} {today:%b}", ["700 MB", "3 min", "3"])  # newest first
    assert rows[1][1] == ["300 MB (+20 MB over allowance)", "0 min", "0"]
    assert rows[-1][1] == ["0 MB", "0 min", "0"]
    # No inline script or style: the Content-Security-Policy forbids them.
    assert "style=" not in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert "js/usage_chart.js" in page


@pytest.mark.django_db
def test_line_page_chart_and_table_in_chinese():
    page = line_page(language="zh-hans", usage={0: {"data": 3 * GB + 100 * MB}, 5: {"data": GB}})
    assert scale_labels(page) == ["4 GB", "2 GB", "0"]
    today = usage_day(timezone.now())
    assert f'data-caption="{today.month}月{today.day}日 星期' in page
    assert "：3.1 GB" in page
    assert "以表格显示" in page
    assert "近 30 天每日用量" in page
    assert "日期</th>" in page
    assert len(table_rows(page)) == USAGE_DAYS
