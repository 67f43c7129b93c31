"""A new customer's first visit: register with their number, verify it by SMS, log out, log back in."""

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.sessions.models import Session
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts import sms
from accounts.email_change import email_change_link
from accounts.models import EmailDelivery, User

PHONE_AS_TYPED = "+86 139 1234 5678"
PHONE_E164 = "+8613912345678"
PHONE_WITHOUT_COUNTRY_CODE = "13912345678"
EMAIL = "wei.zhang@example.com"
PASSWORD = "blue-River-1987!"
SESSION_COOKIE = "sessionid"


def session_cookie(page: Page) -> str | None:
    return next((c["value"] for c in page.context.cookies() if c["name"] == SESSION_COOKIE), None)


@pytest.mark.browser
def test_customer_registers_verifies_by_sms_and_logs_back_in_with_number_written_another_way(
    live_server: LiveServer,
    page: Page,
    sms_outbox: list[sms.SmsMessage],
    sms_code: Callable[[str], str],
    screenshot: Callable[[Page, str], list[Path]],
) -> None:
    base = live_server.url
    heading = page.get_by_role("heading", level=1)

    # A browser set to Chinese gets the site in Chinese; the header switch turns it to English.
    page.goto(f"{base}/accounts/register/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.get_by_role("button", name="English").click()
    expect(page).to_have_url(f"{base}/accounts/register/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(heading).to_have_text("Create an account")

    page.locator("#id_phone").fill(PHONE_AS_TYPED)
    page.locator("#id_email").fill(EMAIL)
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name="Send me the code").click()

    expect(page).to_have_url(f"{base}/accounts/verify/")
    expect(heading).to_have_text("Enter your code")
    assert [message.to for message in sms_outbox] == [PHONE_E164]
    code = sms_code(PHONE_E164)
    screenshot(page, "verify")

    page.locator("#id_code").fill(code)
    page.get_by_role("button", name="Verify", exact=True).click()

    expect(page).to_have_url(f"{base}/")
    expect(heading).to_have_text("My lines")
    expect(page.get_by_role("status")).to_contain_text("Your number is verified")
    empty_state = page.locator("section.empty")
    expect(empty_state).to_contain_text("You have no Boom line on this account yet.")
    expect(empty_state.get_by_role("link", name="Add a line")).to_have_attribute("href", "/lines/add/")
    screenshot(page, "home")
    expect(page.get_by_role("status").last).to_contain_text(f"We sent a link to {EMAIL}")
    user = User.objects.get(phone=PHONE_E164)
    assert user.phone_verified
    assert (user.email, user.email_pending) == ("", EMAIL)  # used once its link is followed
    assert user.language == "en"
    # The customer opens the link from the email.
    link = email_change_link(EmailDelivery.objects.get(email_verification_for=user, to=EMAIL))
    page.goto(base + urlsplit(link).path + "?" + urlsplit(link).query)
    user.refresh_from_db()
    assert (user.email, user.email_pending) == (EMAIL, "")
    page.goto(f"{base}/")
    registration_session = session_cookie(page)
    assert registration_session

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{base}/accounts/login/")
    expect(heading).to_have_text("Log in")
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    # Logging out ended the session on the server, and the browser holds no session until it logs in.
    assert not Session.objects.filter(session_key=registration_session).exists()
    before_login = session_cookie(page)
    assert before_login is None

    # The same number, written the way people in China usually do: no +86.
    page.locator("#id_username").fill(PHONE_WITHOUT_COUNTRY_CODE)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()

    expect(page).to_have_url(f"{base}/")
    expect(heading).to_have_text("My lines")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    after_login = session_cookie(page)
    assert after_login
    assert after_login != before_login
    assert after_login != registration_session
    assert Session.objects.filter(session_key=after_login).exists()
    # Logging in sends no SMS: the only message is still the registration code.
    assert len(sms_outbox) == 1
