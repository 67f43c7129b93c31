"""Display filters: money, data, minutes. Amounts are stored as integers; this is where they
become text."""

from typing import Any

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from plans import basket
from plans.models import GB, MB

register = template.Library()

SYMBOLS = {"CNY": "¥", "HKD": "HK$", "USD": "US$"}
# ISO 4217 minor units of the currencies we sell in (all two).
EXPONENT = {"CNY": 2, "HKD": 2, "USD": 2}


@register.filter
def money(amount_minor: int, currency: str) -> str:
    """``{{ price.amount_minor|money:price.currency }}`` → ``¥38.00``."""
    exponent = EXPONENT.get(currency, 2)
    major, minor = divmod(int(amount_minor), 10**exponent)
    return f"{SYMBOLS.get(currency, currency + ' ')}{major:,}.{minor:0{exponent}d}"


@register.filter
def currency_symbol(currency: str) -> str:
    """``CNY`` → ``¥``, ``HKD`` → ``HK$``: the sign a price in ``currency`` starts with."""
    return SYMBOLS.get(currency, currency)


@register.filter
def data_amount(size_bytes: int) -> str:
    """Bytes as GB (one decimal) from 1 GB up, else whole MB."""
    size_bytes = max(int(size_bytes), 0)
    if size_bytes >= GB:
        value = f"{size_bytes / GB:.1f}".removesuffix(".0")
        return _("%(value)s GB") % {"value": value}
    return _("%(value)s MB") % {"value": f"{size_bytes // MB:,}"}


@register.filter
def mb_amount(megabytes: int) -> str:
    """A plan's data, given in MB, as text."""
    return data_amount(int(megabytes) * MB)


@register.filter
def minutes(seconds: int) -> str:
    return _("%(count)s min") % {"count": f"{max(int(seconds), 0) // 60:,}"}


@register.filter
def percent_of(part: int, whole: int) -> int:
    """Whole percent, 0 to 100; 0 when there is no whole."""
    if not whole:
        return 0
    return max(0, min(100, round(100 * int(part) / int(whole))))


@register.filter
def country_names(codes: list[str]) -> str:
    """``["JP", "KR"]`` as "Japan, South Korea" (or "日本、韩国") in the active language."""
    from plans.recommender import country_name

    return pgettext("list separator", ", ").join(country_name(code) for code in codes)


@register.filter
def basket_query(items: list[Any]) -> str:
    """The query string that carries ``items`` (a recommendation's) to the page that buys them."""
    return basket.basket_query(items)
