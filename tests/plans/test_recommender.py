"""The recommender on the demo catalogue, with every expected price worked out by hand.

CNY prices (plans/demo.py): basic-10 ¥38 (10 GB, 100 min, 50 SMS), basic-30 ¥68 (30 GB, 300 min,
100 SMS), bigdata-100 ¥128 (100 GB, 500 min, 100 SMS), flex ¥5 + ¥2.50 a GB + ¥5 per 100 minutes
(1–100 GB, 0–1,000 min, 50 SMS), topup-5 ¥15 (5 GB), roam-hkmo-7 ¥25 (3 GB, 7 days),
roam-jpkr-7 ¥45 (5 GB, 7 days), roam-eu-15 ¥98 (10 GB, 15 days). All home plans last 30 days.
"""

from decimal import Decimal

import pytest
from django.utils import translation

from boomcard.formats import country_name
from plans.demo import seed_catalogue
from plans.forms import RecommendForm
from plans.models import GB, Plan, Price
from plans.pricing import FlexibleChoice
from plans.recommendation_text import recommendation_why
from plans.recommender import Need, Option, Trip, need_from_usage, options_for, plan_recommend, roaming_countries
from plans.selectors import catalogue


@pytest.fixture
def cny(db) -> list[Plan]:
    seed_catalogue()
    return list(catalogue(currency="CNY"))


def contents(option: Option) -> list[tuple[str, int]]:
    return [(item.plan.code, item.quantity) for item in option.items]


def costs(options) -> list[tuple[list[tuple[str, int]], int]]:
    return [(contents(option), option.cost_minor) for option in options]


def in_memory_plan(code: str, price: int | None, *, sort_order: int = 0, **fields) -> Plan:
    plan = Plan(code=code, name_en=code, name_zh=code, sort_order=sort_order, **fields)
    plan.price_in = [Price(plan=plan, currency="CNY", amount_minor=price)] if price is not None else []  # type: ignore[attr-defined]
    return plan


# Home use only


def test_light_user_gets_the_flexible_plan_at_its_least_amounts(cny):
    # flex 3 GB + 100 minutes (50 rounded up): 500 + 3 × 250 + 500 = 1750, under basic-10's 3800.
    answer = plan_recommend(need=Need(data_gb=Decimal(3), minutes=50), plans=cny, currency="CNY")
    assert answer.covers
    assert costs(answer.options) == [([("flex", 1)], 1750), ([("basic-10", 1)], 3800), ([("basic-30", 1)], 6800)]
    assert answer.best is not None
    assert answer.best.items[0].choice == FlexibleChoice(data_gb=3, minutes=100)
    assert [option.extra_minor for option in answer.alternatives] == [2050, 5050]
    assert recommendation_why(answer) == (
        "Covers 3 GB and 50 minutes for ¥17.50 a month; the next option costs ¥20.50 more."
    )


def test_25_gb_and_100_minutes_is_cheapest_on_basic_30_not_basic_10_with_top_ups(cny):
    # basic-30 6800; flex 25 GB + 100 min = 500 + 6250 + 500 = 7250; basic-10 + 3 top-ups = 3800 + 4500 = 8300.
    answer = plan_recommend(need=Need(data_gb=Decimal(25), minutes=100), plans=cny, currency="CNY")
    assert costs(answer.options) == [
        ([("basic-30", 1)], 6800),
        ([("flex", 1)], 7250),
        ([("basic-10", 1), ("topup-5", 3)], 8300),
    ]


def test_25_gb_without_calls_the_flexible_plan_undercuts_basic_30_by_50_fen(cny):
    # flex 25 GB + 0 min = 500 + 6250 = 6750.
    answer = plan_recommend(need=Need(data_gb=Decimal(25)), plans=cny, currency="CNY")
    assert costs(answer.options)[:2] == [([("flex", 1)], 6750), ([("basic-30", 1)], 6800)]
    assert recommendation_why(answer) == "Covers 25 GB for ¥67.50 a month; the next option costs ¥0.50 more."


def test_decimal_gb_rounds_up_to_a_whole_gb_on_the_flexible_plan(cny):
    # 2.3 GB → flex 3 GB + 0 min = 500 + 750 = 1250.
    answer = plan_recommend(need=Need(data_gb=Decimal("2.3")), plans=cny, currency="CNY")
    assert answer.best is not None
    assert answer.best.items[0].choice == FlexibleChoice(data_gb=3, minutes=0)
    assert answer.best.cost_minor == 1250


