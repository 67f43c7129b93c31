"""How amounts read: money, data, minutes, time left, countries and phone numbers, in the active
language. Templates (through ``plans/templatetags/boom.py``), emails, notices, receipts and the
recommender's page all format here; domain code hands over numbers and codes, never sentences.

Infrastructure: imports no app of ours.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal

import phonenumbers
from django.conf import settings
from django.utils import formats, timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django_countries import countries

MB = 1024 * 1024
GB = 1024 * MB

SYMBOLS = {"CNY": "¥", "HKD": "HK$", "USD": "US$"}
# ISO 4217 minor units of the currencies we sell in (all two); another currency counts as two.
EXPONENT = {"CNY": 2, "HKD": 2, "USD": 2}


def money(amount_minor: int, currency: str) -> str:
    """``money(3800, "CNY")`` → ``¥38.00``; ``HK$``, ``US$``; another code leads as ``EUR 1.00``."""
    exponent = EXPONENT.get(currency, 2)
    amount_minor = int(amount_minor)
    sign = "-" if amount_minor < 0 else ""
    major, minor = divmod(abs(amount_minor), 10**exponent)
    digits = f"{major:,}.{minor:0{exponent}d}" if exponent else f"{major:,}"
    return f"{sign}{currency_symbol(currency, unknown=f'{currency} ' if currency else '')}{digits}"


def currency_symbol(currency: str, *, unknown: str | None = None) -> str:
    """``CNY`` → ``¥``, ``HKD`` → ``HK$``: the sign a price in ``currency`` starts with; the code
    itself (or ``unknown``) for a currency we do not sell in."""
    return SYMBOLS.get(currency, currency if unknown is None else unknown)


def data_amount(size_bytes: int, unit: str = "") -> str:
    """Bytes as GB (one decimal, ``.0`` dropped) from 1 GB up, else whole MB: ``1.5 GB``,
    ``1,023 MB``. Less than nothing reads as ``0 MB``. ``unit`` ("GB" or "MB") forces one, so
    that a chart's scale reads 0.5 GB, 1 GB, 1.5 GB rather than 512 MB, 1 GB, 1.5 GB."""
    size_bytes = max(int(size_bytes), 0)
    if unit == "GB" or (unit != "MB" and size_bytes >= GB):
        value = f"{size_bytes / GB:.1f}".removesuffix(".0")
        return _("%(value)s GB") % {"value": value}
    return _("%(value)s MB") % {"value": f"{size_bytes // MB:,}"}


def mb_amount(megabytes: int) -> str:
    """A plan's data, given in MB, as text."""
    return data_amount(int(megabytes) * MB)


def gb_amount(gigabytes: Decimal | int) -> str:
    """Gigabytes a customer asked for, to two decimals rounded up, trailing zeros dropped:
    ``Decimal("10.40")`` → ``10.4 GB``, ``3`` → ``3 GB``."""
    value = Decimal(gigabytes).quantize(Decimal("0.01"), rounding=ROUND_CEILING).normalize()
    return _("%(value)s GB") % {"value": f"{value:f}"}


def minutes(seconds: int) -> str:
    """Talk time given in seconds, as whole minutes (rounded down): ``3 min``."""
    return min_amount(int(seconds) // 60)


def min_amount(count: int) -> str:
    """Talk time given in minutes, short: ``100 min``."""
    return _("%(count)s min") % {"count": f"{max(int(count), 0):,}"}


def minutes_count(count: int) -> str:
    """``1 minute``, ``1,000 minutes``."""
    return ngettext("%(count)s minute", "%(count)s minutes", count) % {"count": f"{count:,}"}


def sms_count(count: int) -> str:
    """``1 SMS``, ``50 SMS``."""
    return ngettext("%(count)s SMS", "%(count)s SMS", count) % {"count": f"{count:,}"}


def percent_of(part: int, whole: int) -> int:
    """Whole percent, 0 to 100; 0 when there is no whole."""
    if not whole:
        return 0
    return max(0, min(100, round(100 * int(part) / int(whole))))


def days_left(left: timedelta) -> int:
    """Whole days left, part of a day counting as one: right after buying 30 days, 30."""
    return max(0, math.ceil(left / timedelta(days=1)))


def hours_left(left: timedelta) -> int:
    """Whole hours left, part of an hour counting as one."""
    return max(0, math.ceil(left / timedelta(hours=1)))


def time_left(left: timedelta) -> str:
    """``3 days left`` (part of a day counts as a day), or in hours when a day or less is left:
    ``5 hours left`` (at least one)."""
    if left > timedelta(days=1):
        days = days_left(left)
        return ngettext("%(days)s day left", "%(days)s days left", days) % {"days": days}
    hours = max(1, hours_left(left))
    return ngettext("%(hours)s hour left", "%(hours)s hours left", hours) % {"hours": hours}


def updated_ago(moment: datetime, now: datetime) -> str:
    """``Updated 5 minutes ago`` (the largest unit only: ``2 hours``, ``3 days``), or ``Updated
    just now`` within the minute."""
    if now - moment < timedelta(minutes=1):
        return _("Updated just now")
    return _("Updated %(ago)s ago") % {"ago": timesince(moment, now, depth=1)}


def date_time(moment: datetime | str | None) -> str:
    """A moment (or its ISO text) in the site's time zone: ``2026-03-01 14:05``; nothing readable
    gives ``""``."""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return ""
    if not isinstance(moment, datetime):
        return ""
    return formats.date_format(timezone.localtime(moment) if timezone.is_aware(moment) else moment, "Y-m-d H:i")


def country_name(code: object) -> str:
    """The country's name (ISO 3166-1, from django-countries) in the active language; what is not
    an alpha-2 code shows as itself. The names customers read for Hong Kong, Macau and Taiwan are
    set in settings (COUNTRIES_OVERRIDE)."""
    return (countries.name(str(code)) if is_country_code(code) else "") or str(code)


def is_country_code(code: object) -> bool:
    """True for an ISO 3166-1 alpha-2 code as we store it, upper-case: ``"JP"``, not ``"jp"``,
    ``"JPN"`` or ``"Japan"``."""
    return isinstance(code, str) and len(code) == 2 and countries.alpha2(code) == code


def country_choices() -> list[tuple[str, str]]:
    """Every ISO 3166-1 country as ``(code, name)`` in the active language, in django-countries'
    order (by name)."""
    return [(country.code, str(country.name)) for country in countries]


def country_names(codes: Iterable[object]) -> str:
    """``["JP", "KR"]`` as "Japan, South Korea" (or "日本、韩国") in the active language."""
    return pgettext("list separator", ", ").join(country_name(code) for code in codes)


def list_text(parts: list[str]) -> str:
    """``["a"]`` → ``a``; ``["a", "b", "c"]`` → ``a, b and c`` (``a、b和c``)."""
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0]
    return _("%(list)s and %(last)s") % {"list": pgettext("list separator", ", ").join(parts[:-1]), "last": parts[-1]}


def phone_number(msisdn: object) -> str:
    """A number as the site shows it and customers write it, international with spaces:
    ``+86 138 0013 8000``. Takes a ``PhoneNumber`` or its text (E.164 or as typed, read in the
    site's default region); what is not a valid number shows as given."""
    if msisdn is None:
        return ""
    if isinstance(msisdn, phonenumbers.PhoneNumber):
        number = msisdn
    else:
        try:
            number = phonenumbers.parse(str(msisdn), settings.PHONENUMBER_DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            return str(msisdn)
    if not phonenumbers.is_valid_number(number):
        return str(getattr(number, "raw_input", None) or msisdn)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
