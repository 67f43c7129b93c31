"""What the line page draws on the server: the eSIM QR code and the usage chart with its scale
(no JS needed; static/js/usage_chart.js only adds reading a day's figure by tap or keyboard)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from urllib.parse import quote

from django.utils.safestring import SafeString

from boomcard.qr import qr_svg_draw
from plans.models import GB, MB
from plans.selectors import UsageDay

IOS_INSTALL = "https://esimsetup.apple.com/esim_qrcode_provisioning?carddata="


@functools.lru_cache(maxsize=1024)
def qr_svg(activation_code: str) -> SafeString:
    """A line's eSIM activation code as a QR code. A line's code never changes, so each process
    draws it once (drawing was a fifth of the line page's time)."""
    return qr_svg_draw(activation_code)


def ios_install_url(activation_code: str) -> str:
    """Apple's one-tap eSIM install link (iOS 17.4 and later)."""
    return IOS_INSTALL + quote(activation_code, safe="")


@dataclass(frozen=True)
class Bar:
    day: UsageDay
    x: float
    y: float
    height: float
    overage_y: float
    overage_height: float
    slot_x: float  # the day's whole column: what a tap or a click hits
    is_tick: bool  # the day is named under the chart


@dataclass(frozen=True)
class Gridline:
    value: int  # bytes
    y: float


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int
    height: int
    bar_width: float
    slot_width: float
    peak: int
    gridlines: list[Gridline]  # from 0 up, evenly spaced; the top one at or above the peak
    unit: str  # "MB" or "GB": the one unit the scale is labelled in

    @property
    def has_usage(self) -> bool:
        return self.peak > 0


CHART_WIDTH, CHART_HEIGHT = 300, 120
# At most this many steps above 0: 2 to 4 labelled gridlines.
MAX_STEPS = 3
# Round steps of the scale, smallest first; past the end, the 1-2-5 series carries on in GB.
STEPS = [(n * MB, "MB") for n in (1, 2, 5, 10, 20, 50, 100, 200)] + [(GB // 2, "GB")]
# Days named under the chart: today and every week before it (five dates fit on a phone).
TICK_EVERY = 7


def scale_step(peak: int) -> tuple[int, str]:
    """The smallest round step (bytes) and its unit with which 3 steps or fewer reach ``peak``."""
    for step, unit in STEPS:
        if peak <= step * MAX_STEPS:
            return step, unit
    magnitude = GB
    while True:
        for factor in (1, 2, 5):
            if peak <= factor * magnitude * MAX_STEPS:
                return factor * magnitude, "GB"
        magnitude *= 10


def usage_chart(days: list[UsageDay]) -> Chart:
    """Bars of data per day against a round scale (the busiest day's bar reaches at most the top
    gridline); overage stacked on top."""
    peak = max((day.data + day.overage for day in days), default=0)
    step, unit = scale_step(peak)
    steps = max(-(-peak // step), 1)
    top = step * steps
    gridlines = [Gridline(value=n * step, y=round(CHART_HEIGHT * (1 - n / steps), 2)) for n in range(steps + 1)]
    slot = CHART_WIDTH / max(len(days), 1)
    bars = []
    for index, day in enumerate(days):
        height = CHART_HEIGHT * day.data / top
        over = CHART_HEIGHT * day.overage / top
        bars.append(
            Bar(
                day=day,
                x=round(index * slot + slot * 0.15, 2),
                y=round(CHART_HEIGHT - height, 2),
                height=round(height, 2),
                overage_y=round(CHART_HEIGHT - height - over, 2),
                overage_height=round(over, 2),
                slot_x=round(index * slot, 2),
                is_tick=(len(days) - 1 - index) % TICK_EVERY == 0,
            )
        )
    return Chart(
        bars=bars,
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        bar_width=round(slot * 0.7, 2),
        slot_width=round(slot, 2),
        peak=peak,
        gridlines=gridlines,
        unit=unit,
    )
