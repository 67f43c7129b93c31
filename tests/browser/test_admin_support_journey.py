"""The support queue, walked in the browser: a customer writes to support from the help page;
staff (logged in with the second step, in English or Chinese) find the request in the queue,
assign it to themselves, leave an internal note and reply; the customer reads the reply (and
not the note) on the help page and in their notices, and answers back, which reopens it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import EmailDelivery, Notice, SupportMessage, SupportRequest, User
from tests.browser.conftest import Screenshot
from tests.browser.staff import staff_admin
from tests.factories import PASSWORD

SHOTS = Path("/work/shots/support")

WORDS = {
    "en": {
        "message": "My data stopped working after I landed in Bangkok this morning.",
        "note": "Roaming was barred at the network by mistake; unbarred it.",
        "reply": "We have fixed your roaming. Turn flight mode on and off, and data comes back.",
        "sent": "Reply sent by email and as a notice in the site.",
        "answered": "Answered",
        "notice": "Our team answered you",
        "customer_reply": "Thank you, data works again now.",
    },
    "zh-hans": {
        "message": "今天早上到曼谷以后，我的流量用不了了。",
        "note": "网络侧误封了漫游，已解封。",
        "reply": "我们已为您恢复漫游。请开关一次飞行模式，流量即可恢复。",
        "sent": "回复已通过邮件和站内通知发送。",
        "answered": "已回复",
        "notice": "客服已回复您",
        "customer_reply": "谢谢，流量已经恢复了。",
    },
}


def keep(paths: list[Path], language: str) -> None:
    """Copy the screenshots the brief asks to look at: 360 px in Chinese, 1280 px in English."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    wanted = "-phone.png" if language == "zh-hans" else "-desktop.png"
    for path in paths:
        if path.name.endswith(wanted):
            shutil.copy(path, SHOTS / path.name)


def customer_logs_in(page: Page, base: str, customer: User, language: str) -> None:
    customer.language = language
    customer.save(update_fields=["language"])
    page.goto(f"{base}/accounts/login/")
    page.locator("#id_username").fill("138 0013 8000")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("html")).to_have_attribute("lang", language)


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_staff_assign_note_and_reply_and_the_customer_reads_the_reply_on_the_help_page(
    browser: Browser,
    live_server: LiveServer,
    page: Page,
    customer: User,
    staff: User,
    screenshot: Screenshot,
    language: str,
) -> None:
    words = WORDS[language]
    base = live_server.url

    # The customer writes to support.
    customer_logs_in(page, base, customer, language)
    page.goto(f"{base}/support/")
    page.locator("#id_topic").select_option("data")
    page.locator("#id_message").fill(words["message"])
    page.locator("main form button[type=submit]").last.click()
    request = SupportRequest.objects.get(user=customer)
    expect(page.locator("main")).to_contain_text(request.reference)

    # Staff find it in the queue, new, and open it.
    desk = staff_admin(browser, live_server, staff, language)
    desk.goto(f"{base}/admin/accounts/supportrequest/")
    row = desk.locator("#result_list tbody tr").first
    expect(row).to_contain_text(request.reference)
    keep(screenshot(desk, "queue"), language)
    row.get_by_role("link", name=request.reference).click()
    expect(desk.locator("#content")).to_contain_text(words["message"])

    # Assign to self, leave an internal note, reply; save and stay on the page.
    desk.locator("#id_assignee").select_option(label="ops")
    desk.locator("#id_note").fill(words["note"])
    desk.locator("#id_reply").fill(words["reply"])
    desk.locator('input[name="_continue"]').click()
    expect(desk.locator(".messagelist")).to_contain_text(words["sent"])
    thread = desk.locator(".support-thread")
    expect(thread).to_contain_text(words["note"])
    expect(thread).to_contain_text(words["reply"])
    expect(thread.locator(".support-note")).to_have_count(1)
    keep(screenshot(desk, "request-answered"), language)

    request.refresh_from_db()
    assert (request.status, request.assignee) == (SupportRequest.Status.WAITING, staff)
    reply = SupportMessage.objects.get(request=request, kind=SupportMessage.Kind.REPLY)
    assert EmailDelivery.objects.get(support_message=reply).to == customer.email

    # "Assigned to me" lists it.
    desk.goto(f"{base}/admin/accounts/supportrequest/?assignee=mine")
    expect(desk.locator("#result_list tbody tr")).to_have_count(1)

    # The customer reads the reply on the help page, never the note.
    page.goto(f"{base}/support/")
    item = page.locator(f"#request-{request.pk}")
    expect(item).to_contain_text(words["reply"])
    expect(item).to_contain_text(words["answered"])
    expect(page.locator("main")).not_to_contain_text(words["note"])
    keep(screenshot(page, "customer-help-page"), language)

    # ... and in their notices.
    page.goto(f"{base}/notices/")
    expect(page.locator("ul.notices")).to_contain_text(words["notice"])
    assert Notice.objects.filter(user=customer, kind=Notice.Kind.SUPPORT_REPLIED).count() == 1
    keep(screenshot(page, "customer-notices"), language)

    # The customer answers back from the request's page: it is new again for staff.
    page.goto(f"{base}/support/{request.pk}/")
    page.locator("#id_body").fill(words["customer_reply"])
    page.locator("main form button[type=submit]").click()
    expect(page.locator("main .support-thread")).to_contain_text(words["customer_reply"])
    keep(screenshot(page, "customer-thread"), language)
    request.refresh_from_db()
    assert request.status == SupportRequest.Status.NEW
    desk.goto(f"{base}/admin/accounts/supportrequest/{request.pk}/change/")
    expect(desk.locator(".support-thread")).to_contain_text(words["customer_reply"])
