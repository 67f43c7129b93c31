"""The line page's content, built once per change of the customer's data and once per day's usage.

The view keeps what belongs to one request (the CSP nonce of its scripts, the CSRF token of the
header's forms, messages) in ``plans/line_detail.html`` and takes the rest from here:

- the whole page, kept per customer by ``boomcard.page_shell.customer_page``: dropped whenever
  their lines, buckets, usage or notices change, and never older than ``PAGE_CACHE_SECONDS`` (the
  days left);
- within it, the usage chart and its table, kept in each process's memory under the data they
  draw (30 days of figures, the language): a payment or a notice leaves them as they are, and a
  usage batch draws them anew once, since it changes the figures and so the key;
- the whole content likewise, under everything it shows (``drawn_once``), the next automatic
  charge too (``plans.line_hooks``): a change to the customer's other lines, notices or orders
  leaves it as drawn.
"""

from __future__ import annotations

import hashlib

from django.core.cache import caches
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

from accounts.models import User
from boomcard import formats
from boomcard.page_fragments import drawn_once
from boomcard.rows import row_columns
from plans import esim, line_hooks, selectors

# The fragments cache is in memory: the chart of a day's data stays as long as that data does.
CHART_SECONDS = 24 * 60 * 60


def usage_key(usage: list[selectors.UsageDay]) -> str:
    """What the chart and table show, as a short key: the language, each day and its figures."""
    text = translation.get_language() + ";" + ";".join(f"{d.day}:{d.data}:{d.overage}:{d.voice}:{d.sms}" for d in usage)
    return "usage-chart:" + hashlib.sha256(text.encode()).hexdigest()[:32]


def usage_section(usage: list[selectors.UsageDay]) -> SafeString:
    """The usage chart and its table, drawn once per day's data in each process."""
    fragments = caches["fragments"]
    key = usage_key(usage)
    html = fragments.get(key)
    if html is None:
        html = render_to_string("plans/line_usage.html", {"chart": esim.usage_chart(usage), "usage": usage})
        fragments.set(key, html, CHART_SECONDS)
    return mark_safe(html)  # noqa: S308 - rendered by our own template, escaped there


def summary_shows(summary: selectors.LineSummary) -> tuple[object, ...]:
    """Everything a line's card or heading shows (part of a ``drawn_once`` key): every column of
    the line and of its roaming packs, the plans' names, what is left per day it ends, the
    forecasts and the freshness stamp, and what the clock decides (expired, under a day or a week
    left, the time left in words, how long ago the figures were updated)."""
    line = summary.line
    return (
        row_columns(line),
        line.plan.name if line.plan else None,
        summary.home,
        summary.home_by_end,
        [(row_columns(pack), pack.plan.name) for pack in summary.roaming],
        summary.is_expired,
        summary.under_a_day_left,
        summary.expires_within_a_week,
        formats.time_left(summary.time_left),
        summary.data_forecast,
        summary.voice_forecast,
        summary.usage_updated_at,
        summary.usage_updated_text,
        summary.usage_may_be_behind,
    )


def _build(user: User, line_id: int) -> tuple[str, str]:
    detail = selectors.line_detail(user=user, line_id=line_id)
    line = detail.summary.line
    # The automatic charge coming, from billing (plans.line_hooks): at most one query.
    next_charge = line_hooks.next_charge(line)

    def draw() -> str:
        return render_to_string(
            "plans/line_detail_content.html",
            {
                "detail": detail,
                "summary": detail.summary,
                "line": line,
                "next_charge": next_charge,
                "usage_section": usage_section(detail.usage),
                "qr_svg": esim.qr_svg(line.activation_code),
                "ios_install_url": esim.ios_install_url(line.activation_code),
            },
        )

    buckets = [(row_columns(bucket), bucket.plan.name) for bucket in detail.buckets]
    shows = repr((summary_shows(detail.summary), buckets, usage_key(detail.usage), next_charge))
    return str(line.nickname or line.msisdn), drawn_once("line", shows, draw)


def line_page(*, user: User, line_id: int) -> tuple[str, SafeString]:
    """The page's title and content for one of the customer's lines (404 for anyone else's)."""
    title, body = _build(user, line_id)
    return title, mark_safe(body)  # noqa: S308 - rendered by our own template
