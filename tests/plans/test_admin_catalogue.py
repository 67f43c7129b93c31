"""The catalogue's guard rails in the admin: prices in major units beside their currency, countries
from the ISO list, a plan on sale refused while a currency has no price, and every change audited."""

from __future__ import annotations

import re
from typing import Any

import pytest
from auditlog.models import LogEntry  # type: ignore[import-untyped]
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import User
from plans.admin.catalogue_forms import MajorUnitsField, PriceForm
from plans.models import Plan, Price
from tests.plans.admin_catalogue_helpers import change_url, plan_form, post_plan, price_rows, with_price
from tests.security.helpers import log_in_with_second_step

pytestmark = pytest.mark.django_db

ADD = reverse("admin:plans_plan_add")
CHANGELIST = reverse("admin:plans_plan_changelist")


@pytest.fixture
def desk(client: Any, staff: User) -> Any:
    """The test client, logged in to the admin as staff (with the second step), in English."""
    staff.language = "en"
    staff.save(update_fields=["language"])
    log_in_with_second_step(client, staff)
    return client


def errors_of(response: Any) -> list[str]:
    """Every error the change form shows: the plan's fields and its price rows."""
    assert response.status_code == 200, response.status_code
    form = response.context["adminform"].form
    shown = [str(message) for messages in form.errors.values() for message in messages]
    for inline in response.context["inline_admin_formsets"]:
        shown += [str(message) for message in inline.formset.non_form_errors()]
        for row in inline.formset.errors:
            shown += [str(message) for messages in row.values() for message in messages]
    return shown


def audit_entries(obj: Any) -> list[Any]:
    kind = ContentType.objects.get_for_model(type(obj))
    return list(LogEntry.objects.filter(content_type=kind, object_pk=str(obj.pk)).order_by("pk"))


