"""Display filters: each calls ``boomcard.formats``, where amounts, times, countries and numbers
become text (so emails, notices and receipts read the same as pages)."""

from datetime import timedelta
from typing import Any

from django import template

from boomcard import formats
from plans import basket

register = template.Library()


@register.filter
def money(amount_minor: int, currency: str) -> str:
    """``{{ price.amount_minor|money:price.currency }}`` → ``¥38.00``."""
    return formats.money(amount_minor, currency)


@register.filter
def currency_symbol(currency: str) -> str:
    """``CNY`` → ``¥``, ``HKD`` → ``HK$``: the sign a price in ``currency`` starts with."""
    return formats.currency_symbol(currency)


@register.filter
def data_amount(size_bytes: int, unit: str = "") -> str:
    """Bytes as GB (one decimal) from 1 GB up, else whole MB; ``unit`` forces one."""
    return formats.data_amount(size_bytes, unit)


@register.filter
def mb_amount(megabytes: int) -> str:
    """A plan's data, given in MB, as text."""
    return formats.mb_amount(megabytes)


@register.filter
def gb_amount(gigabytes: int) -> str:
    """Whole or decimal GB (a flexible plan's choice) as text: ``5 GB``."""
    return formats.gb_amount(gigabytes)


@register.filter
def minutes(seconds: int) -> str:
    """Seconds of talk time as ``3 min``."""
    return formats.minutes(seconds)


@register.filter
def min_amount(count: int) -> str:
    """A number of minutes (a flexible plan's choice) as ``100 min``."""
    return formats.min_amount(count)


@register.filter
def time_left(left: timedelta) -> str:
    """``3 days left``, or ``5 hours left`` when a day or less is left."""
    return formats.time_left(left)


@register.filter
def percent_of(part: int, whole: int) -> int:
    """Whole percent, 0 to 100; 0 when there is no whole."""
    return formats.percent_of(part, whole)


@register.filter
def country_name(code: str) -> str:
    """``JP`` → "Japan" (or "日本") in the active language."""
    return formats.country_name(code)


@register.filter
def country_names(codes: list[str]) -> str:
    """``["JP", "KR"]`` as "Japan, South Korea" (or "日本、韩国") in the active language."""
    return formats.country_names(codes)


@register.filter
def basket_query(items: list[Any]) -> str:
    """The query string that carries ``items`` (a recommendation's) to the page that buys them."""
    return basket.basket_query(items)
