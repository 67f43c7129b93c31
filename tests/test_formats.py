"""boomcard.formats: how amounts, times, countries and numbers read, in Chinese and English."""

import ast
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from boomcard import formats
from boomcard.formats import GB, MB

ZH, EN = "zh-hans", "en"


def in_language(language, function, *args):
    with translation.override(language):
        return function(*args)


@pytest.mark.parametrize(
    ("amount_minor", "currency", "text"),
    [
        (3800, "CNY", "¥38.00"),
        (0, "CNY", "¥0.00"),
        (5, "CNY", "¥0.05"),
        (123456789, "HKD", "HK$1,234,567.89"),
        (1990, "USD", "US$19.90"),
        (-150, "CNY", "-¥1.50"),
        (100, "EUR", "EUR 1.00"),  # a currency we do not sell in leads with its code
        (100, "", "1.00"),
    ],
)
def test_money_reads_the_same_in_both_languages(amount_minor, currency, text):
    assert in_language(ZH, formats.money, amount_minor, currency) == text
    assert in_language(EN, formats.money, amount_minor, currency) == text


def test_currency_symbol_is_the_sign_or_the_code():
    assert [formats.currency_symbol(code) for code in ("CNY", "HKD", "USD", "EUR")] == ["¥", "HK$", "US$", "EUR"]


