"""Staff change a plan in the admin, then find the change in the audit trail: the global list
filtered by themselves shows the old and new value, and so does the plan's History page. In
English and Chinese."""

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from plans.models import Plan
from tests.browser.conftest import Screenshot
from tests.browser.staff import staff_admin

SHOTS = Path("/work/shots/audit")

TEXT = {
    "en": {"saved": "was changed successfully", "field": "Validity (days)", "history": "Change history", "who": "ops"},
    "zh-hans": {"saved": "成功", "field": "有效期（天）", "history": "历史", "who": "ops"},
}


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_staff_find_their_plan_change_in_the_audit_trail(
    browser: Browser,
    live_server: LiveServer,
    staff: User,
    plans: dict[str, Plan],
    screenshot: Screenshot,
    language: str,
) -> None:
    text = TEXT[language]
    plan = plans["basic-30"]
    page = staff_admin(browser, live_server, staff, language)

    # Change the plan's validity from 30 to 45 days, and save.
    page.goto(f"{live_server.url}/admin/plans/plan/{plan.pk}/change/")
    page.locator("#id_validity_days").fill("45")
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist .success")).to_contain_text(text["saved"])

    # The audit trail, filtered by this staff member: the change, old → new.
    page.goto(f"{live_server.url}/admin/auditlog/logentry/")
    page.locator("#changelist-filter a", has_text=text["who"]).first.click()
    expect(page).to_have_url(f"{live_server.url}/admin/auditlog/logentry/?actor={staff.pk}")
    row = page.locator("#result_list tbody tr", has_text=plan.code).first
    change = row.locator(".audit-changes li", has_text=text["field"])
    expect(change.locator(".audit-old")).to_have_text("30")
    expect(change.locator(".audit-new")).to_have_text("45")
    shots = screenshot(page, "audit-list")

    # From the entry to the plan, and to the plan's History page.
    row.locator("td.field-what a").click()
    expect(page.locator("#id_validity_days")).to_have_value("45")
    page.locator("a.historylink").click()
    entry = page.locator("#audit-history tr.audit-entry").first
    expect(entry).to_contain_text(text["who"])
    expect(entry.locator(".audit-changes li", has_text=text["field"]).locator(".audit-new")).to_have_text("45")
    expect(page.locator("#content h1")).to_contain_text(text["history"])
    shots += screenshot(page, "history")

    # The entry itself, from the audit trail's list.
    page.locator("#audit-history tr.audit-entry").first.locator("th a").first.click()
    page.locator("#result_list tbody tr").first.locator("th a").click()
    expect(page.locator(".field-old_to_new .audit-new")).to_have_text("45")
    shots += screenshot(page, "entry")

    SHOTS.mkdir(parents=True, exist_ok=True)
    for path in shots:
        shutil.copy(path, SHOTS / path.name)
