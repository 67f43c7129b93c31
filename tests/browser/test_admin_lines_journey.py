"""Staff run lines from the admin, in English and in Chinese: import a CSV file with one bad row
(a preview first, then the good rows), open a customer's line, give it 7 days of goodwill with a
reason, and see the new expiry; the customer then reads the notice in their own notices."""

from __future__ import annotations

import re
import zoneinfo
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone, translation
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from boomcard.formats import date_time
from plans.models import Line
from tests.browser.conftest import DESKTOP_VIEWPORT, TIMEOUT_MS, Screenshot
from tests.browser.staff import BROWSER_LOCALE, staff_admin
from tests.factories import PASSWORD, iccid

# What each step reads in each language.
WORDS = {
    "en": {
        "import": "Import lines",
        "check": "Check the file",
        "summary": "2 created, 0 updated, 0 unchanged, 1 rejected",
        "bad_row": "eid: An EID is 32 digits.",
        "confirm": "Import the good rows",
        "imported": "Lines imported: 2 created, 0 updated, 0 unchanged, 1 rejected",
        "goodwill": "Give goodwill",
        "reason": "Network problem",
        "gave": "Gave 7 days to",
        "notice": "A gift from Boom support",
        "notice_body": "Our support team added 7 days to",
    },
    "zh-hans": {
        "import": "导入号码",
        "check": "检查文件",
        "summary": "新建 2 条，更新 0 条，未变 0 条，拒绝 1 条",
        "bad_row": "eid: EID 应为 32 位数字。",
        "confirm": "导入正确的行",
        "imported": "号码已导入：新建 2 条，更新 0 条，未变 0 条，拒绝 1 条",
        "goodwill": "提供补偿",
        "reason": "网络故障",
        "gave": "天，现有效期至",
        "notice": "Boom 客服送您一份补偿",
        "notice_body": "客服已为",
    },
}


def import_csv(tmp_path: Path, base: int) -> Path:
    """Three rows: two good, and row 3 with an EID of three digits."""
    path = tmp_path / "lines.csv"
    path.write_text(
        "msisdn,iccid,eid,smdp_address,matching_id\n"
        f"+8525124{base:04d},{iccid(base)},,smdp.boom.example,M-{base}\n"
        f"+8525124{base + 1:04d},{iccid(base + 1)},123,smdp.boom.example,M-{base + 1}\n"
        f"+8525124{base + 2:04d},{iccid(base + 2)},,smdp.boom.example,M-{base + 2}\n",
        encoding="utf-8",
    )
    return path


def customer_notices(browser: Browser, base: str, customer: User) -> Page:
    """The customer, logged in in their own browser, on their notices page."""
    context = browser.new_context(
        viewport=DESKTOP_VIEWPORT, locale=BROWSER_LOCALE[customer.language], timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.locator("#id_username").fill("13800138000")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")
    page.goto(f"{base}/notices/")
    return page


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_staff_import_lines_then_give_a_customer_seven_days_and_the_customer_is_told(
    browser: Browser,
    live_server: LiveServer,
    staff: User,
    line: Line,
    screenshot: Screenshot,
    tmp_path: Path,
    language: str,
) -> None:
    words = WORDS[language]
    base = live_server.url
    customer = line.owner
    assert customer is not None
    assert line.expires_at is not None
    customer.language = language
    customer.save(update_fields=["language"])
    page = staff_admin(browser, live_server, staff, language)

    # Import: a preview that saves nothing, with the bad row and why.
    page.goto(f"{base}/admin/plans/line/")
    page.get_by_role("link", name=words["import"]).click()
    expect(page).to_have_url(f"{base}/admin/plans/line/import/")
    page.locator("input[type=file]").set_input_files(import_csv(tmp_path, 300))
    page.get_by_role("button", name=words["check"]).click()
    expect(page.locator(".import-summary")).to_have_text(words["summary"])
    bad_row = page.locator("#import-errors tbody tr")
    expect(bad_row).to_have_count(1)
    expect(bad_row.locator("td").first).to_have_text("3")
    expect(bad_row.locator("td").last).to_have_text(words["bad_row"])
    assert Line.objects.filter(iccid=iccid(300)).count() == 0
    screenshot(page, "import-preview")

    page.get_by_role("button", name=words["confirm"]).click()
    expect(page.locator("ul.messagelist")).to_contain_text(words["imported"])
    assert Line.objects.filter(iccid__in=[iccid(300), iccid(302)], owner=None).count() == 2
    screenshot(page, "import-done")

    # Goodwill: from the customer's line, 7 days for a network problem.
    page.goto(f"{base}/admin/plans/line/?q={line.iccid}")
    page.locator("#result_list tbody tr th a").first.click()
    expect(page).to_have_url(re.compile(rf"/admin/plans/line/{line.pk}/change/"))
    expect(page.locator("input[name=msisdn]")).to_have_count(0)  # read-only: the line has an owner
    page.get_by_role("link", name=words["goodwill"]).click()
    expect(page).to_have_url(f"{base}/admin/plans/line/{line.pk}/goodwill/")
    expect(page.locator("input[name=days]")).to_have_value("7")
    page.locator("select[name=reason]").select_option(label=words["reason"])
    page.locator("textarea[name=note]").fill("Tower down in Kowloon, 1 Dec")
    screenshot(page, "goodwill-form")
    page.get_by_role("button", name=words["goodwill"]).click()

    expect(page).to_have_url(f"{base}/admin/plans/line/{line.pk}/change/")
    old_expiry = line.expires_at
    line.refresh_from_db()
    assert line.expires_at == old_expiry + timedelta(days=7)
    with translation.override(language), timezone.override(zoneinfo.ZoneInfo(settings.CUSTOMER_DEFAULT_TIME_ZONE)):
        new_expiry = date_time(line.expires_at)
    message = page.locator("ul.messagelist li.success")
    expect(message).to_contain_text(words["gave"])
    expect(message).to_contain_text(new_expiry)
    screenshot(page, "goodwill-given")

    # Its bucket, named by the number, in GB, minutes and SMS, ends with the line.
    page.goto(f"{base}/admin/plans/bucket/?q={line.iccid}")
    row = page.locator("#result_list tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator(".field-line_number")).to_have_text(re.compile(r"^\+852 5"))
    expect(row.locator("td.field-data")).to_contain_text("GB")
    screenshot(page, "buckets")

    # The customer reads it on their notices page, in their language.
    notices = customer_notices(browser, base, customer)
    notice = notices.locator("ul.notices > li").first
    expect(notice.locator("h2")).to_have_text(words["notice"])
    expect(notice).to_contain_text(words["notice_body"])
    expect(notice).to_contain_text(new_expiry)
    screenshot(notices, "customer-notice")
