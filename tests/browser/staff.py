"""Staff in the browser: a support-desk member logs in with their password and the code from
their authenticator app (the second step the admin asks for), in English or Chinese.

``staff_admin(browser, live_server, language)`` is the journey every admin browser test starts
from: a new context in that language, logged in as the ``staff`` fixture ("ops"), on the admin's
front page.
"""

from __future__ import annotations

from django.conf import settings
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from tests.browser.conftest import DESKTOP_VIEWPORT, TIMEOUT_MS
from tests.factories import PASSWORD
from tests.security.helpers import app_code, authenticator_for

# The browser's language for each of the site's languages.
BROWSER_LOCALE = {"en": "en-GB", "zh-hans": "zh-CN"}


def staff_admin(browser: Browser, live_server: LiveServer, staff: User, language: str) -> Page:
    """A page logged in as ``staff`` with the second step, reading the admin in ``language``
    ("en" or "zh-hans"), on the admin's front page. The context closes with the browser."""
    assert language in dict(settings.LANGUAGES), language
    staff.language = language
    staff.save(update_fields=["language"])
    device = authenticator_for(staff)
    context = browser.new_context(
        viewport=DESKTOP_VIEWPORT, locale=BROWSER_LOCALE[language], timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    page = context.new_page()
    base = live_server.url
    page.goto(f"{base}/admin/")
    assert staff.username, "staff log in by their staff name"
    page.locator("#id_username").fill(staff.username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    page.locator("main input[autocomplete=one-time-code]").fill(app_code(device))
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(f"{base}/admin/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    return page
