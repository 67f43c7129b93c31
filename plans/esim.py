"""What the line page draws on the server: the eSIM QR code and the usage chart (no JS needed)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from urllib.parse import quote

from django.utils.safestring import SafeString

from boomcard.qr import qr_svg_draw
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


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int
    height: int
    bar_width: float
    peak: int

    @property
    def has_usage(self) -> bool:
        return self.peak > 0


CHART_WIDTH, CHART_HEIGHT = 300, 120


def usage_chart(days: list[UsageDay]) -> Chart:
    """Bars of data per day, scaled to the busiest day; overage stacked on top."""
    peak = max((day.data + day.overage for day in days), default=0)
    slot = CHART_WIDTH / max(len(days), 1)
    bars = []
    for index, day in enumerate(days):
        height = CHART_HEIGHT * day.data / peak if peak else 0
        over = CHART_HEIGHT * day.overage / peak if peak else 0
        bars.append(
            Bar(
                day=day,
                x=round(index * slot + slot * 0.15, 2),
                y=round(CHART_HEIGHT - height, 2),
                height=round(height, 2),
                overage_y=round(CHART_HEIGHT - height - over, 2),
                overage_height=round(over, 2),
            )
        )
    return Chart(bars=bars, width=CHART_WIDTH, height=CHART_HEIGHT, bar_width=round(slot * 0.7, 2), peak=peak)
