"""At 360 px the top menu's items share one row, in Chinese and in English; log-out is an icon
whose accessible name is "Log out"."""

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.browser.conftest import PHONE_VIEWPORT
from tests.browser.test_renew_journey import log_in_in_english


def nav_rows(page: Page) -> set[int]:
    """The distinct vertical centres (px) of the menu's items: one row, one centre."""
    boxes = [item.bounding_box() for item in page.locator("nav.nav > *").all()]
    assert all(box is not None and box["width"] > 0 for box in boxes)
    return {round((box["y"] + box["height"] / 2) / 8) for box in boxes if box is not None}


@pytest.mark.browser
def test_top_menu_fits_one_row_at_360px_in_english_and_chinese(live_server: LiveServer, page: Page) -> None:
    call_command("seed_demo", verbosity=0)
    base = live_server.url
    log_in_in_english(page, base)
    page.set_viewport_size(PHONE_VIEWPORT)

    page.goto(f"{base}/")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert len(nav_rows(page)) == 1

    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()
    assert len(nav_rows(page)) == 1