def test_more_sms_than_flexible_and_basic_10_give_moves_to_basic_30(cny):
    # 60 SMS: flex and basic-10 hold 50, so neither covers.
    answer = plan_recommend(need=Need(data_gb=Decimal(3), sms=60), plans=cny, currency="CNY")
    assert costs(answer.options) == [([("basic-30", 1)], 6800), ([("bigdata-100", 1)], 12800)]
    assert recommendation_why(answer) == "Covers 3 GB and 60 SMS for ¥68.00 a month; the next option costs ¥60.00 more."


def test_equal_costs_go_to_fewer_purchases(cny):
    # 40 GB: basic-30 + 2 top-ups 9800; flex 500 + 10000 = 10500; bigdata-100 12800 and
    # basic-10 + 6 top-ups 3800 + 9000 = 12800: the single purchase comes first.
    options = options_for(need=Need(data_gb=Decimal(40)), plans=cny, currency="CNY")
    assert costs(options) == [
        ([("basic-30", 1), ("topup-5", 2)], 9800),
        ([("flex", 1)], 10500),
        ([("bigdata-100", 1)], 12800),
        ([("basic-10", 1), ("topup-5", 6)], 12800),
    ]


def test_90_gb_is_cheaper_on_big_data_than_on_the_flexible_plan(cny):
    # bigdata-100 12800; flex 500 + 90 × 250 = 23000; basic-30 + 12 top-ups 6800 + 18000 = 24800.
    answer = plan_recommend(need=Need(data_gb=Decimal(90)), plans=cny, currency="CNY")
    assert costs(answer.options) == [
        ([("bigdata-100", 1)], 12800),
        ([("flex", 1)], 23000),
        ([("basic-30", 1), ("topup-5", 12)], 24800),
    ]


def test_150_gb_gets_big_data_and_ten_top_ups_as_the_flexible_plan_stops_at_100_gb(cny):
    # bigdata-100 + 10 top-ups 12800 + 15000 = 27800; basic-30 + 24 top-ups 6800 + 36000 = 42800;
    # basic-10 + 28 top-ups 3800 + 42000 = 45800.
    answer = plan_recommend(need=Need(data_gb=Decimal(150)), plans=cny, currency="CNY")
    assert costs(answer.options) == [
        ([("bigdata-100", 1), ("topup-5", 10)], 27800),
        ([("basic-30", 1), ("topup-5", 24)], 42800),
        ([("basic-10", 1), ("topup-5", 28)], 45800),
    ]
    flexible = next(
        o for o in options_for(need=Need(data_gb=Decimal(150)), plans=cny, currency="CNY") if o.plan.code == "flex"
    )
    assert not flexible.covers


# Trips


def test_a_week_in_japan_adds_one_pack_to_the_cheapest_home_plan(cny):
    # Abroad: 10 GB × 7/30 = 2.3 GB, within one 5 GB pack (4500). Home: flex 10 GB + 100 min
    # 500 + 2500 + 500 = 3500 → 8000; basic-10 3800 → 8300; basic-30 6800 → 11300.
    need = Need(data_gb=Decimal(10), minutes=100, trips=(Trip("JP", 7),))
    answer = plan_recommend(need=need, plans=cny, currency="CNY")
    assert costs(answer.options) == [
        ([("flex", 1), ("roam-jpkr-7", 1)], 8000),
        ([("basic-10", 1), ("roam-jpkr-7", 1)], 8300),
        ([("basic-30", 1), ("roam-jpkr-7", 1)], 11300),
    ]
    assert recommendation_why(answer) == (
        "Covers 10 GB, 100 minutes and 7 days in Japan for ¥80.00 a month; the next option costs ¥3.00 more."
    )


def test_data_used_abroad_beyond_one_pack_buys_a_second(cny):
    # Abroad: 30 GB × 7/30 = 7 GB > 5 GB: 2 packs (9000) though 7 days need one. Home: basic-30 6800.
    need = Need(data_gb=Decimal(30), trips=(Trip("JP", 7),))
    answer = plan_recommend(need=need, plans=cny, currency="CNY")
    assert answer.best is not None
    assert contents(answer.best) == [("basic-30", 1), ("roam-jpkr-7", 2)]
    assert answer.best.cost_minor == 15800
    # Bought for the data, not the days: both packs run side by side from the start.
    assert [item.in_turn for item in answer.best.items] == [False, False]


def test_a_trip_longer_than_a_pack_lasts_buys_a_pack_for_each_week(cny):
    # 10 days in Korea: ceil(10/7) = 2 packs (9000). Home: flex 1 GB = 500 + 250 = 750.
    need = Need(data_gb=Decimal(1), trips=(Trip("KR", 10),))
    answer = plan_recommend(need=need, plans=cny, currency="CNY")
    assert answer.best is not None
    assert contents(answer.best) == [("flex", 1), ("roam-jpkr-7", 2)]
    assert answer.best.cost_minor == 9750
    # Bought for the days: the second pack starts when the first ends.
    assert [item.in_turn for item in answer.best.items] == [False, True]


