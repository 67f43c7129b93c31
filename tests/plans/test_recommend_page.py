"""The recommender page: the answer in the URL, bad input on its field, a customer's own usage."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from boomcard.page_cache import catalogue_changed
from plans.models import GB, DailyUsage, Plan, usage_day
from tests.factories import LineFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("plans")]  # the demo catalogue
URL = reverse("plans:recommend")


def today():
    return usage_day(timezone.now())


def test_page_without_a_need_shows_only_the_form(client):
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "What do you use in a month?" in page
    assert 'name="trip3_country"' in page
    assert "Our suggestion" not in page


def test_anonymous_visitor_gets_the_answer_from_the_shared_url(client):
    response = client.get(URL, {"data_gb": "25", "minutes": "100", "sms": ""})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Our suggestion" in page
    assert "Basic 30 GB" in page
    assert "<strong>¥68.00</strong> a month" in page
    assert "Covers 25 GB and 100 minutes for ¥68.00 a month; the next option costs ¥4.50 more." in page
    assert "(¥4.50 more)" in page  # the flexible plan, 25 GB and 100 minutes
    assert "(¥15.00 more)" in page  # basic-10 and three top-ups
    assert "3 × Data top-up 5 GB" in page


def test_the_answer_drawn_before_is_not_shown_once_a_plan_it_names_changes(client):
    """The answer is kept drawn in each process under all it shows, its plans' every column
    included: a pack renamed in the admin is named anew in the same answer."""
    query = {"data_gb": "10", "minutes": "100", "trip1_country": "JP", "trip1_days": "7"}
    assert "Japan &amp; Korea 5 GB, 7 days, for Japan" in client.get(URL, query).content.decode()
    Plan.objects.filter(code="roam-jpkr-7").update(name_en="East Asia 5 GB, 7 days")
    page = client.get(URL, query).content.decode()
    assert "East Asia 5 GB, 7 days, for Japan" in page
    assert "Japan &amp; Korea 5 GB" not in page


def test_answer_with_a_trip_lists_the_pack_for_the_country(client):
    page = client.get(
        URL, {"data_gb": "10", "minutes": "100", "trip1_country": "JP", "trip1_days": "7"}
    ).content.decode()
    assert "Covers 10 GB, 100 minutes and 7 days in Japan for ¥80.00 a month" in page
    assert "Japan &amp; Korea 5 GB, 7 days, for Japan" in page
    assert "Flexible plan: 10 GB and 100 minutes" in page


def test_a_trip_longer_than_a_pack_shows_how_many_packs(client):
    # 10 days in Korea: 2 packs of 7 days.
    page = client.get(URL, {"data_gb": "1", "trip1_country": "KR", "trip1_days": "10"}).content.decode()
    assert "2 × Japan &amp; Korea 5 GB, 7 days, for South Korea, one after another" in page
    assert "item=roam-jpkr-7.2.t&amp;" in page  # the Buy this link carries it


def test_packs_for_the_data_run_side_by_side_and_say_nothing_more(client):
    # 30 GB × 7/30 = 7 GB in Japan: two 5 GB packs, both from the start.
    page = client.get(URL, {"data_gb": "30", "trip1_country": "JP", "trip1_days": "7"}).content.decode()
    assert "2 × Japan &amp; Korea 5 GB, 7 days, for Japan" in page
    assert "one after another" not in page
    assert "item=roam-jpkr-7.2&amp;" in page


def test_page_answers_in_chinese_with_the_chinese_plan_names():
    chinese = Client(headers={"Accept-Language": "zh-hans"})
    response = chinese.get(URL, {"data_gb": "25", "minutes": "100"})
    assert response.status_code == 200
    assert "基础套餐 30GB" in response.content.decode()


def test_currency_in_the_url_prices_the_answer_in_it(client):
    page = client.get(URL, {"data_gb": "3", "minutes": "50", "currency": "HKD"}).content.decode()
    assert "<strong>HK$19.90</strong> a month" in page
    assert 'name="currency" value="HKD"' in page


def test_need_nothing_covers_is_said_plainly(client):
    page = client.get(URL, {"data_gb": "10", "minutes": "2000"}).content.decode()
    assert "Nothing covers all of that" in page
    assert "Nothing we sell covers 10 GB and 2,000 minutes." in page
    assert "Another option" not in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"data_gb": "-3"}, "Enter 0 or more."),
        ({"data_gb": "5000"}, "Enter at most 1,000 GB: no one uses more in a month."),
        ({"data_gb": "3", "trip1_country": "ZZ", "trip1_days": "3"}, "Choose a country from the list."),
        ({"data_gb": "3", "trip1_country": "JP", "trip1_days": "99"}, "A month has at most 31 days."),
    ],
)
def test_bad_input_shows_the_error_on_the_field_and_no_answer(client, query, message):
    response = client.get(URL, query)
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert "field-invalid" in page
    assert "Our suggestion" not in page


def usage(line, days_ago: int, **amounts) -> DailyUsage:
    return DailyUsage.objects.create(line=line, day=today() - timedelta(days=days_ago), **amounts)


def test_customer_starts_from_the_first_lines_average_month_of_the_last_90_days(client):
    customer = UserFactory.create()
    line = LineFactory.create(owner=customer, nickname="Phone")
    # 31 GB (1 GB of it overage), 900 minutes and 30 SMS in 90 days → 10.4 GB, 300 min, 10 SMS.
    usage(line, 0, data=10 * GB, data_overage=GB)
    usage(line, 30, data=10 * GB, voice=30_000)
    usage(line, 89, data=10 * GB, voice=24_000, sms=30)
    usage(line, 90, data=500 * GB, voice=999_999, sms=999)  # 91 days ago: left out
    usage(LineFactory.create(owner=UserFactory.create()), 1, data=800 * GB)  # someone else's line
    client.force_login(customer)

    page = client.get(URL).content.decode()
    assert 'name="data_gb" value="10.4"' in page
    assert 'name="minutes" value="300"' in page
    assert 'name="sms" value="10"' in page
    # And the answer for it: flex 11 GB + 300 min = 500 + 2750 + 1500.
    assert "Based on what Phone used over the last 90 days." in page
    assert "<strong>¥47.50</strong> a month" in page


def test_customer_picks_another_of_their_lines(client):
    customer = UserFactory.create()
    first = LineFactory.create(owner=customer)
    second = LineFactory.create(owner=customer, nickname="Tablet")
    usage(first, 1, data=3 * GB)
    usage(second, 1, data=60 * GB)
    client.force_login(customer)

    page = client.get(URL, {"line": second.pk}).content.decode()
    assert 'name="data_gb" value="20"' in page
    assert "Based on what Tablet used over the last 90 days." in page
    assert f'href="?line={first.pk}"' in page
    assert 'name="line"' not in page  # a shared answer must not carry the line: it is not the reader's


def test_someone_elses_line_is_not_found(client):
    other = LineFactory.create(owner=UserFactory.create())
    usage(other, 1, data=30 * GB)
    client.force_login(LineFactory.create(owner=UserFactory.create()).owner)
    assert client.get(URL, {"line": other.pk}).status_code == 404
    assert client.get(URL, {"line": "not-a-number"}).status_code == 404


def test_submitted_need_wins_over_the_usage(client):
    customer = UserFactory.create()
    usage(LineFactory.create(owner=customer), 1, data=90 * GB)
    client.force_login(customer)
    page = client.get(URL, {"data_gb": "3", "minutes": "50"}).content.decode()
    assert 'name="data_gb" value="3"' in page
    assert "<strong>¥17.50</strong> a month" in page
    assert "over the last 90 days" not in page


def test_customer_without_usage_gets_an_empty_form(client):
    client.force_login(LineFactory.create(owner=UserFactory.create()).owner)
    page = client.get(URL).content.decode()
    assert "Our suggestion" not in page
    assert 'name="data_gb" value=' not in page


def queries_for(client, customer) -> int:
    client.force_login(customer)
    catalogue_changed()  # each reads the catalogue: not kept from the one before
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return len(queries)


def test_usage_is_read_in_the_same_number_of_queries_however_many_lines_and_days(client):
    light = UserFactory.create()
    usage(LineFactory.create(owner=light), 1, data=GB)
    heavy = UserFactory.create()
    lines = [LineFactory.create(owner=heavy) for _ in range(3)]
    for line in lines:
        for days_ago in range(60):
            usage(line, days_ago, data=GB, voice=60, sms=1)
    assert queries_for(client, light) == queries_for(client, heavy)


# --- What the line's own plan did (issue 18): a bigger plan's savings, or that it fits ---------


def on_plan(customer, code: str, **fields):
    from plans.models import Line, Plan

    line = LineFactory.create(owner=customer, nickname="Phone", **fields)
    Line.objects.filter(pk=line.pk).update(plan=Plan.objects.get(code=code))
    return line


def test_a_line_that_runs_out_every_month_is_told_what_a_bigger_plan_would_have_saved(client):
    customer = UserFactory.create()
    line = on_plan(customer, "basic-10")
    for month in range(3):  # 25 GB and 90 minutes a month
        usage(line, 1 + 30 * month, data=25 * GB, voice=90 * 60)
    client.force_login(customer)
    page = client.get(URL).content.decode()
    # Basic 10 GB with 3 top-ups (¥38 + ¥45) against Basic 30 GB (¥68): ¥15 a month, 3 months.
    assert (
        "At the pace Phone uses data, Basic 10 GB runs out before each month ends. Basic 30 GB would have "
        "saved you ¥45.00 over the last 90 days."
    ) in page


def test_a_plan_that_holds_the_month_fits(client):
    customer = UserFactory.create()
    line = on_plan(customer, "basic-30")
    usage(line, 1, data=40 * GB, voice=60 * 60)
    usage(line, 70, data=20 * GB, voice=60 * 60)
    client.force_login(customer)
    page = client.get(URL).content.decode()
    assert "Basic 30 GB fits what Phone used over the last 90 days." in page
    assert "would have saved" not in page


def test_a_line_used_for_less_than_two_months_is_not_judged(client):
    # A fortnight at 2 GB a day: the 90-day average (9.3 GB a month) would say a 30 GB plan fits,
    # while the line's forecast sees it run out. The page says nothing about the plan.
    customer = UserFactory.create()
    line = on_plan(customer, "basic-30")
    for days_ago in range(14):
        usage(line, days_ago, data=2 * GB)
    client.force_login(customer)
    page = client.get(URL).content.decode()
    assert "Based on what Phone used over the last 90 days." in page
    assert 'class="reco-fit"' not in page


def test_in_chinese():
    customer = UserFactory.create(language="zh-hans")
    line = on_plan(customer, "basic-10")
    usage(line, 1, data=50 * GB, voice=180 * 60)
    usage(line, 80, data=25 * GB, voice=90 * 60)
    chinese = Client(headers={"Accept-Language": "zh-hans"})
    chinese.force_login(customer)
    page = chinese.get(URL).content.decode()
    assert "基础套餐 10GB 每月都会提前用完。换成 基础套餐 30GB，过去 90 天可为您节省 ¥45.00。" in page


def test_runs_out_but_top_ups_cost_less_than_a_bigger_plan():
    from plans import recommender, selectors
    from plans.models import Plan

    # Without the flexible plan, 12 GB a month: Basic 10 GB and one top-up (¥53) beat Basic 30 GB (¥68).
    plans = [plan for plan in selectors.catalogue(currency="CNY") if not plan.is_flexible]
    need = recommender.need_from_usage(data_bytes=36 * GB, voice_seconds=3 * 90 * 60, sms=0)
    fit = recommender.plan_fit(need=need, current=Plan.objects.get(code="basic-10"), plans=plans, currency="CNY")
    assert fit is not None
    assert fit.runs_out
    assert fit.better is None
    assert fit.saved_minor == 0
    from plans.recommendation_text import plan_fit_text

    assert plan_fit_text(fit, "Phone").endswith("it fits.")
    # The line's plan not on sale in the currency: nothing said.
    assert recommender.plan_fit(need=need, current=Plan.objects.get(code="flex"), plans=plans, currency="CNY") is None
