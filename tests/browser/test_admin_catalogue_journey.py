"""Staff keep the catalogue in the admin, in English and in Chinese: they change a plan's price in
yuan (typed in yuan, beside its ¥), pick a roaming pack's countries from the ISO list by name in
their language, are refused when they remove the only CNY price of a plan on sale, and open the
catalogue check page, which lists what customers would miss."""

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from plans.models import Plan
from tests.browser.conftest import Screenshot
from tests.browser.staff import staff_admin

SHOTS = Path("/work/shots/catalogue")

WORDS = {
    "en": {
        "check": "Catalogue check",
        "singapore": "Singapore",
        "japan": "Japan",
        "choose_all": "Choose all countries",
        "refusal": "This plan is on sale but has no price in CNY",
        "usd_gap": "This plan is on sale but has no price in USD",
        "saved": "was changed successfully",
    },
    "zh-hans": {
        "check": "套餐目录检查",
        "singapore": "新加坡",
        "japan": "日本",
        "choose_all": "全选国家/地区",
        "refusal": "此套餐在售，但没有 CNY 价格",
        "usd_gap": "此套餐在售，但没有 USD 价格",
        "saved": "成功修改了",
    },
}


def keep(paths: list[Path]) -> None:
    """A copy of the screenshots where the session's report points."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for path in paths:
        shutil.copy(path, SHOTS / path.name)


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_staff_keep_the_catalogue_with_its_guard_rails(
    browser: Browser,
    live_server: LiveServer,
    staff: User,
    plans: dict[str, Plan],
    screenshot: Screenshot,
    language: str,
) -> None:
    words = WORDS[language]
    page = staff_admin(browser, live_server, staff, language)
    base = live_server.url
    basic = plans["basic-10"]

    # The price in yuan, shown and typed in yuan beside its sign.
    page.goto(f"{base}/admin/plans/plan/{basic.pk}/change/")
    cny = page.locator("#id_prices-0-amount_minor")
    expect(page.locator("#id_prices-0-currency")).to_have_value("CNY")
    expect(cny).to_have_value("38.00")
    expect(page.locator("#prices-0 [data-price-symbol]").first).to_have_text("¥")
    cny.fill("59.00")
    keep(screenshot(page, "price-in-yuan"))
    page.locator("input[name=_continue]").click()
    expect(page.locator("ul.messagelist")).to_contain_text(words["saved"])
    assert basic.prices.get(currency="CNY").amount_minor == 5900
    expect(page.locator("#id_prices-0-amount_minor")).to_have_value("59.00")

    # Countries picked from the list, named in the staff member's language.
    roaming = plans["roam-jpkr-7"]
    page.goto(f"{base}/admin/plans/plan/{roaming.pk}/change/")
    expect(page.locator("#id_countries_to option[value=JP]")).to_have_text(words["japan"])
    expect(page.locator("#id_countries_add_all")).to_have_text(words["choose_all"])
    page.locator("#id_countries_input").fill(words["singapore"])
    page.locator("#id_countries_from").select_option("SG")
    page.locator("#id_countries_add").click()
    expect(page.locator("#id_countries_to option[value=SG]")).to_have_text(words["singapore"])
    keep(screenshot(page, "countries"))
    page.locator("input[name=_continue]").click()
    expect(page.locator("ul.messagelist")).to_contain_text(words["saved"])
    roaming.refresh_from_db()
    assert roaming.countries == ["JP", "KR", "SG"]

    # Removing the only CNY price of a plan on sale is refused, and nothing is removed.
    page.goto(f"{base}/admin/plans/plan/{basic.pk}/change/")
    page.locator("#id_prices-0-DELETE").check()
    page.locator("input[name=_continue]").click()
    expect(page.locator(".errorlist.nonform")).to_contain_text(words["refusal"])
    keep(screenshot(page, "refused"))
    assert basic.prices.filter(currency="CNY").exists()

    # The check page, from the plan list, lists a plan on sale with a currency unpriced.
    plans["topup-5"].prices.filter(currency="USD").delete()
    page.goto(f"{base}/admin/plans/plan/")
    page.get_by_role("link", name=words["check"]).click()
    expect(page.locator("#content h1")).to_have_text(words["check"])
    expect(page.locator("#catalogue-gaps")).to_contain_text(words["usd_gap"])
    expect(page.locator("#catalogue-gaps tbody tr")).to_have_count(1)
    keep(screenshot(page, "check"))

    # From the check page to the plan: its USD row is ready; its sign follows the currency picked.
    page.locator("#catalogue-gaps a").first.click()
    usd_row = page.locator("#prices-2")
    expect(page.locator("#id_prices-2-currency")).to_have_value("USD")
    expect(usd_row.locator("[data-price-symbol]").first).to_have_text("US$")
    page.locator("#id_prices-2-currency").select_option("HKD")
    expect(usd_row.locator("[data-price-symbol]").first).to_have_text("HK$")
    page.locator("#id_prices-2-currency").select_option("USD")
    expect(usd_row.locator("[data-price-symbol]").first).to_have_text("US$")
    page.locator("#id_prices-2-amount_minor").fill("2.20")
    page.locator("input[name=_save]").click()
    expect(page.locator("ul.messagelist")).to_contain_text(words["saved"])
    assert plans["topup-5"].prices.get(currency="USD").amount_minor == 220
    page.goto(f"{base}/admin/plans/plan/check/")
    expect(page.locator("#catalogue-gaps-none")).to_be_visible()