@pytest.mark.parametrize(
    ("size_bytes", "text"),
    [
        (0, "0 MB"),
        (-5, "0 MB"),
        (MB - 1, "0 MB"),
        (MB, "1 MB"),
        (1023 * MB, "1,023 MB"),
        (GB - 1, "1,023 MB"),
        (GB, "1 GB"),
        (GB + GB // 2, "1.5 GB"),
        (GB + GB // 100, "1 GB"),  # one decimal, and a trailing .0 dropped
        (10 * GB + GB // 3, "10.3 GB"),
        (1500 * GB, "1500 GB"),
    ],
)
def test_data_amount_is_whole_mb_below_a_gb_and_gb_to_one_decimal_above(size_bytes, text):
    assert in_language(EN, formats.data_amount, size_bytes) == text
    assert in_language(ZH, formats.data_amount, size_bytes) == text  # the units read the same in Chinese


def test_mb_and_gb_amounts_are_the_same_units():
    assert formats.mb_amount(10240) == formats.data_amount(10 * GB) == "10 GB"
    assert formats.mb_amount(512) == "512 MB"
    assert formats.gb_amount(Decimal("10.40")) == "10.4 GB"
    assert formats.gb_amount(Decimal("2.301")) == "2.31 GB"  # rounded up to two decimals
    assert formats.gb_amount(10) == "10 GB"
    assert formats.gb_amount(0) == "0 GB"


def test_minutes_and_sms_in_both_languages():
    assert in_language(EN, formats.minutes, 179) == "2 min"
    assert in_language(ZH, formats.minutes, 60_000) == "1,000 分钟"
    assert in_language(EN, formats.minutes, -60) == "0 min"
    assert in_language(EN, formats.min_amount, 100) == "100 min"
    assert in_language(EN, formats.minutes_count, 1) == "1 minute"
    assert in_language(EN, formats.minutes_count, 1000) == "1,000 minutes"
    assert in_language(ZH, formats.minutes_count, 1) == "1 分钟"
    assert in_language(EN, formats.sms_count, 1) == "1 SMS"
    assert in_language(ZH, formats.sms_count, 50) == "50 条短信"


def test_percent_of_stays_between_0_and_100():
    assert [formats.percent_of(part, whole) for part, whole in [(1, 3), (5, 0), (7, 5), (-1, 5)]] == [33, 0, 100, 0]


@pytest.mark.parametrize(
    ("left", "english", "chinese"),
    [
        (timedelta(days=30), "30 days left", "剩余 30 天"),
        (timedelta(days=1, seconds=1), "2 days left", "剩余 2 天"),  # part of a day counts as one
        (timedelta(days=1), "24 hours left", "剩余 24 小时"),  # a day or less reads in hours
        (timedelta(minutes=61), "2 hours left", "剩余 2 小时"),
        (timedelta(minutes=1), "1 hour left", "剩余 1 小时"),
        (timedelta(0), "1 hour left", "剩余 1 小时"),  # never "0 hours"
    ],
)
def test_time_left_in_days_then_hours(left, english, chinese):
    assert in_language(EN, formats.time_left, left) == english
    assert in_language(ZH, formats.time_left, left) == chinese


def test_whole_days_and_hours_left_round_up_and_never_go_below_zero():
    assert formats.days_left(timedelta(days=29, hours=1)) == 30
    assert formats.hours_left(timedelta(minutes=1)) == 1
    assert formats.days_left(-timedelta(days=2)) == formats.hours_left(-timedelta(hours=2)) == 0


def test_date_time_in_the_active_time_zone_and_blank_for_nonsense():
    moment = datetime(2026, 3, 1, 6, 5, tzinfo=UTC)
    with timezone.override(ZoneInfo("Asia/Shanghai")):
        assert formats.date_time(moment) == "2026-03-01 14:05"
        assert formats.date_time(moment.isoformat()) == "2026-03-01 14:05"
    assert formats.date_time("not a date") == formats.date_time("") == formats.date_time(None) == ""


def test_country_names_in_both_languages_and_an_unknown_code_as_itself():
    assert in_language(EN, formats.country_name, "KR") == "South Korea"
    assert in_language(ZH, formats.country_name, "KR") == "韩国"
    assert in_language(EN, formats.country_name, "ZZ") == "ZZ"
    assert in_language(EN, formats.country_names, ["JP", "KR"]) == "Japan, South Korea"
    assert in_language(ZH, formats.country_names, ["JP", "KR"]) == "日本、韩国"
    assert formats.country_names([]) == ""


def test_every_iso_country_is_named_in_both_languages_with_our_wording_for_hk_mo_tw():
    assert len(formats.country_choices()) == 249
    assert in_language(EN, formats.country_name, "SG") == "Singapore"
    assert in_language(ZH, formats.country_name, "SG") == "新加坡"
    assert in_language(EN, formats.country_names, ["HK", "MO", "TW"]) == "Hong Kong, Macau, Taiwan"
    assert in_language(ZH, formats.country_names, ["HK", "MO", "TW"]) == "中国香港、中国澳门、中国台湾"
    assert in_language(ZH, formats.country_name, "KP") == "朝鲜"
    # What is not an upper-case alpha-2 code shows as given, whatever it is.
    assert [formats.country_name(code) for code in ("sg", "JPN", "Thailand", 5)] == ["sg", "JPN", "Thailand", "5"]
    assert formats.is_country_code("JP")
    assert not any(formats.is_country_code(code) for code in ("jp", "JPN", "ZZ", "", None, 5, ["JP"]))


def test_list_text_joins_the_last_with_and():
    assert in_language(EN, formats.list_text, ["3 GB", "50 minutes", "7 SMS"]) == "3 GB, 50 minutes and 7 SMS"
    assert in_language(ZH, formats.list_text, ["3 GB", "50 分钟", "7 条短信"]) == "3 GB、50 分钟和7 条短信"
    assert formats.list_text(["3 GB"]) == "3 GB"
    assert formats.list_text([]) == ""


def test_phone_number_reads_as_the_site_shows_it():
    parsed = phonenumbers.parse("+8613800138000")
    assert formats.phone_number(parsed) == "+86 138 0013 8000"
    assert formats.phone_number("+8613800138000") == "+86 138 0013 8000"
    assert formats.phone_number("13800138000") == "+86 138 0013 8000"  # read in the default region
    assert formats.phone_number("+85251234567") == "+852 5123 4567"
    assert formats.phone_number("call me") == "call me"
    assert formats.phone_number("+86123") == "+86123"  # not a valid number: as given
    assert formats.phone_number("") == formats.phone_number(None) == ""


@pytest.mark.django_db
def test_phone_number_matches_the_number_field_on_the_page():
    from tests.factories import LineFactory

    line = LineFactory.create()
    assert formats.phone_number(line.msisdn) == str(line.msisdn)


def test_template_filters_give_the_module_s_text():
    template = Template(
        "{% load boom %}{{ amount|money:'HKD' }}|{{ size|data_amount }}|{{ mb|mb_amount }}|{{ seconds|minutes }}"
        "|{{ gb|gb_amount }}|{{ count|min_amount }}|{{ left|time_left }}|{{ code|country_name }}"
        "|{{ codes|country_names }}|{{ 'USD'|currency_symbol }}|{{ 1|percent_of:4 }}"
    )
    context = Context(
        {
            "amount": 1990,
            "size": GB,
            "mb": 1023,
            "seconds": 120,
            "gb": 5,
            "count": 300,
            "left": timedelta(days=3),
            "code": "JP",
            "codes": ["HK", "MO"],
        }
    )
    with translation.override(ZH):
        assert template.render(context) == (
            "HK$19.90|1 GB|1,023 MB|2 分钟|5 GB|300 分钟|剩余 3 天|日本|中国香港、中国澳门|US$|25"
        )


def test_the_module_imports_no_app_of_ours():
    tree = ast.parse((Path(formats.__file__)).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported = {name.split(".")[0] for name in imported}
    assert not imported & {"accounts", "plans", "billing"}


def test_a_notice_shows_the_number_amount_and_time_as_the_pages_do():
    from accounts.models import Notice
    from accounts.notice_text import notice_text

    written = datetime(2026, 3, 1, 6, 5, tzinfo=UTC)
    notice = Notice(
        kind=Notice.Kind.RENEWAL_REMINDER,
        params={"msisdn": "+8613800138000", "expires_at": (written + timedelta(hours=20)).isoformat()},
        created_at=written,
    )
    paid = Notice(
        kind=Notice.Kind.PAYMENT_CONFIRMED,
        params={"msisdn": "+8613800138000", "amount_minor": 3800, "currency": "CNY", "plan_name_en": "Basic 10"},
    )
    with translation.override(EN), timezone.override(ZoneInfo("Asia/Shanghai")):
        text = notice_text(notice)
        assert text.title == "Your plan runs out in 20 hours"
        assert "The plan on +86 138 0013 8000 runs out on 2026-03-02 10:05." in text.body
        assert notice_text(paid).body.startswith("We received ¥38.00 for Basic 10 on +86 138 0013 8000 ")