def test_two_trips_each_get_their_own_packs(cny):
    # Hong Kong 3 days: 1 pack (2500). France 20 days: ceil(20/15) = 2 packs, 6 × 20/30 = 4 GB
    # fits: 19600. Home: flex 6 GB = 500 + 1500 = 2000. Total 24100.
    need = Need(data_gb=Decimal(6), trips=(Trip("HK", 3), Trip("FR", 20)))
    answer = plan_recommend(need=need, plans=cny, currency="CNY")
    assert answer.best is not None
    assert contents(answer.best) == [("flex", 1), ("roam-hkmo-7", 1), ("roam-eu-15", 2)]
    assert [country_name(item.trip.country) if item.trip else None for item in answer.best.items[1:]] == [
        "Hong Kong",
        "France",
    ]
    assert answer.best.cost_minor == 24100
    assert [item.in_turn for item in answer.best.items] == [False, False, True]


# Nothing covers


def test_more_minutes_than_anything_gives_says_so_and_shows_the_largest(cny):
    # 2,000 minutes: flex stops at 1,000 (10 GB + 1,000 min = 500 + 2500 + 5000 = 8000), the
    # most of any plan; bigdata-100 has 500.
    answer = plan_recommend(need=Need(data_gb=Decimal(10), minutes=2000), plans=cny, currency="CNY")
    assert not answer.covers
    assert answer.best is not None
    assert answer.best.items[0].choice == FlexibleChoice(data_gb=10, minutes=1000)
    assert answer.best.cost_minor == 8000
    assert answer.alternatives == ()
    assert recommendation_why(answer) == (
        "Nothing we sell covers 10 GB and 2,000 minutes. "
        "The closest option gives 10 GB, 1,000 minutes and 50 SMS for ¥80.00 a month."
    )


def test_when_the_closest_plans_fall_short_alike_the_cheaper_is_shown(cny):
    # 500 SMS: basic-30 and bigdata-100 both hold 100; basic-30 costs less.
    answer = plan_recommend(need=Need(data_gb=Decimal(1), sms=500), plans=cny, currency="CNY")
    assert not answer.covers
    assert answer.best is not None
    assert contents(answer.best) == [("basic-30", 1)]


def test_nothing_on_sale_in_the_currency_says_so():
    answer = plan_recommend(need=Need(data_gb=Decimal(1)), plans=[], currency="USD")
    assert answer.best is None
    assert recommendation_why(answer) == "No plans are on sale in USD right now."


# Currencies and validity


def test_prices_come_in_the_currency_asked_for(db):
    # HKD: flex 600 + 3 × 280 + 550 = 1990; basic-10 HK$42.
    seed_catalogue()
    answer = plan_recommend(
        need=Need(data_gb=Decimal(3), minutes=50), plans=list(catalogue(currency="HKD")), currency="HKD"
    )
    assert costs(answer.options)[:2] == [([("flex", 1)], 1990), ([("basic-10", 1)], 4200)]
    assert recommendation_why(answer).startswith("Covers 3 GB and 50 minutes for HK$19.90 a month")


def test_a_plan_not_sold_in_the_currency_is_left_out():
    cheap = in_memory_plan("cheap", None, kind=Plan.Kind.BASIC, data_mb=10 * 1024, validity_days=30)
    dear = in_memory_plan("dear", 9900, kind=Plan.Kind.BASIC, data_mb=10 * 1024, validity_days=30)
    options = options_for(need=Need(data_gb=Decimal(1)), plans=[cheap, dear], currency="CNY")
    assert costs(options) == [([("dear", 1)], 9900)]


def test_a_weekly_plan_is_bought_five_times_a_month_and_counts_30_days_of_data():
    # 2 GB a week: ceil(30/7) = 5 purchases (5000); its data over 30 days is 2 × 30/7 = 8.57 GB.
    weekly = in_memory_plan("weekly", 1000, kind=Plan.Kind.BASIC, data_mb=2 * 1024, validity_days=7)
    top_up = in_memory_plan(
        "top-up", 1500, kind=Plan.Kind.BASIC, is_addon=True, data_mb=5 * 1024, validity_days=30, sort_order=1
    )
    enough = options_for(need=Need(data_gb=Decimal(8)), plans=[weekly, top_up], currency="CNY")
    assert costs(enough) == [([("weekly", 5)], 5000)]
    assert enough[0].data_mb == 8777  # 2048 × 30/7, rounded down
    short = options_for(need=Need(data_gb=Decimal(9)), plans=[weekly, top_up], currency="CNY")
    assert costs(short) == [([("weekly", 5), ("top-up", 1)], 6500)]