@pytest.mark.parametrize(
    ("typed", "minor"),
    [
        ("59", 5900),
        ("59.9", 5990),
        ("59.90", 5990),
        ("¥ 59.00", 5900),
        ("￥59", 5900),
        ("CNY 59.00", 5900),
        ("HK$12.5", 1250),
        ("1,059.50", 105950),
        ("５９．００", 5900),
        ("59.000", 5900),
        (".5", 50),
        ("0", 0),
    ],
)
def test_a_price_typed_in_major_units_is_kept_in_minor_units(typed: str, minor: int) -> None:
    assert MajorUnitsField().clean(typed) == minor


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter the price."),
        ("-1", "An amount cannot be negative."),
        ("-0.50", "An amount cannot be negative."),
        ("59.001", "Use at most two decimal places, such as 59.90."),
        ("abc", "Enter an amount such as 59.00."),
        ("1e5", "Enter an amount such as 59.00."),
        ("NaN", "Enter an amount such as 59.00."),
        ("59..0", "Enter an amount such as 59.00."),
        ("1" * 400, "Enter at most 1,000,000.00."),
    ],
)
def test_a_bad_price_says_what_is_wrong(typed: str, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        MajorUnitsField().clean(typed)
    assert refused.value.messages == [message]


def test_a_rate_left_empty_is_nothing_and_shows_empty() -> None:
    rate = MajorUnitsField(required=False)
    assert rate.clean("") == 0
    assert rate.prepare_value(0) == ""
    assert MajorUnitsField().prepare_value(5900) == "59.00"
    assert not rate.has_changed(0, "")
    assert not MajorUnitsField().has_changed(3800, "38.00")
    assert MajorUnitsField().has_changed(3800, "38.01")


def test_a_price_row_shows_its_amount_in_major_units_after_its_currency_sign(plans: dict[str, Plan]) -> None:
    price = plans["basic-10"].prices.get(currency="HKD")
    html = str(PriceForm(instance=price)["amount_minor"])
    assert "data-price-symbol>HK$</span>" in html
    assert 'value="42.00"' in html


def test_the_change_page_shows_prices_in_yuan_and_a_row_for_a_missing_currency(desk, plans):
    plan = plans["basic-10"]
    plan.prices.filter(currency="USD").delete()
    page = desk.get(change_url(plan)).content.decode()
    assert 'name="prices-0-amount_minor" value="38.00"' in page
    assert "data-price-symbol>¥</span>" in page
    # The missing currency has its row ready, and no more rows can be added than currencies.
    assert re.search(r'name="prices-2-currency"[^>]*>.*?<option value="USD" selected>', page, re.S)
    assert 'name="prices-MAX_NUM_FORMS" value="3"' in page


def test_staff_change_a_price_in_yuan_and_the_change_is_audited(desk, staff, plans):
    plan = plans["basic-10"]
    response = post_plan(desk, plan, rows=with_price(price_rows(plan), "CNY", amount_minor="¥39.90"))
    assert response.status_code == 302, errors_of(response)
    price = plan.prices.get(currency="CNY")
    assert price.amount_minor == 3990
    [entry] = audit_entries(price)
    assert entry.actor == staff
    assert entry.changes_dict["amount_minor"] == ["3800", "3990"]
    assert audit_entries(plan) == []  # nothing of the plan itself changed


def test_a_bad_price_is_a_form_error_not_a_save(desk, plans):
    plan = plans["basic-10"]
    response = post_plan(desk, plan, rows=with_price(price_rows(plan), "CNY", amount_minor="-5"))
    assert "An amount cannot be negative." in errors_of(response)
    assert plan.prices.get(currency="CNY").amount_minor == 3800


def test_removing_the_only_yuan_price_of_a_plan_on_sale_is_refused(desk, plans):
    plan = plans["basic-10"]
    response = post_plan(desk, plan, rows=with_price(price_rows(plan), "CNY", DELETE="on"))
    assert errors_of(response) == [
        "This plan is on sale but has no price in CNY, so customers who pay in it cannot see the plan. "
        "Add the price, or take the plan off sale."
    ]
    assert plan.prices.filter(currency="CNY").exists()
    assert not LogEntry.objects.exists()


def test_a_plan_off_sale_may_lose_a_price_and_the_removal_is_audited(desk, staff, plans):
    plan = plans["basic-10"]
    cny = plan.prices.get(currency="CNY")
    response = post_plan(desk, plan, is_active=False, rows=with_price(price_rows(plan), "CNY", DELETE="on"))
    assert response.status_code == 302, errors_of(response)
    assert not Price.objects.filter(pk=cny.pk).exists()
    [removed] = audit_entries(cny)
    assert (removed.action, removed.actor) == (LogEntry.Action.DELETE, staff)
    [taken_off_sale] = audit_entries(plan)
    assert taken_off_sale.changes_dict["is_active"] == ["True", "False"]


def test_a_new_plan_on_sale_needs_a_price_in_every_currency(desk):
    fields = dict(code="roam-sg-5", kind="roaming", is_addon=True, name_en="Singapore", name_zh="新加坡")
    fields |= dict(data_mb=1024, minutes=0, sms=0, validity_days=5, countries=["SG"], sort_order=9)
    fields |= dict(flex_data_gb_min=0, flex_data_gb_max=0, flex_minutes_min=0, flex_minutes_max=0)
    rows = [{"currency": "CNY", "amount_minor": "20"}, {"currency": "HKD"}, {"currency": "USD"}]
    data = plan_form(None, rows=rows, **fields)
    assert errors_of(desk.post(ADD, data)) == [
        "This plan is on sale but has no price in HKD, USD, so customers who pay in them cannot see the "
        "plan. Add the prices, or take the plan off sale."
    ]
    rows = [{"currency": "CNY", "amount_minor": "20"}, {"currency": "HKD", "amount_minor": "22"}]
    rows.append({"currency": "USD", "amount_minor": "2.90"})
    response = desk.post(ADD, plan_form(None, rows=rows, **fields))
    assert response.status_code == 302, errors_of(response)
    plan = Plan.objects.get(code="roam-sg-5")
    assert plan.countries == ["SG"]
    assert dict(plan.prices.values_list("currency", "amount_minor")) == {"CNY": 2000, "HKD": 2200, "USD": 290}
    assert len(audit_entries(plan)) == 1
    assert all(len(audit_entries(price)) == 1 for price in plan.prices.all())


def test_a_flexible_plan_on_sale_needs_its_rates(desk, plans):
    plan = plans["flex"]
    rows = with_price(price_rows(plan), "HKD", per_gb_minor="")
    assert errors_of(post_plan(desk, plan, rows=rows)) == [
        "This flexible plan is on sale but its price in HKD has no rate per GB. Enter the rate, or take the "
        "plan off sale."
    ]
    assert plan.prices.get(currency="HKD").per_gb_minor == 280


def test_countries_are_picked_from_the_list_and_stored_as_codes(desk, plans):
    plan = plans["roam-jpkr-7"]
    response = post_plan(desk, plan, countries=["FR", "KR", "JP"])
    assert response.status_code == 302, errors_of(response)
    plan.refresh_from_db()
    assert plan.countries == ["JP", "KR", "FR"]  # the plan's own order kept, the new one after


@pytest.mark.parametrize("junk", [["Thailand"], ["sg"], ["5"], ["JPN"], ["<script>"]])
def test_junk_countries_are_refused(desk, plans, junk):
    plan = plans["roam-jpkr-7"]
    shown = errors_of(post_plan(desk, plan, countries=["JP", *junk]))
    assert shown == [f"Not an ISO 3166-1 country code: {junk[0]}."]
    plan.refresh_from_db()
    assert plan.countries == ["JP", "KR"]


def test_a_roaming_pack_without_countries_is_refused(desk, plans):
    shown = errors_of(post_plan(desk, plans["roam-jpkr-7"], countries=[]))
    assert shown == ["A roaming pack needs at least one country."]


def test_the_plan_itself_refuses_junk_countries_from_the_shell(plans):
    plan = plans["roam-jpkr-7"]
    plan.countries = ["Thailand", "sg", 5]
    with pytest.raises(ValidationError) as refused:
        plan.full_clean()
    assert refused.value.message_dict == {
        "countries": [
            "Not ISO 3166-1 country codes: Thailand, sg, 5. Use two-letter codes in capitals, such as JP or KR."
        ]
    }
    plan.countries = {"JP": 1}
    with pytest.raises(ValidationError):
        plan.full_clean()
    plan.countries = ["JP", "SG"]
    plan.full_clean()


def test_junk_stored_before_is_named_on_the_change_page(desk, plans):
    plan = plans["roam-jpkr-7"]
    Plan.objects.filter(pk=plan.pk).update(countries=["Thailand", "sg", 5])
    page = desk.get(change_url(plan)).content.decode()
    assert "Stored codes that are not ISO country codes, dropped when you save: Thailand, 5." in page
    assert '<option value="SG" selected>Singapore</option>' in page


def test_putting_a_plan_on_sale_from_the_list_is_refused_while_a_price_is_missing(desk, plans):
    plan = plans["topup-5"]
    Plan.objects.filter(pk=plan.pk).update(is_active=False)
    plan.prices.filter(currency="HKD").delete()
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-0-id": str(plan.pk),
        "form-0-is_active": "on",
        "_save": "Save",
    }
    response = desk.post(CHANGELIST, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "This plan is on sale but has no price in HKD" in page
    plan.refresh_from_db()
    assert not plan.is_active


def test_a_plan_with_every_price_goes_on_sale_from_the_list_and_it_is_audited(desk, staff, plans):
    plan = plans["topup-5"]
    Plan.objects.filter(pk=plan.pk).update(is_active=False)
    data = {"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": str(plan.pk), "form-0-is_active": "on"}
    response = desk.post(CHANGELIST, {**data, "_save": "Save"})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.is_active
    [entry] = audit_entries(plan)
    assert (entry.actor, entry.changes_dict) == (staff, {"is_active": ["False", "True"]})


def test_the_list_links_to_the_check_page_which_lists_every_gap(desk, plans, django_assert_max_num_queries):
    plans["basic-10"].prices.filter(currency="USD").delete()
    plans["flex"].prices.filter(currency="CNY").update(per_100_minutes_minor=0)
    Plan.objects.filter(code="roam-hkmo-7").update(countries=["Thailand", "sg", 5])
    Plan.objects.filter(code="roam-eu-15").update(countries=[], is_active=False)
    check = reverse("admin:plans_plan_check")
    assert f'href="{check}"' in desk.get(CHANGELIST).content.decode()

    with django_assert_max_num_queries(12):
        response = desk.get(check)
    rows = {str(plan): messages for plan, messages in response.context["rows"]}
    assert rows == {
        str(plans["basic-10"]): [
            "This plan is on sale but has no price in USD, so customers who pay in it cannot see the plan. "
            "Add the price, or take the plan off sale."
        ],
        str(plans["flex"]): [
            "This flexible plan is on sale but its price in CNY has no rate per 100 minutes. Enter the rate, "
            "or take the plan off sale."
        ],
        str(plans["roam-hkmo-7"]): [
            "Not ISO 3166-1 country codes: Thailand, sg, 5. Use two-letter codes in capitals, such as JP or KR."
        ],
        str(plans["roam-eu-15"]): ["A roaming pack needs at least one country."],
    }
    assert f'href="{change_url(plans["flex"])}"' in response.content.decode()


def test_the_check_page_says_so_when_there_is_no_gap(desk, plans):
    page = desk.get(reverse("admin:plans_plan_check")).content.decode()
    assert 'id="catalogue-gaps-none"' in page


def test_the_check_page_is_for_staff_only(client, customer):
    client.force_login(customer)
    response = client.get(reverse("admin:plans_plan_check"))
    assert response.status_code == 302


def test_the_plan_page_in_chinese_has_its_headings_and_sort_order_translated(desk, staff, plans):
    staff.language = "zh-hans"
    staff.save(update_fields=["language"])
    page = desk.get(change_url(plans["basic-10"])).content.decode()
    headings = re.findall(r'<h2 id="fieldset-[^"]*-heading" class="fieldset-heading">([^<]+)</h2>', page)
    assert headings == ["名称", "额度", "自选套餐"]
    assert re.search(r'<label[^>]* for="id_sort_order">排序：</label>', page)
    assert '<option value="JP">日本</option>' in page


BAD_POSTS: list[dict[str, Any]] = [
    {"prices-0-amount_minor": "¥¥¥"},
    {"prices-0-amount_minor": "9" * 5000},
    {"prices-0-currency": "XXX"},
    {"prices-1-currency": "CNY"},
    {"prices-0-id": "not-a-number"},
    {"prices-TOTAL_FORMS": "abc"},
    {"prices-TOTAL_FORMS": "5000"},
    {"countries": ["Thailand", "<b>x</b>", ""]},
    {"kind": "nonsense"},
    {"kind": "flexible", "is_addon": "on"},
    {"flex_data_gb_min": "9", "flex_data_gb_max": "1"},
    {"validity_days": "0"},
    {"data_mb": "-1"},
    {"code": ""},
]


@pytest.mark.parametrize("bad", BAD_POSTS)
def test_bad_input_is_never_a_500(desk, plans, bad):
    plan = plans["roam-jpkr-7"]
    response = desk.post(change_url(plan), {**plan_form(plan), **bad})
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert errors_of(response)
