"""A support-desk member finds a customer by their number as the customer wrote it, reads the
customer's page (lines, orders, notices and emails, support requests, the second step, failed
log-ins, the saved card), sends an email again, resets the authenticator, unlocks the log-in,
removes the card and saves the form: in English and in Chinese, with the second step."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from auditlog.models import LogEntry  # type: ignore[import-untyped]
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from billing.models import PaymentProfile
from plans.models import Plan
from tests.browser.conftest import Screenshot
from tests.browser.staff import staff_admin
from tests.customer_desk import (
    audit_diff,  # noqa: F401  (until the audit trail's fix merges)
    customer_with_everything,
)

SHOTS = Path("/work/shots/customer")
# How the customer wrote their number on the phone to the desk.
SPELLED = {"en": "(+86) 138 0013 8000", "zh-hans": "0086 138-0013-8000"}
# The success message each button leaves, in each language.
DONE = {
    "en": {
        "resend": "The email is on its way again to",
        "reset": "The authenticator app and recovery codes are removed",
        "unlock": "Failed log-ins forgotten",
        "card": "The saved card visa •••• 4242 is removed",
    },
    "zh-hans": {
        "resend": "邮件已重新发往",
        "reset": "身份验证器应用和恢复码已删除",
        "unlock": "登录失败记录已清除",
        "card": "已删除保存的银行卡 visa •••• 4242",
    },
}
PANELS = ["lines", "orders", "messages", "support", "second-step", "lockout", "card"]


def keep(paths: list[Path]) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for path in paths:
        shutil.copy(path, SHOTS / path.name)


def success(page: Page, text: str) -> None:
    expect(page.locator(".messagelist .success")).to_contain_text(text)


def confirm_with_reason(page: Page, reason: str) -> None:
    page.locator("#id_reason").fill(reason)
    page.locator(".customer-confirm button[type=submit]").click()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_staff_find_a_customer_by_a_spelled_number_and_work_from_their_page(
    browser: Browser,
    live_server: LiveServer,
    staff: User,
    customer: User,
    plans: dict[str, Plan],
    screenshot: Screenshot,
    language: str,
) -> None:
    made = customer_with_everything(customer, lines=2)
    page = staff_admin(browser, live_server, staff, language)

    page.goto(f"{live_server.url}/admin/accounts/user/")
    page.locator("#searchbar").fill(SPELLED[language])
    page.locator("#searchbar").press("Enter")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    keep(screenshot(page, "search"))
    rows.first.locator("th a").click()

    for key in PANELS:
        expect(page.locator(f"#panel-{key}")).to_be_visible()
    lines = page.locator("#panel-lines")
    expect(lines.locator("h3")).to_have_count(2)
    expect(lines).to_contain_text("GB")
    expect(page.locator("#panel-orders tbody tr")).to_have_count(4)
    expect(page.locator("#panel-lockout")).to_contain_text("203.0.113.9")
    expect(page.locator("#panel-card")).to_contain_text("visa •••• 4242")
    keep(screenshot(page, "customer"))

    page.locator("#panel-messages .customer-action button").first.click()
    success(page, DONE[language]["resend"])

    page.locator("#panel-second-step .customer-action button").click()
    keep(screenshot(page, "confirm-reset"))
    confirm_with_reason(page, "lost their phone")
    success(page, DONE[language]["reset"])
    expect(page.locator("#panel-second-step .customer-action")).to_have_count(0)

    page.locator("#panel-lockout .customer-action button").click()
    success(page, DONE[language]["unlock"])
    expect(page.locator("#panel-lockout .customer-action")).to_have_count(0)

    page.locator("#panel-card .customer-action button").click()
    confirm_with_reason(page, "card reported stolen")
    success(page, DONE[language]["card"])
    keep(screenshot(page, "after-actions"))

    page.locator("#id_language").select_option("zh-hans")
    page.locator("#id_email").fill("fixed@example.com")
    page.locator("input[name=_continue]").click()
    expect(page.locator(".messagelist .success")).to_be_visible()
    expect(page.locator(".errornote")).to_have_count(0)

    customer.refresh_from_db()
    assert (customer.language, customer.email) == ("zh-hans", "fixed@example.com")
    assert not PaymentProfile.objects.get(user=customer).has_card
    resent = made["emails"][-1]  # the newest notice's, at the top of the list
    resent.refresh_from_db()
    assert (resent.status, resent.attempts) == ("pending", 0)
    actions = {
        entry.additional_data.get("action")
        for entry in LogEntry.objects.get_for_object(customer)
        if entry.additional_data
    }
    assert actions == {"email_resend", "two_factor_reset", "unlock", "card_remove"}
    assert LogEntry.objects.get_for_object(customer).filter(actor=staff, additional_data__isnull=True).exists()