def test_a_quarterly_plan_costs_a_third_of_its_price_a_month_rounded_up():
    # 10000 × 30/90 = 3333.33 → 3334; 90 GB over 90 days is 30 GB a month.
    quarterly = in_memory_plan("quarterly", 10000, kind=Plan.Kind.BIG_DATA, data_mb=90 * 1024, validity_days=90)
    options = options_for(need=Need(data_gb=Decimal(30)), plans=[quarterly], currency="CNY")
    assert costs(options) == [([("quarterly", 1)], 3334)]
    assert options[0].covers
    assert not options_for(need=Need(data_gb=Decimal("30.1")), plans=[quarterly], currency="CNY")[0].covers


# From usage; the countries


def test_usage_averages_three_months_rounding_up():
    # 31 GB / 3 = 10.33 → 10.4 GB; 54,001 s / 3 = 300.006 min → 301; 31 SMS / 3 → 11.
    need = need_from_usage(data_bytes=31 * GB, voice_seconds=54_001, sms=31)
    assert need == Need(data_gb=Decimal("10.4"), minutes=301, sms=11)
    assert need_from_usage(data_bytes=30 * GB, voice_seconds=0, sms=0) == Need(data_gb=Decimal(10))


def test_country_choices_follow_the_packs_then_the_names(cny):
    countries = roaming_countries(cny)
    assert countries[:6] == ["HK", "MO", "JP", "KR", "AT", "BE"]
    assert len(countries) == 22
    assert countries[-1] == "GB"  # United Kingdom, last of Europe by name


def test_country_choices_are_sorted_in_the_language_of_the_page(cny):
    """The order by name is kept per language in each process: a page in Chinese never gets the
    English order kept before it, nor the other way round."""
    english = roaming_countries(cny)
    with translation.override("zh-hans"):
        chinese = roaming_countries(cny)
        assert chinese[4:] == sorted(chinese[4:], key=country_name)  # Europe's pack, by its Chinese names
    assert sorted(chinese) == sorted(english)
    assert chinese != english
    assert roaming_countries(cny) == english


def test_junk_stored_before_the_admin_checked_codes_is_never_offered(cny):
    pack = next(plan for plan in cny if plan.is_addon and plan.countries == ["JP", "KR"])
    # Saved with .update(), as rows written before Plan.clean() refused such codes.
    Plan.objects.filter(pk=pack.pk).update(countries=["JP", "Thailand", "sg", 5, "KR"])
    pack.refresh_from_db()
    countries = roaming_countries([pack])
    assert countries == ["JP", "KR"]


# The form


def form(**data) -> RecommendForm:
    return RecommendForm({"data_gb": "3", **data}, countries=["HK", "MO", "JP", "KR", "FR"])


def test_form_gives_the_need_with_its_trips():
    bound = form(
        data_gb="12.5", minutes="200", sms="", trip1_country="JP", trip1_days="7", trip3_country="FR", trip3_days="3"
    )
    assert bound.is_valid(), bound.errors
    assert bound.need() == Need(data_gb=Decimal("12.5"), minutes=200, sms=0, trips=(Trip("JP", 7), Trip("FR", 3)))


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"data_gb": "-1"}, "data_gb", "Enter 0 or more."),
        ({"data_gb": "5000"}, "data_gb", "Enter at most 1,000 GB: no one uses more in a month."),
        ({"data_gb": "lots"}, "data_gb", "Enter a number of GB, like 12 or 2.5."),
        ({"data_gb": "NaN"}, "data_gb", "Enter a number of GB, like 12 or 2.5."),
        ({"minutes": "-5"}, "minutes", "Enter 0 or more."),
        ({"minutes": "20000"}, "minutes", "Enter at most 10,000 minutes."),
        ({"sms": "99999"}, "sms", "Enter at most 10,000 SMS."),
        ({"trip1_country": "XX", "trip1_days": "3"}, "trip1_country", "Choose a country from the list."),
        ({"trip1_country": "JP", "trip1_days": "40"}, "trip1_days", "A month has at most 31 days."),
        ({"trip1_country": "JP", "trip1_days": "0"}, "trip1_days", "Enter at least 1 day."),
        ({"trip1_country": "JP"}, "trip1_days", "How many days will you be there this month?"),
        ({"trip2_days": "4"}, "trip2_country", "Choose the country."),
        (
            {"trip1_country": "JP", "trip1_days": "20", "trip2_country": "FR", "trip2_days": "15"},
            "trip2_days",
            "Your trips add up to 35 days, but a month has at most 31.",
        ),
    ],
)
def test_form_puts_bad_input_on_its_field(data, field, message):
    bound = form(**data)
    assert not bound.is_valid()
    assert bound.errors[field] == [message]
