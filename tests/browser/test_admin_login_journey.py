"""Staff reach the admin in the browser through both steps of the log-in, in either language."""

import pytest
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from tests.browser.conftest import Screenshot
from tests.browser.staff import staff_admin


@pytest.mark.browser
@pytest.mark.parametrize(("language", "heading"), [("en", "Site administration"), ("zh-hans", "站点管理")])
def test_staff_log_in_with_the_second_step_and_reach_the_admin(
    browser: Browser, live_server: LiveServer, staff: User, screenshot: Screenshot, language: str, heading: str
) -> None:
    page = staff_admin(browser, live_server, staff, language)
    expect(page.locator("#content h1")).to_have_text(heading)
    screenshot(page, "front-page")
